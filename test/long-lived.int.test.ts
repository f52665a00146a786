import { Worker } from '@temporalio/worker';
import {
  CASE_WORKFLOW_TYPE,
  actUpdate,
  readyUpdate,
  stateQuery,
  type CaseWorkflowInput,
} from '../workflows/messages';
import {
  eventually,
  scoped,
  shippedDefinition,
  startTestEnv,
  workflowBundle,
  type TestEnv,
} from './support/env';

let env: TestEnv;

/**
 * Starts a case through the Temporal client (as the API does, but with a low continue-as-new threshold: 60
 * history events) owned by alice, and waits until its first state is ready.
 */
async function startLongLived(
  definition: CaseWorkflowInput['definition'],
  caseType: string,
  caseId: string,
  data: Record<string, unknown>,
) {
  const input: CaseWorkflowInput = {
    definition,
    start: { caseId, caseType, definitionVersion: 1, data, ownerId: env.users.alice.id },
    continueAfterEvents: 60,
  };
  const handle = await env.client.workflow.start(CASE_WORKFLOW_TYPE, {
    workflowId: caseId,
    taskQueue: env.taskQueue,
    args: [input],
  });
  await handle.executeUpdate(readyUpdate);
  return handle;
}

/** Cases started through the client reach the read model by the workflow's own write: wait for the task. */
const taskVisible = (taskId: string) =>
  eventually(
    async () =>
      (await env.http(env.users.alice, 'GET', `/api/tasks/${taskId}`)).status === 200 ? true : undefined,
    20_000,
    `task ${taskId} in the read model`,
  );

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
  const handle = await startLongLived(definition, caseType, caseId, { subject: 'Long-lived' });
  const firstRunId = handle.firstExecutionRunId;
  const taskId = `${caseId}-T2`;
  await taskVisible(taskId);
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

