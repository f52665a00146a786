import { Worker } from '@temporalio/worker';
import { CASE_WORKFLOW_TYPE, readyUpdate, stateQuery, type CaseWorkflowInput } from '../workflows/messages';
import type { ReceivedMail } from '../infra/smtp-sink';
import { scoped, shippedDefinition, startTestEnv, workflowBundle, type TestEnv } from './support/env';

// Every read-model write takes longer than the gap between two updates, as on a busy database: each
// update then arrives while the previous change is still being written.
const WRITE_MS = 400;
const THRESHOLD = 60;

let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv({
    wrapActivities: (activities) => ({
      ...activities,
      projectCase: async (input) => {
        await new Promise((resolve) => setTimeout(resolve, WRITE_MS));
        return activities.projectCase(input);
      },
    }),
  });
});

afterAll(async () => {
  await env?.stop();
});

/** The opportunity type, with an email to the owner when the deal reaches PRESENTING. */
function busyDefinition() {
  const definition = scoped(shippedDefinition('opportunity'), env.prefix);
  definition.emailRules = [
    ...(definition.emailRules ?? []),
    {
      id: 'presenting-news',
      on: { statusEntered: 'PRESENTING' },
      template: 'opportunity-won',
      to: ['owner'],
    },
  ];
  return definition;
}

async function startBusyCase(name: string) {
  const definition = busyDefinition();
  const caseType = await env.publish(definition);
  const caseId = `case-${name}-${env.prefix}`;
  const handle = await env.client.workflow.start(CASE_WORKFLOW_TYPE, {
    workflowId: caseId,
    taskQueue: env.taskQueue,
    args: [
      {
        definition,
        start: {
          caseId,
          caseType,
          definitionVersion: 1,
          data: { subject: name },
          ownerId: env.users.alice.id,
        },
        continueAfterEvents: THRESHOLD,
      } satisfies CaseWorkflowInput,
    ],
  });
  await handle.executeUpdate(readyUpdate);
  return { caseId, handle };
}

/** Started outside the API, a case reaches the read model through the (slow) write. */
async function untilProjected(taskId: string) {
  for (let tries = 0; tries < 50; tries++) {
    if ((await env.http(env.users.alice, 'GET', `/api/tasks/${taskId}`)).status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function comment(taskId: string, text: string) {
  const res = await env.http(env.users.alice, 'POST', `/api/tasks/${taskId}/comment`, { text });
  expect([res.status, res.body.detail]).toEqual([200, undefined]);
}

it('sends an email waiting for a write exactly once, when the run continues as new meanwhile', async () => {
  const { caseId } = await startBusyCase('mail');
  const first = `${caseId}-T2`;
  await untilProjected(first);
  expect((await env.http(env.users.alice, 'POST', `/api/tasks/${first}/claim`, {})).status).toBe(200);
  for (let i = 0; i < 6; i++) await comment(first, `before ${i}`);
  const done = await env.http(env.users.alice, 'POST', `/api/tasks/${first}/complete`, {
    outcome: 'interested',
  });
  expect(done.body.case.status).toBe('PRESENTING');
  // The email waits for the (slow) write of that change while the next updates push the run on.
  const view = await env.http(env.users.alice, 'GET', `/api/cases/${caseId}`);
  const next = view.body.tasks.find((t: { status: string }) => t.status === 'open').id as string;
  for (let i = 0; i < 25; i++) await comment(next, `after ${i}`);

  const aboutCase = (m: ReceivedMail) => m.html.includes(caseId) || m.text.includes(caseId);
  await env.sink.waitFor(aboutCase, 30_000);
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  expect(env.sink.messages().filter(aboutCase)).toHaveLength(1);
  const sent = await env.http(env.users.alice, 'GET', `/api/emails?caseId=${caseId}&ruleId=presenting-news`);
  expect(sent.body.items.map((e: { state: string }) => e.state)).toEqual(['sent']);
});

it('keeps continuing as new when every update arrives while the last change is still being written', async () => {
  const { caseId, handle } = await startBusyCase('busy');
  const taskId = `${caseId}-T2`;
  await untilProjected(taskId);
  expect((await env.http(env.users.alice, 'POST', `/api/tasks/${taskId}/claim`, {})).status).toBe(200);

  const COMMENTS = 40;
  for (let i = 0; i < COMMENTS; i++) await comment(taskId, `n${i}`);

  // Each update adds about seven events; 40 of them in one run would be ~300. A run may overshoot the
  // threshold by the updates that arrive while it hands over, never by the whole stream.
  const runs: { runId: string; status: string; historyLength: number }[] = [];
  for await (const w of env.client.workflow.list({ query: `WorkflowId = "${caseId}"` })) {
    const { historyLength } = await env.client.workflow.getHandle(caseId, w.runId).describe();
    runs.push({ runId: w.runId, status: w.status.name, historyLength });
  }
  expect(runs.filter((r) => r.status === 'CONTINUED_AS_NEW').length).toBeGreaterThanOrEqual(3);
  expect(runs.filter((r) => r.historyLength >= 2 * THRESHOLD)).toEqual([]);

  // Nothing the previous runs had not written yet is lost: the task shows every comment, and the
  // case row reaches the workflow's own version.
  const task = await env.http(env.users.alice, 'GET', `/api/tasks/${taskId}`);
  const texts = (task.body.comments as { text: string }[]).map((c) => c.text);
  expect(texts).toEqual(Array.from({ length: COMMENTS }, (_, i) => `n${i}`));
  const { version } = await handle.query(stateQuery);
  const deadline = Date.now() + 10_000;
  let stored = -1;
  while (Date.now() < deadline) {
    const row = await env.db.query<{ version: string }>('SELECT version FROM cases WHERE id = $1', [caseId]);
    stored = Number(row[0]?.version);
    if (stored === version) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(stored).toBe(version);

  const done = await env.http(env.users.alice, 'POST', `/api/tasks/${taskId}/complete`, {
    outcome: 'interested',
  });
  expect(done.body.case.status).toBe('PRESENTING');
  const view = await env.http(env.users.alice, 'GET', `/api/cases/${caseId}`);
  expect(view.body.timeline.map((e: { seq: number }) => e.seq)).toEqual(
    view.body.timeline.map((_: unknown, i: number) => i + 1),
  );

  // Every run replays against the current workflow code.
  for (const r of runs) {
    const history = await env.client.workflow.getHandle(caseId, r.runId).fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, caseId);
  }
});
