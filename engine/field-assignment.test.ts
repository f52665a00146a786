import { checkEvent, startCase } from './interpreter';
import type { Actor } from './state';
import type { CaseTypeDefinition } from './types';

/** A `field` assignment whose field is empty must not leave a task nobody can see. */

const def: CaseTypeDefinition = {
  dslVersion: '1',
  id: 'field',
  version: '1',
  name: 'Field',
  statuses: [
    { code: 'OPEN', name: 'Open', category: 'open' },
    { code: 'DONE', name: 'Done', category: 'closed' },
  ],
  initialStatus: 'OPEN',
  start: 'visit',
  steps: {
    visit: {
      type: 'human',
      action: 'visit',
      title: 'Visit',
      assign: { field: 'data.agentId' },
      outcomes: { done: { status: 'DONE', end: true } },
    },
  },
};
// Sue supervises a team that has nothing to do with this task.
const sue: Actor = { userId: 'sue', role: 'supervisor', teams: [], supervisedTeams: ['other'] };

it('an empty field gives the task to the supervisors, and the timeline says so', () => {
  const started = startCase(def, { caseId: 'C', caseType: 'field', definitionVersion: 1, data: {} }, 0);
  const [task] = Object.values(started.state.tasks);
  expect(task).toMatchObject({ assignee: null, candidateTeams: [], candidateRoles: ['supervisor'] });
  expect(started.timeline).toContainEqual(
    expect.objectContaining({ kind: 'task.assignment-unresolved', taskId: task?.id }),
  );
  expect(
    checkEvent(def, started.state, { type: 'claim', taskId: task?.id as string, actor: sue }),
  ).toBeNull();
});

it('a filled field assigns the user it names', () => {
  const started = startCase(
    def,
    { caseId: 'C', caseType: 'field', definitionVersion: 1, data: { agentId: 'ana' } },
    0,
  );
  expect(Object.values(started.state.tasks)[0]).toMatchObject({ assignee: 'ana', candidateRoles: [] });
});
