/**
 * Email pipeline: 1,000 status changes on live case workflows, each firing an email rule, measured from the
 * event to the SMTP server's acceptance (the sink's receipt of the DATA), through the whole path: the
 * Update to the case workflow, the interpreter, the projection, the sendEmail activity (outbox claim,
 * recipients, rendering, `sending` mark, SMTP, `sent` record).
 *
 * Two runs of 1,000 events each on fresh cases:
 * - paced: events arrive at a steady rate below saturation (default 10/s, EMAIL_BENCH_RATE): the latency a user sees;
 * - burst: every case changes status as fast as its updates return: the messages per second sustained.
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createActivities } from '../activities';
import { TemplateStore } from '../activities/templates';
import { CaseGateway } from '../api/gateway';
import { projectCase } from '../activities/projection';
import { createDb, type Db } from '../db';
import { publishDefinition } from '../db/definitions';
import { migrate } from '../db/migrate';
import type { Actor } from '../engine/state';
import type { CaseTypeDefinition } from '../engine/types';
import { startSmtpSink, type ReceivedMail, type SmtpSink } from '../infra/smtp-sink';
import { createMailer } from '../lib/mailer';
import { connectTemporal } from '../lib/temporal';
import { createWorker } from '../worker';
import { DEFINITIONS_DIR, workflowBundle } from '../test/support/env';
import type { Bench, BenchResult } from './run';
import { ms, percentile } from './stats';

const EVENTS = Number(process.env.EMAIL_BENCH_EVENTS ?? 1000);
const CASES = Math.min(100, EVENTS);
const STATUSES = EVENTS / CASES;
const PACED_RATE = Number(process.env.EMAIL_BENCH_RATE ?? 10);
const POOL = process.env.EMAIL_BENCH_POOL !== 'false';
const ADMIN: Actor = { userId: 'system', role: 'admin', teams: [] };

function definition(prefix: string): CaseTypeDefinition {
  const statuses = Array.from({ length: STATUSES + 1 }, (_, i) => ({
    code: `S${i}`,
    name: `Stage ${i}`,
    category: 'open' as const,
    manual: true,
  }));
  return {
    dslVersion: '1',
    id: `${prefix}-bench-mail`,
    version: '1.0.0',
    name: 'Email bench',
    title: 'Bench {{data.subject}}',
    statuses,
    initialStatus: 'S0',
    fields: { type: 'object', properties: { subject: { type: 'string' }, amount: { type: 'number' } } },
    start: 'work',
    steps: {
      work: {
        type: 'human',
        action: 'call',
        title: 'Work',
        assign: { team: `${prefix}-team` },
        outcomes: { done: { end: true } },
      },
    },
    emailRules: statuses.slice(1).map((s) => ({
      id: `entered-${s.code}`,
      on: { statusEntered: s.code },
      template: 'opportunity-update',
      to: ['owner'],
    })),
  };
}

interface Sample {
  caseId: string;
  status: string;
  /** When the client sent the status change. */
  sentAt: number;
}

const head = (m: ReceivedMail, name: string) =>
  new RegExp(`^${name}: *(.*)$`, 'im').exec(m.raw.split(/\r?\n\r?\n/)[0] ?? '')?.[1]?.trim();

