/** A multi-instance step on the real stack: one task per order line in the inbox, 2 of 3 completing it. */
import type { CaseTypeDefinition } from '../engine/types';
import { startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;
let caseType: string;

beforeAll(async () => {
  env = await startTestEnv();
  const def: CaseTypeDefinition = {
    dslVersion: '1',
    id: `${env.prefix}-lines`,
    version: '1',
    name: 'Check each line',
    statuses: [
      { code: 'OPEN', name: 'Open', category: 'open' },
      { code: 'CHECKED', name: 'Checked', category: 'closed' },
    ],
    initialStatus: 'OPEN',
    lines: { type: 'object', properties: { product: { type: 'string' } }, required: ['product'] },
    start: 'check',
    steps: {
      check: {
        type: 'human',
        action: 'task',
        title: 'Check {{item.product}}',
        assign: { team: `${env.prefix}-sales` },
        forEach: { items: 'lines', complete: 2 },
        outcomes: { ok: { status: 'CHECKED', end: true } },
      },
    },
  };
  caseType = await env.publish(def);
});
afterAll(async () => env?.stop());

type Item = { id: string; caseId: string; title: string };

it('opens a task per line, and two completions close the step and withdraw the third', async () => {
  const started = await env.http(env.users.alice, 'POST', '/api/cases', {
    caseType,
    data: {},
    lines: [{ product: 'Forklift' }, { product: 'Pallet' }, { product: 'Battery' }],
  });
  expect(started.status).toBe(201);
  const caseId = started.body.id as string;
  const inbox = async (): Promise<Item[]> =>
    ((await env.http(env.users.alice, 'GET', '/api/inbox?limit=200')).body.items as Item[]).filter(
      (t) => t.caseId === caseId,
    );
  const open = await inbox();
  expect(open.map((t) => t.title).sort()).toEqual(['Check Battery', 'Check Forklift', 'Check Pallet']);
  const [first, second] = open;
  expect(
    (await env.http(env.users.alice, 'POST', `/api/tasks/${first?.id}/complete`, { outcome: 'ok' })).status,
  ).toBe(200);
  expect((await inbox()).length).toBe(2);
  const last = await env.http(env.users.alice, 'POST', `/api/tasks/${second?.id}/complete`, {
    outcome: 'ok',
  });
  expect(last.status).toBe(200);
  expect(last.body.case.status).toBe('CHECKED');
  expect(await inbox()).toEqual([]);
  const view = (await env.http(env.users.admin, 'GET', `/api/cases/${caseId}`)).body;
  expect((view.tasks as { status: string }[]).map((t) => t.status).sort()).toEqual([
    'cancelled',
    'completed',
    'completed',
  ]);
});
