import path from 'node:path';
import { decodeRetryState } from '@temporalio/common';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import type { MailHooks } from '../activities/email';
import { TemplateStore } from '../activities/templates';
import { createMailer } from '../lib/mailer';
import { createWorker } from '../worker';
import { byRule, mailDefinition } from './support/email-fixtures';
import { DEFINITIONS_DIR, eventually, startTestEnv, workflowBundle, type TestEnv } from './support/env';

/**
 * Delivery faults, each injected exactly where it matters: the worker's activities get hooks that fail
 * right after the SMTP server accepted a message (before it is recorded) or right after the recording
 * (before the activity reports completion), as a killed worker would; the SMTP sink fails transiently or
 * permanently on demand. Temporal's retry policy of the case workflow does the rest.
 */

let env: TestEnv;
let caseType: string;
let worker: { worker: Worker; connection: NativeConnection; running: Promise<void> };
const mailer = { close: () => undefined as void };
const WAIT = 60_000;
/** Every case this file started, so a fault armed for the next case never hits an earlier one's retry. */
const startedCases = new Set<string>();
/**
 * How many of the next sends fail at each point, as a crashed worker would there; only sends of cases
 * started after the fault was armed count (`key` is `${caseId}/...`).
 */
type Fault = { left: number; earlier: ReadonlySet<string> };
const noFault = (): Fault => ({ left: 0, earlier: new Set() });
const faults: Record<keyof MailHooks, Fault> = { afterAccepted: noFault(), afterRecorded: noFault() };
const fired: string[] = [];

function crash(point: keyof MailHooks, key: string): void {
  const fault = faults[point];
  const caseId = key.slice(0, key.indexOf('/'));
  if (fault.left <= 0 || fault.earlier.has(caseId)) return;
  fault.left -= 1;
  fired.push(`${point} ${key}`);
  throw new Error(`simulated worker crash (${point})`);
}

const hooks: MailHooks = {
  afterAccepted: (key) => crash('afterAccepted', key),
  afterRecorded: (key) => crash('afterRecorded', key),
};

beforeAll(async () => {
  env = await startTestEnv({ worker: false });
  const transport = createMailer(`smtp://127.0.0.1:${env.sink.port}`);
  mailer.close = () => transport.close();
  const created = await createWorker({
    address: env.temporalAddress,
    namespace: 'default',
    taskQueue: env.taskQueue,
    activities: createActivities({
      db: env.db,
      mailer: transport,
      templates: new TemplateStore(path.join(DEFINITIONS_DIR, 'templates')),
      mailFrom: 'CRM <crm@example.com>',
      publicUrl: 'http://localhost:3000',
      mailHooks: hooks,
    }),
    workflowBundle: await workflowBundle(),
  });
  worker = { ...created, running: created.worker.run() };
  // One rule: entering NEW emails the owner. Every case started below sends exactly one email.
  const def = mailDefinition(env);
  def.emailRules = def.emailRules?.filter((r) => r.id === 'entered-en');
  def.scheduledEmails = [];
  caseType = await env.publish(def);
});

beforeEach(() => {
  faults.afterAccepted = noFault();
  faults.afterRecorded = noFault();
  env.sink.failNext(0, 451);
});

afterAll(async () => {
  if (worker) {
    worker.worker.shutdown();
    await worker.running;
    await worker.connection.close();
  }
  mailer.close();
  await env?.stop();
});

async function startCase(subject: string): Promise<{ id: string; title: string }> {
  const res = await env.http(env.users.alice, 'POST', '/api/cases', {
    caseType,
    entityId: `${env.prefix}-acme`,
    data: { subject, amount: 100 },
  });
  expect(res.status).toBe(201);
  startedCases.add(res.body.id);
  return res.body;
}

type Outbox = {
  id: number;
  state: string;
  attempts: number;
  deliveries: number;
  redelivered: boolean;
  message_id: string;
  smtp_response: string | null;
  events: { event: string; attempt: number }[];
};

async function outbox(caseId: string): Promise<Outbox[]> {
  return env.db.query<Outbox>(
    'SELECT id, state, attempts, deliveries, redelivered, message_id, smtp_response, events FROM email_outbox WHERE case_id = $1',
    [caseId],
  );
}

