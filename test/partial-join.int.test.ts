/**
 * A 2-of-3 cancelling partial join on the real stack (a join with `"complete": 2, "rest": "withdraw"`): two
 * tasks completed, the third leaves the inbox with the reason in the timeline, the next step appears once.
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
    id: `${env.prefix}-partial`,
    version: '1',
    name: 'Partial join',
    statuses: [
      { code: 'OPEN', name: 'Open', category: 'open' },
      { code: 'DONE', name: 'Done', category: 'closed' },
    ],
    initialStatus: 'OPEN',
    start: 'quotes',
    steps: {
      quotes: { type: 'parallel', branches: ['north', 'south', 'east'], join: 'two-quotes' },
      north: task('Quote from North', { received: { next: 'two-quotes' } }),
      south: task('Quote from South', { received: { next: 'two-quotes' } }),
      east: task('Quote from East', { received: { next: 'two-quotes' } }),
      'two-quotes': { type: 'join', complete: 2, rest: 'withdraw', then: { next: 'choose' } },
      choose: task('Choose the supplier', { chosen: { status: 'DONE', end: true } }),
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

/** The open tasks of a case in alice's inbox, by step. */
async function inboxSteps(caseId: string): Promise<string[]> {
  const res = await env.http(env.users.alice, 'GET', '/api/inbox?limit=200');
  expect(res.status).toBe(200);
  return (res.body.items as Task[])
    .filter((t) => t.caseId === caseId)
    .map((t) => t.step)
    .sort();
}

async function completeStep(c: { tasks: Task[] }, step: string, outcome: string): Promise<void> {
  const task = c.tasks.find((t) => t.step === step);
  if (!task) throw new Error(`no task of ${step}`);
  expect((await env.http(env.users.alice, 'POST', `/api/tasks/${task.id}/claim`, {})).status).toBe(200);
  const done = await env.http(env.users.alice, 'POST', `/api/tasks/${task.id}/complete`, { outcome });
  expect(done.status).toBe(200);
}

it('two of three quotes received: the third request is withdrawn from the inbox and the choice opens once', async () => {
  const res = await env.http(env.users.alice, 'POST', '/api/cases', { caseType });
  expect(res.status).toBe(201);
  const c = res.body as { id: string; tasks: Task[] };
  expect(await inboxSteps(c.id)).toEqual(['east', 'north', 'south']);

  await completeStep(c, 'south', 'received');
  expect(await inboxSteps(c.id)).toEqual(['east', 'north']);
  await completeStep(c, 'north', 'received');
  const after = await eventually(async () => {
    const steps = await inboxSteps(c.id);
    return steps.includes('choose') ? steps : undefined;
  });
  expect(after).toEqual(['choose']);

  const detail = await env.http(env.users.sam, 'GET', `/api/cases/${c.id}`);
  expect(detail.status).toBe(200);
  const tasks = detail.body.tasks as Task[];
  const east = tasks.find((t) => t.step === 'east');
  expect(tasks.map((t) => [t.step, t.status]).sort()).toEqual([
    ['choose', 'open'],
    ['east', 'cancelled'],
    ['north', 'completed'],
    ['south', 'completed'],
  ]);
  const timeline = detail.body.timeline as {
    kind: string;
    taskId?: string;
    detail: Record<string, unknown>;
  }[];
  expect(timeline.filter((e) => e.kind === 'task.cancelled')).toEqual([
    expect.objectContaining({ taskId: east?.id, detail: { reason: 'withdrawn: join two-quotes completed' } }),
  ]);
  expect(timeline.filter((e) => e.kind === 'parallel.joined').map((e) => e.detail)).toEqual([
    expect.objectContaining({ step: 'two-quotes', arrived: 2, need: 2, rest: 'withdraw', withdrawn: 1 }),
  ]);

  const choose = tasks.find((t) => t.step === 'choose');
  const chosen = await env.http(env.users.alice, 'POST', `/api/tasks/${choose?.id ?? ''}/complete`, {
    outcome: 'chosen',
  });
  expect(chosen.status).toBe(200);
  const ended = await eventually(async () => {
    const r = await env.http(env.users.sam, 'GET', `/api/cases/${c.id}`);
    return r.body.status === 'DONE' ? r.body : undefined;
  });
  // Still one task of the step after the join, and nothing left in the inbox.
  expect((ended.tasks as Task[]).filter((t) => t.step === 'choose')).toHaveLength(1);
  expect(await inboxSteps(c.id)).toEqual([]);
});
