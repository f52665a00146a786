import { Worker } from '@temporalio/worker';
import { CASE_WORKFLOW_TYPE, readyUpdate, type CaseWorkflowInput } from '../workflows/messages';
import { scoped, shippedDefinition, startTestEnv, workflowBundle, type TestEnv } from './support/env';

let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv();
});

afterAll(async () => {
  await env?.stop();
});

it('continues as new before history grows too long, keeping its state and every accepted update', async () => {
  const definition = scoped(shippedDefinition('opportunity'), env.prefix);
  const caseType = await env.publish(definition);
  const caseId = `case-long-${env.prefix}`;
  const input: CaseWorkflowInput = {
    definition,
    start: {
      caseId,
      caseType,
      definitionVersion: 1,
      data: { subject: 'Long-lived' },
      ownerId: env.users.alice.id,
    },
    continueAfterEvents: 60,
  };
  const handle = await env.client.workflow.start(CASE_WORKFLOW_TYPE, {
    workflowId: caseId,
    taskQueue: env.taskQueue,
    args: [input],
  });
  await handle.executeUpdate(readyUpdate);
  const firstRunId = handle.firstExecutionRunId;
  const taskId = `${caseId}-T2`;
  expect((await env.http(env.users.alice, 'POST', `/api/tasks/${taskId}/claim`, {})).status).toBe(200);

  // Sequential comments push the history past the threshold several times...
  for (let i = 0; i < 25; i++) {
    const res = await env.http(env.users.alice, 'POST', `/api/tasks/${taskId}/comment`, {
      text: `note ${i}`,
    });
    expect([res.status, res.body.detail]).toEqual([200, undefined]);
  }
  // ...and concurrent ones arrive while a continue-as-new may be under way.
  const burst = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      env.http(env.users.alice, 'POST', `/api/tasks/${taskId}/comment`, { text: `burst ${i}` }),
    ),
  );
  expect(burst.map((r) => r.status)).toEqual(Array(10).fill(200));

  const description = await env.client.workflow.getHandle(caseId).describe();
  expect(description.runId).not.toBe(firstRunId);
  expect(description.historyLength).toBeLessThan(200);

  const task = await env.http(env.users.alice, 'GET', `/api/tasks/${taskId}`);
  const texts = (task.body.comments as { text: string }[]).map((c) => c.text);
  expect(texts).toHaveLength(35);
  expect(new Set(texts).size).toBe(35);

  // The case still works after all those runs.
  const done = await env.http(env.users.alice, 'POST', `/api/tasks/${taskId}/complete`, {
    outcome: 'interested',
  });
  expect(done.body.case.status).toBe('PRESENTING');
  const view = await env.http(env.users.alice, 'GET', `/api/cases/${caseId}`);
  expect(view.body.timeline.map((e: { seq: number }) => e.seq)).toEqual(
    view.body.timeline.map((_: unknown, i: number) => i + 1),
  );

  // Each run's history replays against the current workflow code.
  const history = await env.client.workflow.getHandle(caseId, firstRunId).fetchHistory();
  await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, caseId);
});
