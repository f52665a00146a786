import { applyEvent, checkEvent, startCase } from './interpreter';
import type { Actor, CaseState, TaskState } from './state';
import type { CaseTypeDefinition, Step } from './types';

/** Assignment rules: retain familiar, the case owner, a team's supervisor, and four eyes (separation of duties). */

const T0 = Date.UTC(2025, 0, 6, 9, 0, 0);
const ana: Actor = { userId: 'ana', role: 'agent', teams: ['sales'] };
const bob: Actor = { userId: 'bob', role: 'agent', teams: ['sales'] };
const sue: Actor = {
  userId: 'sue',
  role: 'supervisor',
  teams: [],
  supervisedTeams: ['sales'],
  supervisedUsers: ['ana', 'bob'],
};

const step = (extra: Record<string, unknown>, outcomes: Record<string, unknown>): Step =>
  ({ type: 'human', action: 'task', title: 'T', assign: { team: 'sales' }, outcomes, ...extra }) as Step;

const def: CaseTypeDefinition = {
  dslVersion: '1',
  id: 'rules',
  version: '1',
  name: 'Rules',
  statuses: [
    { code: 'OPEN', name: 'Open', category: 'open' },
    { code: 'DONE', name: 'Done', category: 'closed' },
  ],
  initialStatus: 'OPEN',
  start: 'prepare',
  steps: {
    prepare: step({}, { done: { next: ['approve', 'follow'] } }),
    approve: step({ separateFrom: ['prepare'] }, { ok: {} }),
    follow: step({ assign: { performerOf: 'prepare' } }, { ok: { next: 'close' } }),
    close: step({ assign: { owner: true } }, { ok: { status: 'DONE' } }),
  },
};

const task = (s: CaseState, stepId: string): TaskState => {
  const found = Object.values(s.tasks).find((t) => t.step === stepId && t.status === 'open');
  if (!found) throw new Error(`no open ${stepId}`);
  return found;
};

function prepared(): CaseState {
  const s = startCase(
    def,
    { caseId: 'C', caseType: 'rules', definitionVersion: 1, ownerId: 'olga' },
    T0,
  ).state;
  const t = task(s, 'prepare');
  const claimed = applyEvent(def, s, { type: 'claim', taskId: t.id, actor: ana }, T0).state;
  return applyEvent(def, claimed, { type: 'complete', taskId: t.id, outcome: 'done', actor: ana }, T0).state;
}

describe('assignment rules', () => {
  it('gives the follow-up to whoever did the preparation (retain familiar)', () => {
    expect(task(prepared(), 'follow').assignee).toBe('ana');
  });

  it('gives the closing task to the case owner', () => {
    const s = prepared();
    const next = applyEvent(
      def,
      s,
      { type: 'complete', taskId: task(s, 'follow').id, outcome: 'ok', actor: ana },
      T0,
    ).state;
    expect(task(next, 'close').assignee).toBe('olga');
  });

  it('refuses the approval to the preparer, in every way, and lets a colleague do it', () => {
    const s = prepared();
    const approve = task(s, 'approve');
    expect(approve.excludedUsers).toEqual(['ana']);
    expect(checkEvent(def, s, { type: 'claim', taskId: approve.id, actor: ana })?.code).toBe(
      'SEPARATION_OF_DUTIES',
    );
    expect(
      checkEvent(def, s, { type: 'complete', taskId: approve.id, outcome: 'ok', actor: ana })?.code,
    ).toBe('SEPARATION_OF_DUTIES');
    expect(
      checkEvent(def, s, { type: 'assign', taskId: approve.id, assignee: 'ana', actor: sue })?.code,
    ).toBe('SEPARATION_OF_DUTIES');
    expect(checkEvent(def, s, { type: 'claim', taskId: approve.id, actor: bob })).toBeNull();
  });

  it('leaves an unresolved rule to the supervisors, with a timeline entry', () => {
    const early: CaseTypeDefinition = { ...def, start: 'follow' };
    const result = startCase(early, { caseId: 'C', caseType: 'rules', definitionVersion: 1 }, T0);
    const t = task(result.state, 'follow');
    expect([t.assignee, t.candidateRoles]).toEqual([null, ['supervisor']]);
    expect(result.timeline.map((e) => e.kind)).toContain('task.assignment-unresolved');
  });

  it("asks for the team's supervisor and gives the task to whoever the lookup names", () => {
    const boss: CaseTypeDefinition = {
      ...def,
      start: 'review',
      steps: {
        ...def.steps,
        review: step({ assign: { supervisorOf: 'sales' } }, { ok: { status: 'DONE' } }),
      },
    };
    const started = startCase(boss, { caseId: 'C', caseType: 'rules', definitionVersion: 1 }, T0);
    const t = task(started.state, 'review');
    expect([t.assignee, t.candidateRoles]).toEqual([null, ['supervisor']]);
    expect(started.commands).toContainEqual({
      kind: 'resolveAssignee',
      taskId: t.id,
      team: 'sales',
      strategy: 'supervisor',
    });
    const resolved = applyEvent(
      boss,
      started.state,
      { type: 'assigneeResolved', taskId: t.id, assignee: 'sue' },
      T0,
    );
    expect(task(resolved.state, 'review').assignee).toBe('sue');
  });

  it('chained execution: the next task opens for whoever completed the one before, unless four eyes forbids', () => {
    const chain: CaseTypeDefinition = {
      ...def,
      steps: {
        ...def.steps,
        prepare: step({}, { done: { next: 'offer' } }),
        offer: step({ chained: true }, { sent: { next: 'check' } }),
        check: step({ chained: true, separateFrom: ['offer'] }, { ok: { status: 'DONE' } }),
      },
    };
    const s = startCase(chain, { caseId: 'C', caseType: 'rules', definitionVersion: 1 }, T0).state;
    const prep = task(s, 'prepare');
    expect(prep.assignee).toBeNull();
    const afterPrep = applyEvent(
      chain,
      s,
      { type: 'complete', taskId: prep.id, outcome: 'done', actor: bob },
      T0,
    );
    const offer = task(afterPrep.state, 'offer');
    expect([offer.assignee, offer.candidateTeams]).toEqual(['bob', ['sales']]);
    expect(afterPrep.timeline).toContainEqual(
      expect.objectContaining({ kind: 'task.assigned', taskId: offer.id }),
    );
    const afterOffer = applyEvent(
      chain,
      afterPrep.state,
      { type: 'complete', taskId: offer.id, outcome: 'sent', actor: bob },
      T0,
    ).state;
    expect(task(afterOffer, 'check').assignee).toBeNull();
  });
});