/** How the case workflow's sendEmail activity ended, from its history: the last attempt and its outcome. */
async function sendEmailOutcome(caseId: string) {
  return eventually(
    async () => {
      const history = await env.client.workflow.getHandle(caseId).fetchHistory();
      const events = history.events ?? [];
      const scheduled = events.find(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'sendEmail',
      );
      if (!scheduled) return undefined;
      const id = Number(scheduled.eventId);
      const started = events.find(
        (e) => Number(e.activityTaskStartedEventAttributes?.scheduledEventId) === id,
      );
      const completed = events.find(
        (e) => Number(e.activityTaskCompletedEventAttributes?.scheduledEventId) === id,
      );
      const failed = events.find((e) => Number(e.activityTaskFailedEventAttributes?.scheduledEventId) === id);
      if (!completed && !failed) return undefined;
      return {
        attempt: started?.activityTaskStartedEventAttributes?.attempt ?? 0,
        completed: completed !== undefined,
        failure: failed?.activityTaskFailedEventAttributes?.failure,
        retryState: failed?.activityTaskFailedEventAttributes?.retryState,
      };
    },
    WAIT,
    `sendEmail of ${caseId} to finish`,
  );
}

const mailOf = (caseId: string) => env.sink.messages().filter(byRule(caseId, 'entered-en'));

it('(a) killed after the acceptance is recorded, before completion: the retry sends nothing, one message', async () => {
  const started = await startCaseWith('afterRecorded', 'Recorded then crashed');
  const outcome = await sendEmailOutcome(started.id);
  expect(outcome).toMatchObject({ attempt: 2, completed: true });
  expect(mailOf(started.id)).toHaveLength(1);
  const [row] = await outbox(started.id);
  expect(row).toMatchObject({ state: 'sent', attempts: 1, deliveries: 1, redelivered: false });
});

it('(b) killed between SMTP acceptance and recording: re-delivered with the same Message-ID, recorded as such', async () => {
  const started = await startCaseWith('afterAccepted', 'Accepted then crashed');
  const outcome = await sendEmailOutcome(started.id);
  expect(outcome).toMatchObject({ attempt: 2, completed: true });
  const received = mailOf(started.id);
  expect(received).toHaveLength(2);
  const [first, second] = received as [(typeof received)[0], (typeof received)[0]];
  expect(second.messageId).toBe(first.messageId);
  expect(second.subject).toBe(first.subject);
  expect(second.text).toBe(first.text);
  expect(second.html).toBe(first.html);
  expect(second.raw.match(/^Date: .*$/m)?.[0]).toBe(first.raw.match(/^Date: .*$/m)?.[0]);
  const [row] = await outbox(started.id);
  expect(row).toMatchObject({
    state: 'sent',
    attempts: 2,
    deliveries: 1,
    redelivered: true,
    message_id: first.messageId,
  });
  expect(row?.events.map((e) => e.event)).toEqual(['sending', 'redelivering', 'redelivered']);
  const listed = await env.http(env.users.sam, 'GET', `/api/emails?caseId=${started.id}`);
  expect(listed.body.items[0]).toMatchObject({
    state: 'sent',
    redelivered: true,
    deliveries: 1,
    attempts: 2,
  });
});

it('(c) SMTP fails transiently twice, then recovers: one message, after backoff', async () => {
  env.sink.failNext(2, 451, 'Try again later');
  const started = await startCase('Transient');
  const outcome = await sendEmailOutcome(started.id);
  expect(outcome).toMatchObject({ attempt: 3, completed: true });
  expect(mailOf(started.id)).toHaveLength(1);
  const [row] = await outbox(started.id);
  expect(row).toMatchObject({ state: 'sent', attempts: 3, deliveries: 1, redelivered: false });
  expect(row?.smtp_response).toMatch(/^250/);
  expect(row?.events.map((e) => e.event)).toEqual([
    'sending',
    'transient',
    'sending',
    'transient',
    'sending',
    'sent',
  ]);
});