/** Waits until `count` messages of these cases arrived; returns acceptance time per case/status. */
async function accepted(
  sink: SmtpSink,
  prefix: string,
  count: number,
  timeoutMs: number,
): Promise<Map<string, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = new Map<string, number>();
    for (const m of sink.messages()) {
      const caseId = head(m, 'X-CRM-Case');
      if (!caseId?.startsWith(prefix)) continue;
      found.set(`${caseId}|${head(m, 'X-CRM-Rule')}`, new Date(m.receivedAt).getTime());
    }
    if (found.size >= count) return found;
    if (Date.now() > deadline)
      throw new Error(`only ${found.size} of ${count} emails arrived in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function seed(db: Db, prefix: string): Promise<void> {
  await db.query(`INSERT INTO users (id, name, email, role) VALUES ($1, 'Bench Owner', $2, 'agent')`, [
    `${prefix}-owner`,
    `owner.${prefix}@example.com`,
  ]);
  await db.query(`INSERT INTO teams (id, name) VALUES ($1, 'bench')`, [`${prefix}-team`]);
}

async function run(
  db: Db,
  gateway: CaseGateway,
  sink: SmtpSink,
  def: CaseTypeDefinition,
  prefix: string,
  mode: 'paced' | 'burst',
): Promise<{
  latencies: number[];
  engine: number[];
  dispatch: number[];
  activity: number[];
  perSecond: number;
  issueSeconds: number;
}> {
  const runPrefix = `case-${prefix}-${mode}`;
  const caseIds = Array.from({ length: CASES }, (_, i) => `${runPrefix}-${i}`);
  await Promise.all(
    caseIds.map((caseId) =>
      gateway.start(def, {
        caseId,
        caseType: def.id,
        definitionVersion: 1,
        data: { subject: caseId, amount: 1000 },
        ownerId: `${prefix}-owner`,
      }),
    ),
  );
  const samples: Sample[] = [];
  const act = async (caseId: string, status: string) => {
    const sample = { caseId, status, sentAt: Date.now() };
    samples.push(sample);
    await gateway.act(caseId, { type: 'setStatus', status, actor: ADMIN });
  };
  const started = Date.now();
  if (mode === 'paced') {
    // Round-robin over cases so consecutive events hit different workflows, one every 1/RATE s.
    const pending: Promise<void>[] = [];
    for (let n = 0; n < EVENTS; n += 1) {
      const due = started + (n * 1000) / PACED_RATE;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const caseId = caseIds[n % CASES] as string;
      pending.push(act(caseId, `S${Math.floor(n / CASES) + 1}`));
    }
    await Promise.all(pending);
  } else {
    await Promise.all(
      caseIds.map(async (caseId) => {
        for (let s = 1; s <= STATUSES; s += 1) await act(caseId, `S${s}`);
      }),
    );
  }
  const issueSeconds = (Date.now() - started) / 1000;
  const arrived = await accepted(sink, runPrefix, EVENTS, 120_000);
  const latencies = samples.map((s) => (arrived.get(`${s.caseId}|entered-${s.status}`) as number) - s.sentAt);
  // The same, from the moment the case workflow recorded the event (its timeline entry).
  const recorded = await db.query<{
    case_id: string;
    rule_id: string;
    at: string;
    created_at: string;
    sent_at: string;
  }>(
    `SELECT o.case_id, o.rule_id, e.at, o.created_at, o.sent_at FROM email_outbox o
     JOIN case_events e ON e.case_id = o.case_id AND e.seq = o.event_key::int WHERE o.case_id LIKE $1`,
    [`${runPrefix}-%`],
  );
  const engine = recorded.map(
    (r) => (arrived.get(`${r.case_id}|${r.rule_id}`) as number) - new Date(r.at).getTime(),
  );
  // Where the time goes: recorded -> the activity claims its outbox row -> the acceptance is recorded.
  const time = (iso: string) => new Date(iso).getTime();
  const dispatch = recorded.map((r) => time(r.created_at) - time(r.at));
  const activity = recorded.map((r) => time(r.sent_at) - time(r.created_at));
  const first = Math.min(...samples.map((s) => s.sentAt));
  const last = Math.max(...arrived.values());
  return { latencies, engine, dispatch, activity, perSecond: EVENTS / ((last - first) / 1000), issueSeconds };
}

const bench: Bench = async (): Promise<BenchResult> => {
  const prefix = `b${randomBytes(3).toString('hex')}`;
  const temporalAddress = process.env.TEST_TEMPORAL_ADDRESS as string;
  const db = createDb(process.env.TEST_DATABASE_URL as string);
  await migrate(db);
  await seed(db, prefix);
  const def = definition(prefix);
  await publishDefinition(db, def, randomBytes(16).toString('hex'));
  const sink = await startSmtpSink({ port: 0, maxMessages: 5 * EVENTS });
  const mailer = createMailer(`smtp://127.0.0.1:${sink.port}${POOL ? '?pool=true&maxConnections=10' : ''}`);
  const { client, connection } = await connectTemporal(temporalAddress, 'default');
  const taskQueue = `bench-${prefix}`;
  const { worker, connection: workerConnection } = await createWorker({
    address: temporalAddress,
    namespace: 'default',
    taskQueue,
    activities: createActivities({
      db,
      mailer,
      templates: new TemplateStore(path.join(DEFINITIONS_DIR, 'templates')),
      mailFrom: 'CRM <crm@example.com>',
      publicUrl: 'http://localhost:3000',
    }),
    workflowBundle: await workflowBundle(),
  });
  const running = worker.run();
  const gateway = new CaseGateway(client, taskQueue, 60_000, (projection) => projectCase(db, projection));
  try {
    const paced = await run(db, gateway, sink, def, prefix, 'paced');
    const burst = await run(db, gateway, sink, def, prefix, 'burst');
    const [outbox] = await db.query<{ sent: number; duplicates: number }>(
      `SELECT count(*) FILTER (WHERE state = 'sent')::int AS sent, count(*) FILTER (WHERE deliveries > 1)::int AS duplicates
       FROM email_outbox WHERE case_id LIKE $1`,
      [`case-${prefix}-%`],
    );
    return {
      name: 'Email rules: status event to SMTP acceptance',
      figures: {
        [`paced ${PACED_RATE}/s: event sent -> SMTP acceptance p50`]: ms(percentile(paced.latencies, 50)),
        [`paced ${PACED_RATE}/s: event sent -> SMTP acceptance p99`]: ms(percentile(paced.latencies, 99)),
        [`paced ${PACED_RATE}/s: event recorded -> SMTP acceptance p50`]: ms(percentile(paced.engine, 50)),
        [`paced ${PACED_RATE}/s: event recorded -> SMTP acceptance p99`]: ms(percentile(paced.engine, 99)),
        [`paced ${PACED_RATE}/s: recorded -> sendEmail starts (Temporal dispatch) p50/p99`]: `${ms(percentile(paced.dispatch, 50))} / ${ms(percentile(paced.dispatch, 99))}`,
        [`paced ${PACED_RATE}/s: sendEmail start -> acceptance recorded p50/p99`]: `${ms(percentile(paced.activity, 50))} / ${ms(percentile(paced.activity, 99))}`,
        'burst: event sent -> SMTP acceptance p50': ms(percentile(burst.latencies, 50)),
        'burst: event sent -> SMTP acceptance p99': ms(percentile(burst.latencies, 99)),
        'burst: messages/s sustained (first event to last acceptance)': Math.round(burst.perSecond * 10) / 10,
        'burst: status events/s accepted by the case workflows':
          Math.round((EVENTS / burst.issueSeconds) * 10) / 10,
        'outbox rows sent / messages received / rows delivered twice': `${outbox?.sent ?? 0} / ${sink.messages().length} / ${outbox?.duplicates ?? 0}`,
      },
      notes: [
        `${CASES} case workflows per run, ${STATUSES} status changes each (Temporal Updates), one email rule per status (owner, template opportunity-update with layout).`,
        `Latency: client sends the status change -> the SMTP server has the message. SMTP ${POOL ? 'pooled (10 connections)' : 'one connection per message'}; one worker (50 concurrent activities, 10 Postgres connections).`,
      ],
    };
  } finally {
    worker.shutdown();
    await running;
    await workerConnection.close();
    await connection.close();
    mailer.close();
    await sink.stop();
    await db.close();
  }
};

export default bench;
