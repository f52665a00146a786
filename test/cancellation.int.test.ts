/**
 * Cancelling one task (POST /api/tasks/:id/cancel) and a region (a transition's `cancel`) on the real stack:
 * the withdrawn tasks leave the inbox and the timeline says why.
 */
import type { CaseTypeDefinition } from '../engine/types';
import { eventually, startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;
let caseType: string;

beforeAll(async () => {
  env = await startTestEnv();
  const team = `${env.prefix}-sales`;
  const task = (title: string, outcomes: Record<string, unknown>) => ({
    type: 'human',
    action: 'task',
    title,
    assign: { team },
    outcomes,
  });
  const def = {
    dslVersion: '1',
    id: `${env.prefix}-cancel`,
    version: '1',
    name: 'Cancellation',
    statuses: [
      { code: 'OPEN', name: 'Open', category: 'open' },
      { code: 'DONE', name: 'Done', category: 'closed' },
      { code: 'CANCELLED', name: 'Cancelled', category: 'lost' },
    ],
    initialStatus: 'OPEN',
    start: 'prepare',
    steps: {
      prepare: { type: 'parallel', branches: ['visit', 'quote', 'watch'], join: 'ready' },
      visit: task('Visit', { done: { next: 'ready' } }),
      quote: task('Quote', { sent: { next: 'ready' } }),
      watch: task('Watch for a cancellation', {
        'customer-cancelled': { cancel: ['prepare'], status: 'CANCELLED', next: 'notify' },
        quiet: { next: 'ready' },
      }),
      ready: { type: 'join', then: { status: 'DONE', end: true } },
      notify: task('Tell the team', { sent: { end: true } }),
    },
  } as unknown as CaseTypeDefinition;
  caseType = await env.publish(def);
});

afterAll(async () => {
  await env?.stop();
});

interface Task {
  id: string;
  caseId: string;
  step: string;
  status: string;
}

async function start(): Promise<{ id: string; tasks: Task[] }> {
  const res = await env.http(env.users.alice, 'POST', '/api/cases', { caseType });
  expect(res.status).toBe(201);
  return res.body;
}

/** The open tasks of a case in alice's inbox, by step. */
async function inboxSteps(caseId: string): Promise<string[]> {
  const res = await env.http(env.users.alice, 'GET', '/api/inbox?limit=200');
  expect(res.status).toBe(200);
  return (res.body.items as Task[])
    .filter((t) => t.caseId === caseId)
    .map((t) => t.step)
    .sort();
}

const stepTask = (c: { tasks: Task[] }, step: string): Task => {
  const found = c.tasks.find((t) => t.step === step);
  if (!found) throw new Error(`no task of ${step}`);
  return found;
};

it('a supervisor cancels one task: it leaves the inbox, the timeline has the reason, the rest goes on', async () => {
  const c = await start();
  expect(await inboxSteps(c.id)).toEqual(['quote', 'visit', 'watch']);
  const visit = stepTask(c, 'visit');
  const url = `/api/tasks/${visit.id}/cancel`;
  const refused = await env.http(env.users.alice, 'POST', url, { reason: 'no' });
  expect(refused.status).toBe(403);
  expect((await env.http(env.users.sam, 'POST', url, {})).status).toBe(400);
  const res = await env.http(env.users.sam, 'POST', url, { reason: 'customer prefers a call' });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ id: visit.id, status: 'cancelled' });
  expect(await inboxSteps(c.id)).toEqual(['quote', 'watch']);
  const detail = await env.http(env.users.sam, 'GET', `/api/cases/${c.id}`);
  expect(detail.body.timeline).toEqual(
    expect.arrayContaining([
      expect.objectContaining({
        kind: 'task.cancelled',
        taskId: visit.id,
        detail: { reason: `cancelled by ${env.users.sam.id}: customer prefers a call` },
      }),
    ]),
  );
  // Cancelling it again: it is no longer open.
  expect((await env.http(env.users.sam, 'POST', url, { reason: 'again' })).status).toBe(409);
});

it('a transition cancels the region: the other tasks inside the parallel are withdrawn from the inbox', async () => {
  const c = await start();
  const watch = stepTask(c, 'watch');
  expect((await env.http(env.users.alice, 'POST', `/api/tasks/${watch.id}/claim`, {})).status).toBe(200);
  const done = await env.http(env.users.alice, 'POST', `/api/tasks/${watch.id}/complete`, {
    outcome: 'customer-cancelled',
  });
  expect(done.status).toBe(200);
  const after = await eventually(async () => {
    const steps = await inboxSteps(c.id);
    return steps.length === 1 ? steps : undefined;
  });
  expect(after).toEqual(['notify']);
  const detail = await env.http(env.users.sam, 'GET', `/api/cases/${c.id}`);
  expect(detail.body.status).toBe('CANCELLED');
  const byStep = Object.fromEntries((detail.body.tasks as Task[]).map((t) => [t.step, t.status]));
  expect(byStep).toEqual({ visit: 'cancelled', quote: 'cancelled', watch: 'completed', notify: 'open' });
  const kinds = (detail.body.timeline as { kind: string; detail: Record<string, unknown> }[]).filter(
    (e) => e.kind === 'steps.cancelled' || e.kind === 'task.cancelled',
  );
  expect(kinds.map((e) => [e.kind, e.detail.reason ?? e.detail.step])).toEqual([
    ['task.cancelled', 'cancelled by step watch'],
    ['task.cancelled', 'cancelled by step watch'],
    ['steps.cancelled', 'prepare'],
  ]);
});