it('(d) SMTP fails permanently: marked failed with the response, visible through the API, never resent', async () => {
  env.sink.failNext(1, 550, 'Mailbox unavailable');
  const started = await startCase('Permanent');
  const outcome = await sendEmailOutcome(started.id);
  expect(outcome.completed).toBe(false);
  expect(outcome.attempt).toBe(1);
  expect(outcome.failure?.applicationFailureInfo?.type).toBe('PermanentEmailError');
  expect(decodeRetryState(outcome.retryState)).toBe('NON_RETRYABLE_FAILURE');
  const res = await env.http(env.users.sam, 'GET', `/api/emails?caseId=${started.id}&state=failed`);
  expect(res.status).toBe(200);
  expect(res.body.items).toHaveLength(1);
  expect(res.body.items[0]).toMatchObject({
    state: 'failed',
    attempts: 1,
    deliveries: 0,
    ruleId: 'entered-en',
  });
  expect(res.body.items[0].smtpResponse).toMatch(/550.*Mailbox unavailable/);
  expect(mailOf(started.id)).toHaveLength(0);
  // The case went on: its workflow is running and no other attempt was made or is pending.
  const description = await env.client.workflow.getHandle(started.id).describe();
  expect(description.status.name).toBe('RUNNING');
  expect(description.raw.pendingActivities ?? []).toEqual([]);
  const [row] = await outbox(started.id);
  expect(row?.attempts).toBe(1);
});

/** The email activities as a second worker would run them, outside Temporal, with their own SMTP transport. */
function activitiesWithoutWorker() {
  const transport = createMailer(`smtp://127.0.0.1:${env.sink.port}`);
  const activities = createActivities({
    db: env.db,
    mailer: transport,
    templates: new TemplateStore(path.join(DEFINITIONS_DIR, 'templates')),
    mailFrom: 'CRM <crm@example.com>',
    publicUrl: 'http://localhost:3000',
  });
  return { transport, activities };
}

it('a second activity execution for the same key (a replayed command) sends nothing', async () => {
  const started = await startCase('Twice');
  await env.sink.waitFor(byRule(started.id, 'entered-en'), WAIT);
  await eventually(async () => (await outbox(started.id))[0]?.state === 'sent');
  const { transport, activities } = activitiesWithoutWorker();
  const [event] = await env.db.query<{ event_key: string }>(
    'SELECT event_key FROM email_outbox WHERE case_id = $1',
    [started.id],
  );
  const again = await activities.sendEmail({
    caseId: started.id,
    kind: 'email',
    ruleId: 'entered-en',
    eventKey: event!.event_key,
    template: 'opportunity-update',
    to: ['owner'],
    cc: ['supervisor'],
    bcc: [],
  });
  transport.close();
  expect(again).toMatchObject({ state: 'sent', duplicate: true });
  expect(mailOf(started.id)).toHaveLength(1);
  expect((await outbox(started.id))[0]).toMatchObject({ attempts: 1, deliveries: 1 });
});

it('an email for a case the read model does not hold yet is retried, not dropped as "no recipients"', async () => {
  const { transport, activities } = activitiesWithoutWorker();
  const caseId = `case-${env.prefix}-not-projected`;
  const sent = activities.sendEmail({
    caseId,
    kind: 'email',
    ruleId: 'entered-en',
    eventKey: 'status:NEW:1',
    template: 'opportunity-update',
    to: ['owner'],
    cc: ['supervisor'],
    bcc: [],
  });
  // Retryable (the workflow's retry policy lists only permanent failures as non-retryable).
  await expect(sent).rejects.toMatchObject({ name: 'CaseNotProjectedError' });
  transport.close();
  expect(env.sink.messages().filter((m) => m.raw.includes(caseId))).toEqual([]);
  expect((await outbox(caseId)).map((r) => [r.state, r.deliveries])).toEqual([['queued', 0]]);
});

async function startCaseWith(point: keyof MailHooks, subject: string) {
  faults[point] = { left: 1, earlier: new Set(startedCases) };
  const started = await startCase(subject);
  await eventually(
    async () => fired.some((f) => f.startsWith(`${point} ${started.id}/`)),
    WAIT,
    `${point} fault`,
  );
  return started;
}