it('continues as new while it waits for a sub-case, and goes on when the sub-case ends', async () => {
  const team = `${env.prefix}-sales`;
  const child = await env.publish({
    dslVersion: '1',
    id: `${env.prefix}-approval`,
    version: '1',
    name: 'Approval',
    statuses: [
      { code: 'ASKED', name: 'Asked', category: 'open' },
      { code: 'APPROVED', name: 'Approved', category: 'won' },
    ],
    initialStatus: 'ASKED',
    start: 'approve',
    steps: {
      approve: {
        type: 'human',
        action: 'task',
        title: 'Approve',
        assign: { team },
        outcomes: { yes: { status: 'APPROVED', end: true } },
      },
    },
  });
  const definition = {
    dslVersion: '1' as const,
    id: `${env.prefix}-waits-for-approval`,
    version: '1',
    name: 'Waits for an approval',
    statuses: [
      { code: 'OPEN', name: 'Open', category: 'open' as const },
      { code: 'DONE', name: 'Done', category: 'won' as const },
      { code: 'LOST', name: 'Lost', category: 'lost' as const },
    ],
    initialStatus: 'OPEN',
    start: ['check', 'notes'],
    steps: {
      check: {
        type: 'subcase' as const,
        caseType: child,
        wait: true,
        outcomes: { won: { status: 'DONE', end: true }, lost: { status: 'LOST', end: true } },
      },
      notes: {
        type: 'human' as const,
        action: 'task',
        title: 'Notes',
        assign: { team },
        outcomes: { done: { status: 'DONE', end: true } },
      },
    },
  };
  const caseType = await env.publish(definition);
  const caseId = `case-waits-${env.prefix}`;
  const handle = await startLongLived(definition, caseType, caseId, {});
  const firstRunId = handle.firstExecutionRunId;
  // Started through the client, not the API: the read model has it once the workflow's own write ran.
  const started = await eventually(
    async () => {
      const v = await env.http(env.users.alice, 'GET', `/api/cases/${caseId}`);
      const subcase =
        v.status === 200
          ? v.body.timeline.find((e: { kind: string }) => e.kind === 'subcase.started')
          : undefined;
      const notesTask =
        v.status === 200 ? v.body.tasks.find((t: { step: string }) => t.step === 'notes') : undefined;
      return subcase && notesTask
        ? { childCaseId: subcase.detail.childCaseId as string, notes: notesTask.id as string }
        : undefined;
    },
    20_000,
    'the parent case and its sub-case in the read model',
  );
  const { childCaseId, notes } = started;

  // Comments push the parent's history past the threshold several times while the sub-case runs.
  for (let i = 0; i < 30; i++) {
    const res = await env.http(env.users.alice, 'POST', `/api/tasks/${notes}/comment`, { text: `note ${i}` });
    expect([res.status, res.body.detail]).toEqual([200, undefined]);
  }
  const waiting = await env.client.workflow.getHandle(caseId).describe();
  expect(waiting.runId).not.toBe(firstRunId);
  expect(waiting.historyLength).toBeLessThan(200);

  // The sub-case ends: the parent, in a later run, takes the won outcome.
  const approve = await eventually(
    async () => {
      const v = await env.http(env.users.alice, 'GET', `/api/cases/${childCaseId}`);
      return v.status === 200
        ? (v.body.tasks.find((t: { step: string }) => t.step === 'approve')?.id as string | undefined)
        : undefined;
    },
    20_000,
    'the sub-case and its task in the read model',
  );
  expect(
    (await env.http(env.users.alice, 'POST', `/api/tasks/${approve}/complete`, { outcome: 'yes' })).status,
  ).toBe(200);
  const ended = await eventually(
    async () => {
      const v = await env.http(env.users.alice, 'GET', `/api/cases/${caseId}`);
      return v.body.endedAt ? v.body : undefined;
    },
    20_000,
    'the parent to end after its sub-case',
  );
  expect(ended.status).toBe('DONE');
  expect(ended.timeline.filter((e: { kind: string }) => e.kind === 'subcase.ended')).toEqual([
    expect.objectContaining({ detail: { childCaseId, status: 'APPROVED', category: 'won' } }),
  ]);
  const history = await env.client.workflow.getHandle(caseId, firstRunId).fetchHistory();
  await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, caseId);
});

it('never applies an action twice when its update id reaches the run after a continue-as-new', async () => {
  const definition = scoped(shippedDefinition('opportunity'), env.prefix);
  const caseType = await env.publish(definition);
  const caseId = `case-once-${env.prefix}`;
  const handle = await startLongLived(definition, caseType, caseId, { subject: 'Once' });
  const taskId = `${caseId}-T2`;
  await taskVisible(taskId);
  const actor = { userId: env.users.alice.id, role: 'agent' as const, teams: [`${env.prefix}-sales`] };
  const comment = { type: 'comment' as const, taskId, text: 'exactly once', actor };
  // As the API's retry of an update handed back sends it: the same update id, again.
  await handle.executeUpdate(actUpdate, { args: [comment], updateId: `once-${env.prefix}` });
  const firstRun = (await handle.describe()).runId;
  for (let i = 0; i < 25; i++) {
    const res = await env.http(env.users.alice, 'POST', `/api/tasks/${taskId}/comment`, {
      text: `note ${i}`,
    });
    expect(res.status).toBe(200);
  }
  expect((await handle.describe()).runId).not.toBe(firstRun);
  const again = await env.client.workflow
    .getHandle(caseId)
    .executeUpdate(actUpdate, { args: [comment], updateId: `once-${env.prefix}` });
  expect(again.task?.comments.filter((c) => c.text === 'exactly once')).toHaveLength(1);
  const state = await env.client.workflow.getHandle(caseId).query(stateQuery);
  expect(state.tasks[taskId]?.comments.map((c) => c.text)).toEqual([
    'exactly once',
    ...Array.from({ length: 25 }, (_, i) => `note ${i}`),
  ]);
});
