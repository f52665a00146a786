/**
 * On hold (POST /api/cases/:id/suspend|resume, /api/tasks/:id/suspend|resume) on the real stack: claims on
 * hold answer 409, a timer does not fire while held and fires after the time it had left once resumed.
 */
import type { CaseTypeDefinition } from '../engine/types';
import { eventually, startTestEnv, type TestEnv } from './support/env';

const ESCALATE_MS = 4000;
let env: TestEnv;
let caseType: string;

beforeAll(async () => {
  env = await startTestEnv();
  const def = {
    dslVersion: '1',
    id: `${env.prefix}-hold`,
    version: '1',
    name: 'On hold',
    statuses: [
      { code: 'OPEN', name: 'Open', category: 'open' },
      { code: 'DONE', name: 'Done', category: 'closed' },
    ],
    initialStatus: 'OPEN',
    start: 'call',
    steps: {
      call: {
        type: 'human',
        action: 'call',
        title: 'Call',
        assign: { team: `${env.prefix}-sales` },
        escalations: [{ after: `PT${ESCALATE_MS / 1000}S`, priority: 'high' }],
        outcomes: { done: { status: 'DONE', end: true } },
      },
    },
  } as unknown as CaseTypeDefinition;
  caseType = await env.publish(def);
});

afterAll(async () => {
  await env?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function start(): Promise<{ caseId: string; taskId: string; startedAt: number }> {
  const startedAt = Date.now();
  const res = await env.http(env.users.alice, 'POST', '/api/cases', { caseType });
  expect(res.status).toBe(201);
  return { caseId: res.body.id, taskId: res.body.tasks[0].id, startedAt };
}

/** Whether alice's inbox shows the task on hold. */
async function inboxHold(taskId: string): Promise<boolean | undefined> {
  const res = await env.http(env.users.alice, 'GET', '/api/inbox?limit=200');
  return (res.body.items as { id: string; onHold: boolean }[]).find((t) => t.id === taskId)?.onHold;
}

const priorityOf = async (taskId: string): Promise<string> =>
  (await env.http(env.users.sam, 'GET', `/api/tasks/${taskId}`)).body.priority;

it('a held case refuses claims and pauses its escalation, which fires after the time left once resumed', async () => {
  const c = await start();
  expect((await env.http(env.users.alice, 'POST', `/api/cases/${c.caseId}/suspend`, {})).status).toBe(403);
  const held = await env.http(env.users.sam, 'POST', `/api/cases/${c.caseId}/suspend`, {
    reason: 'customer on holiday',
  });
  expect(held.status).toBe(200);
  const heldAt = Date.now();
  const claim = await env.http(env.users.alice, 'POST', `/api/tasks/${c.taskId}/claim`, {});
  expect(claim.status).toBe(409);
  expect(claim.body).toMatchObject({ code: 'CASE_SUSPENDED' });
  expect(claim.body.type).toMatch(/case-suspended$/);
  expect(claim.body.detail).toMatch(/on hold/);
  // The read model shows the hold: the case who and since when, the task in the inbox as on hold.
  const heldCase = await env.http(env.users.sam, 'GET', `/api/cases/${c.caseId}`);
  expect(heldCase.body.suspended).toMatchObject({ by: env.users.sam.id });
  expect(await inboxHold(c.taskId)).toBe(true);
  // Held for longer than the whole escalation: it must not fire.
  await sleep(ESCALATE_MS + 1500);
  expect(await priorityOf(c.taskId)).toBe('normal');
  const resumed = await env.http(env.users.sam, 'POST', `/api/cases/${c.caseId}/resume`, {});
  expect(resumed.status).toBe(200);
  const resumedAt = Date.now();
  // At least what was left at the suspend (4 s less the time up to the answer of suspend) is still to run.
  const leftAtLeast = ESCALATE_MS - (heldAt - c.startedAt);
  await eventually(async () => ((await priorityOf(c.taskId)) === 'high' ? true : undefined), 20_000);
  expect(Date.now() - resumedAt).toBeGreaterThanOrEqual(leftAtLeast - 500);
  const detail = await env.http(env.users.sam, 'GET', `/api/cases/${c.caseId}`);
  const kinds = (detail.body.timeline as { kind: string; actor: string }[])
    .filter((e) => e.kind === 'case.suspended' || e.kind === 'case.resumed')
    .map((e) => [e.kind, e.actor]);
  expect(kinds).toEqual([
    ['case.suspended', env.users.sam.id],
    ['case.resumed', env.users.sam.id],
  ]);
  expect(detail.body.suspended).toBeNull();
  expect(await inboxHold(c.taskId)).toBe(false);
  expect((await env.http(env.users.alice, 'POST', `/api/tasks/${c.taskId}/claim`, {})).status).toBe(200);
});

it('a held task refuses claims until resumed; resuming what is not held is a 409', async () => {
  const c = await start();
  const url = `/api/tasks/${c.taskId}`;
  expect((await env.http(env.users.alice, 'POST', `${url}/suspend`, {})).status).toBe(403);
  expect((await env.http(env.users.sam, 'POST', `${url}/resume`, {})).body).toMatchObject({
    code: 'NOT_SUSPENDED',
  });
  const held = await env.http(env.users.sam, 'POST', `${url}/suspend`, { reason: 'waiting for parts' });
  expect(held.status).toBe(200);
  const claim = await env.http(env.users.alice, 'POST', `${url}/claim`, {});
  expect(claim.status).toBe(409);
  expect(claim.body).toMatchObject({ code: 'TASK_SUSPENDED' });
  expect((await env.http(env.users.sam, 'POST', `${url}/resume`, {})).status).toBe(200);
  expect((await env.http(env.users.alice, 'POST', `${url}/claim`, {})).status).toBe(200);
});
