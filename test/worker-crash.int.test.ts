import { scoped, shippedDefinition, startTestEnv, type HttpResult, type TestEnv } from './support/env';
import { kill, killAllWorkers, spawnWorker } from './support/workers';

let env: TestEnv;
let caseType: string;

/**
 * Completes a task as a client should: on 503 (the case's worker is gone and Temporal has not yet
 * handed the case to the new one) it retries with the same Idempotency-Key, so the action applies once.
 */
async function complete(taskId: string, outcome: string, key: string): Promise<HttpResult> {
  for (let attempt = 1; ; attempt++) {
    const res = await env.http(
      env.users.alice,
      'POST',
      `/api/tasks/${taskId}/complete`,
      { outcome },
      { 'idempotency-key': key },
    );
    if (res.status !== 503 || attempt === 6) return res;
  }
}

beforeAll(async () => {
  env = await startTestEnv({ worker: false });
  caseType = await env.publish(scoped(shippedDefinition('opportunity'), env.prefix));
});

afterAll(async () => {
  await killAllWorkers();
  await env?.stop();
});

it('continues a case after the worker is killed mid-action, with no task lost or duplicated', async () => {
  let worker = await spawnWorker(env);
  const started = await env.http(env.users.alice, 'POST', '/api/cases', {
    caseType,
    entityId: `${env.prefix}-acme`,
    data: { subject: 'Crash-proof deal', amount: 1000 },
  });
  expect(started.status).toBe(201);
  const caseId: string = started.body.id;
  const first = started.body.tasks[0].id as string;
  expect((await env.http(env.users.alice, 'POST', `/api/tasks/${first}/claim`, {})).status).toBe(200);

  // Send the completion and kill the worker while it may be processing it.
  const inFlight = complete(first, 'interested', 'complete-first-task');
  await kill(worker);
  worker = await spawnWorker(env);
  // A client retries a 503 with the same Idempotency-Key until the engine answers: one completion.
  expect(await inFlight).toMatchObject({ status: 200, body: { status: 'completed', outcome: 'interested' } });
  const again = await complete(first, 'interested', 'complete-first-task');
  expect(again).toMatchObject({ status: 200, body: { status: 'completed' } });

  // The case moved on exactly once: one presentation task.
  const view = await env.http(env.users.alice, 'GET', `/api/cases/${caseId}`);
  expect(view.body.status).toBe('PRESENTING');
  expect(view.body.tasks.map((t: { step: string }) => t.step)).toEqual(['identify-needs', 'present']);

  // Kill again between actions, then finish the case on a fresh worker.
  await kill(worker);
  worker = await spawnWorker(env);
  for (const [step, outcome] of [
    ['present', 'presented'],
    ['decide', 'won'],
  ] as const) {
    const current = await env.http(env.users.alice, 'GET', `/api/cases/${caseId}`);
    const task = current.body.tasks.find(
      (t: { step: string; status: string }) => t.step === step && t.status === 'open',
    );
    expect(task).toBeDefined();
    expect(await complete(task.id, outcome, `complete-${step}`)).toMatchObject({ status: 200 });
  }
  const done = await env.http(env.users.alice, 'GET', `/api/cases/${caseId}`);
  expect(done.body.status).toBe('WON');
  expect(done.body.tasks.map((t: { step: string; status: string }) => `${t.step}:${t.status}`)).toEqual([
    'identify-needs:completed',
    'present:completed',
    'decide:completed',
  ]);
  const completions = done.body.timeline.filter((e: { kind: string }) => e.kind === 'task.completed');
  expect(completions).toHaveLength(3);
  // Timeline entries are contiguous: nothing lost, nothing written twice.
  expect(done.body.timeline.map((e: { seq: number }) => e.seq)).toEqual(
    done.body.timeline.map((_: unknown, i: number) => i + 1),
  );
  await env.sink.waitFor((m) => m.subject === `Opportunity won: ${done.body.title}`, 15_000);
  await kill(worker);
});
