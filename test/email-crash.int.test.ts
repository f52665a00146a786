/**
 * The worker really dies (SIGKILL from inside the send) at the two points that matter for "sent once";
 * a fresh worker picks the email up after the activity's heartbeat timeout.
 */
import { scoped, shippedDefinition, startTestEnv, eventually, type TestEnv } from './support/env';
import { exited, killAllWorkers, spawnWorker } from './support/workers';

let env: TestEnv;
let caseType: string;

beforeAll(async () => {
  env = await startTestEnv({ worker: false });
  caseType = await env.publish(scoped(shippedDefinition('opportunity'), env.prefix));
});

// Each test starts its own workers: a leftover one would take the email instead of the doomed worker.
afterEach(async () => {
  await killAllWorkers();
});

afterAll(async () => {
  await env?.stop();
});

/** Drives a new opportunity to WON (its email rule fires); returns the case id and title. */
async function winCase(subject: string): Promise<{ id: string; title: string }> {
  const started = await env.http(env.users.alice, 'POST', '/api/cases', {
    caseType,
    entityId: `${env.prefix}-acme`,
    data: { subject },
  });
  expect(started.status).toBe(201);
  for (const outcome of ['interested', 'presented', 'won']) {
    const view = await env.http(env.users.alice, 'GET', `/api/cases/${started.body.id}`);
    const task = view.body.tasks.find((t: { status: string }) => t.status === 'open');
    expect(
      (await env.http(env.users.alice, 'POST', `/api/tasks/${task.id}/complete`, { outcome })).status,
    ).toBe(200);
  }
  return { id: started.body.id, title: started.body.title };
}

type Outbox = {
  state: string;
  attempts: number;
  deliveries: number;
  redelivered: boolean;
  message_id: string;
};

async function outbox(caseId: string): Promise<Outbox[]> {
  return env.db.query<Outbox>(
    'SELECT state, attempts, deliveries, redelivered, message_id FROM email_outbox WHERE case_id = $1',
    [caseId],
  );
}

it('killed after the acceptance is recorded: after restart, exactly one message', async () => {
  const doomed = await spawnWorker(env, { CRASH_AT: 'afterRecorded' });
  const won = await winCase('Crash after recording');
  await exited(doomed);
  await spawnWorker(env);
  const rows = await eventually(
    async () => {
      const r = await outbox(won.id);
      // The retry (on the new worker) finds the row sent and sends nothing; wait until it has run.
      const history = await env.client.workflow.getHandle(won.id).fetchHistory();
      const done = history.events?.some((e) => e.activityTaskCompletedEventAttributes);
      return done ? r : undefined;
    },
    60_000,
    'the retried email activity',
  );
  expect(rows).toEqual([expect.objectContaining({ state: 'sent', deliveries: 1, redelivered: false })]);
  const received = env.sink.messages().filter((m) => m.subject === `Opportunity won: ${won.title}`);
  expect(received).toHaveLength(1);
});

it('killed between SMTP acceptance and recording: re-delivered with the same Message-ID, recorded as such', async () => {
  const doomed = await spawnWorker(env, { CRASH_AT: 'afterAccepted' });
  const won = await winCase('Crash before recording');
  await exited(doomed);
  await spawnWorker(env);
  const rows = await eventually(
    async () => {
      const r = await outbox(won.id);
      return r[0]?.state === 'sent' ? r : undefined;
    },
    60_000,
    'the re-delivery',
  );
  expect(rows).toEqual([expect.objectContaining({ state: 'sent', attempts: 2, redelivered: true })]);
  const received = env.sink.messages().filter((m) => m.subject === `Opportunity won: ${won.title}`);
  expect(received).toHaveLength(2);
  expect(received[0]?.messageId).toBe(received[1]?.messageId);
  expect(received[0]?.messageId).toBe(rows[0]?.message_id);
});
