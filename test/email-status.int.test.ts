/** A status email says the status its event entered, even when the case has moved on before it is sent. */
import type { CaseTypeDefinition } from '../engine/types';
import { byRule } from './support/email-fixtures';
import { eventually, scoped, startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;
let caseType: string;
const WAIT = 20_000;

const definition: CaseTypeDefinition = {
  dslVersion: '1',
  id: 'status-mail',
  version: '1',
  name: 'Status mail',
  title: 'Claim {{data.subject}}',
  statuses: [
    { code: 'OPEN', name: 'Open', category: 'open' },
    { code: 'RESOLVED', name: 'Resolved', category: 'open' },
    { code: 'CLOSED', name: 'Closed', category: 'closed' },
  ],
  initialStatus: 'OPEN',
  start: 'handle',
  steps: {
    handle: {
      type: 'human',
      action: 'task',
      title: 'Handle it',
      assign: { team: 'support' },
      outcomes: { resolved: { status: 'RESOLVED', next: 'close' } },
    },
    // Closes at once: by the time an email of RESOLVED is sent, the case is CLOSED.
    close: { type: 'automatic', do: [{ setStatus: 'CLOSED' }], then: { end: true } },
  },
  emailRules: [
    { id: 'resolved', on: { statusEntered: 'RESOLVED' }, template: 'case-status', to: ['owner'] },
    {
      id: 'resolved-later',
      on: { statusEntered: 'RESOLVED' },
      delay: 'PT1S',
      template: 'case-status',
      to: ['owner'],
    },
    { id: 'closed', on: { statusEntered: 'CLOSED' }, template: 'case-status', to: ['owner'] },
  ],
};

beforeAll(async () => {
  env = await startTestEnv();
  caseType = await env.publish(scoped(definition, env.prefix));
});

afterAll(async () => {
  await env?.stop();
});

it('RESOLVED then an automatic CLOSED: the RESOLVED emails say Resolved, the CLOSED one Closed', async () => {
  const started = await env.http(env.users.carol, 'POST', '/api/cases', {
    caseType,
    data: { subject: 'broken pump' },
  });
  expect(started.status).toBe(201);
  const caseId: string = started.body.id;
  const task = await eventually(
    async () => {
      const view = await env.http(env.users.carol, 'GET', `/api/cases/${caseId}`);
      return view.body.tasks?.find((t: { status: string }) => t.status === 'open') as { id: string };
    },
    WAIT,
    'the handle task',
  );
  const done = await env.http(env.users.carol, 'POST', `/api/tasks/${task.id}/complete`, {
    outcome: 'resolved',
  });
  expect(done.status).toBe(200);
  expect(done.body.case.status).toBe('CLOSED');

  const title = 'Claim broken pump';
  const resolved = await env.sink.waitFor(byRule(caseId, 'resolved'), WAIT);
  expect(resolved.subject).toBe(`${title}: Resolved`);
  expect(resolved.text).toContain(`The case "${title}" is now Resolved.`);
  const later = await env.sink.waitFor(byRule(caseId, 'resolved-later'), WAIT);
  expect(later.subject).toBe(`${title}: Resolved`);
  const closed = await env.sink.waitFor(byRule(caseId, 'closed'), WAIT);
  expect(closed.subject).toBe(`${title}: Closed`);
  expect(closed.text).toContain(`The case "${title}" is now Closed.`);
});
