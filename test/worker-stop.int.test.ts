/**
 * The production worker process (worker/main.ts) on SIGTERM: it stops polling but lets the activity it
 * is running finish (a slow service call answered after the signal), then exits 0.
 * It runs against a database of its own (its release steps sync the Schedules of every definition in its
 * database; the shared one holds other test files' definitions) and an empty definitions folder.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { projectCase } from '../activities/projection';
import { CaseGateway } from '../api/gateway';
import { createDb, type Db } from '../db';
import { publishDefinition } from '../db/definitions';
import { migrate } from '../db/migrate';
import type { CaseTypeDefinition } from '../engine/types';
import { canConnect, freePort } from '../infra/ports';
import { createDatabaseIfMissing, dropDatabase, withDatabase } from '../infra/postgres';
import { eventually, startTestEnv, type TestEnv } from './support/env';
import { spawnProcess } from './support/processes';

const ANSWER_AFTER_MS = 1500;

let env: TestEnv;
let db: Db | undefined;
let server: http.Server;
let base: string;
const dbName = `crm_worker_stop_${randomBytes(4).toString('hex')}`;
const emptyDefinitions = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-no-definitions-'));
const children: ChildProcess[] = [];
/** What the service saw of each call: arrived, then answered in full or cut off by the caller. */
const calls: { arrivedAt: number; answeredAt?: number; outcome?: 'answered' | 'aborted' }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const call: (typeof calls)[number] = { arrivedAt: Date.now() };
    calls.push(call);
    req.resume();
    res.on('close', () => (call.outcome ??= res.writableFinished ? 'answered' : 'aborted'));
    setTimeout(() => {
      if (res.destroyed) return;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ score: 700 }));
      call.answeredAt = Date.now();
    }, ANSWER_AFTER_MS);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  env = await startTestEnv({ worker: false });
  await createDatabaseIfMissing(env.databaseUrl, dbName);
  db = createDb(withDatabase(env.databaseUrl, dbName));
  await migrate(db);
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await db?.close();
  await dropDatabase(env.databaseUrl, dbName).catch(() => undefined);
  await env?.stop();
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(emptyDefinitions, { recursive: true, force: true });
});

it('finishes the running activity after SIGTERM, then exits 0', async () => {
  const taskQueue = `${env.taskQueue}-stop`;
  const opsPort = await freePort();
  const worker = await spawnProcess(
    'worker/main.ts',
    {
      TEMPORAL_ADDRESS: env.temporalAddress,
      DATABASE_URL: withDatabase(env.databaseUrl, dbName),
      SMTP_URL: `smtp://127.0.0.1:${env.sink.port}`,
      TASK_QUEUE: taskQueue,
      DEFINITIONS_DIR: emptyDefinitions,
      WORKFLOW_BUNDLE_PATH: process.env.TEST_WORKFLOW_BUNDLE ?? '',
      SERVICE_ALLOWLIST: `${base}/`,
      WORKER_OPS_PORT: String(opsPort),
    },
    { poll: () => canConnect(opsPort) },
    (c) => children.push(c),
  );
  const exit = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));

  const def: CaseTypeDefinition = {
    dslVersion: '1',
    id: `${env.prefix}-slow-service`,
    version: '1',
    name: 'Slow service',
    statuses: [
      { code: 'OPEN', name: 'Open', category: 'open' },
      { code: 'SCORED', name: 'Scored', category: 'closed' },
      { code: 'MANUAL', name: 'Manual', category: 'closed' },
    ],
    initialStatus: 'OPEN',
    start: 'score',
    steps: {
      score: {
        type: 'service',
        request: { method: 'POST', url: `${base}/score`, body: {} },
        saveAs: 'credit',
        retry: { maximumAttempts: 1 },
        then: { status: 'SCORED', end: true },
        onFailure: { status: 'MANUAL', end: true },
      },
    },
  };
  const { stored } = await publishDefinition(db as Db, def, randomBytes(16).toString('hex'));
  const gateway = new CaseGateway(env.client, taskQueue, 15_000, (p) => projectCase(db as Db, p));
  const caseId = `${env.prefix}-slow-${randomBytes(3).toString('hex')}`;
  await gateway.start(def, { caseId, caseType: def.id, definitionVersion: stored.version, data: {} });

  await eventually(async () => calls.length > 0 || undefined, 20_000, 'the service call');
  worker.kill('SIGTERM');
  const signalledAt = Date.now();
  expect(await exit).toBe(0);
  const exitedAt = Date.now();
  // The signal came while the call was running, and the worker exited only after its answer.
  expect(calls[0]?.answeredAt).toBeGreaterThan(signalledAt);
  expect(exitedAt).toBeGreaterThanOrEqual(calls[0]?.answeredAt ?? Infinity);
  expect(calls).toHaveLength(1);
  expect(calls[0]?.outcome).toBe('answered');
  // Temporal recorded the attempt as completed (not failed or cancelled by the shutdown). The outcome
  // can reach the history a little later: when the shutdown caught a workflow task of this case in
  // flight (the projection's result arrived just before the signal), the server holds new events back
  // until that task times out and the case goes on without the stopped worker.
  const outcome = await eventually(
    async () => {
      const events = (await env.client.workflow.getHandle(caseId).fetchHistory()).events ?? [];
      const serviceCalls = new Set(
        events
          .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'callService')
          .map((e) => String(e.eventId)),
      );
      const ended = (kind: 'activityTaskCompletedEventAttributes' | 'activityTaskFailedEventAttributes') =>
        events.filter((e) => serviceCalls.has(String(e[kind]?.scheduledEventId))).length;
      const result = {
        scheduled: serviceCalls.size,
        completed: ended('activityTaskCompletedEventAttributes'),
        failed: ended('activityTaskFailedEventAttributes'),
        cancelled: events.filter((e) => e.activityTaskCanceledEventAttributes).length,
      };
      return result.completed + result.failed + result.cancelled > 0 && result;
    },
    30_000,
    "the service call's outcome in the history",
  );
  expect(outcome).toEqual({ scheduled: 1, completed: 1, failed: 0, cancelled: 0 });
}, 120_000);
