/**
 * Import jobs run as Temporal workflows on the workers (issue 16, item 6): the API process that took the
 * document holds none of the work, so killing it mid-import loses nothing, and a worker killed mid-batch is
 * replaced without a case started twice or a row counted twice.
 */
import type { ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { createApp } from '../api/app';
import { listen } from '../api/server';
import { canConnect, freePort } from '../infra/ports';
import { eventually, scoped, shippedDefinition, startTestEnv, type TestEnv } from './support/env';
import { spawnProcess, stopProcess } from './support/processes';
import { kill, killAllWorkers, spawnWorker } from './support/workers';

let env: TestEnv;
let T: string;
const apis: ChildProcess[] = [];

beforeAll(async () => {
  env = await startTestEnv({ worker: false });
  T = await env.publish(scoped(shippedDefinition('opportunity'), env.prefix));
});

afterAll(async () => {
  for (const api of apis) await stopProcess(api, 'SIGKILL');
  await killAllWorkers();
  await env?.stop();
});

/** `n` new cases with keys `<prefix>-<tag>-<i>`. */
function document(tag: string, n: number) {
  return {
    caseType: T,
    filename: `${tag}.json`,
    cases: Array.from({ length: n }, (_, i) => ({
      externalKey: `${env.prefix}-${tag}-${i}`,
      data: { subject: `${tag} ${i}`, amount: i },
    })),
  };
}

/** The job as GET /api/imports/:id shows it once it is no longer running. */
function finished(id: string, timeoutMs: number) {
  return eventually(
    async () => {
      const res = await env.http(env.users.sam, 'GET', `/api/imports/${id}`);
      return res.body.status !== 'running' ? res.body : undefined;
    },
    timeoutMs,
    `import ${id} to finish`,
  );
}

/** Read-model cases per external key of the tag: each must be exactly one. */
async function casesPerKey(tag: string): Promise<number[]> {
  const rows = await env.db.query<{ n: number }>(
    `SELECT count(c.id)::int AS n FROM imported_cases i LEFT JOIN cases c ON c.id = i.case_id
     WHERE i.case_type = $1 AND i.external_key LIKE $2 GROUP BY i.external_key`,
    [T, `${env.prefix}-${tag}-%`],
  );
  return rows.map((r) => r.n);
}

/** The activity types the import's workflow (id `import-<job id>`, as docs/crm.md says) scheduled. */
async function workflowActivities(jobId: string): Promise<string[]> {
  const history = await env.client.workflow.getHandle(`import-${jobId}`).fetchHistory();
  return (history.events ?? [])
    .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
    .filter((name): name is string => typeof name === 'string');
}

it('processes the rows in a workflow: an API process killed right after answering loses nothing', async () => {
  const worker = await spawnWorker(env);
  const port = await freePort();
  const api = await spawnProcess(
    'api/main.ts',
    {
      TEMPORAL_ADDRESS: env.temporalAddress,
      DATABASE_URL: env.databaseUrl,
      PORT: String(port),
      TASK_QUEUE: env.taskQueue,
    },
    { poll: () => canConnect(port) },
    (c) => apis.push(c),
  );
  const res = await fetch(`http://127.0.0.1:${port}/api/imports`, {
    method: 'POST',
    headers: { authorization: `Bearer ${env.users.sam.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(document('API', 60)),
  });
  expect(res.status).toBe(202);
  const job = (await res.json()) as { id: string; status: string; total: number };
  expect(job).toMatchObject({ status: 'running', total: 60 });
  // The API process dies (no clean-up) as soon as it has answered: the import must not depend on it.
  await stopProcess(api, 'SIGKILL');

  const done = await finished(job.id, 60_000);
  expect(done).toMatchObject({ status: 'completed', processed: 60, created: 60, failed: 0, unchanged: 0 });
  expect(await casesPerKey('API')).toEqual(Array(60).fill(1));
  const activities = await workflowActivities(job.id);
  expect(activities).toContain('importBatch');
  await kill(worker);
}, 120_000);

it('a worker killed mid-import is replaced: every row done once, no case started twice', async () => {
  let worker = await spawnWorker(env);
  const res = await env.http(env.users.sam, 'POST', '/api/imports', document('WRK', 80));
  expect(res.status).toBe(202);
  const id: string = res.body.id;
  await eventually(
    async () => (await env.http(env.users.sam, 'GET', `/api/imports/${id}`)).body.processed >= 5,
    60_000,
    'the first rows',
  );
  await kill(worker);
  const atKill = (await env.http(env.users.sam, 'GET', `/api/imports/${id}`)).body;
  expect(atKill.status).toBe('running');
  worker = await spawnWorker(env);

  const done = await finished(id, 90_000);
  expect(done).toMatchObject({ status: 'completed', processed: 80, created: 80, failed: 0, unchanged: 0 });
  const rows = await env.http(env.users.sam, 'GET', `/api/imports/${id}/rows`);
  expect(rows.body.items.map((r: { state: string }) => r.state)).toEqual(Array(80).fill('created'));
  expect(await casesPerKey('WRK')).toEqual(Array(80).fill(1));
  expect(await workflowActivities(id)).toContain('importBatch');
  await kill(worker);
}, 180_000);

it('answers 503 and keeps no job when the import workflow cannot be started (Temporal unreachable)', async () => {
  const port = await freePort(); // nothing listens there
  const connection = Connection.lazy({ address: `127.0.0.1:${port}`, connectTimeout: 1000 });
  const client = new Client({ connection, namespace: 'default' });
  const app = createApp({
    db: env.db,
    client,
    taskQueue: env.taskQueue,
    publicUrl: 'http://localhost:3000',
    maxPageSize: 200,
    bodyLimit: '1mb',
    updateTimeoutMs: 2000,
  });
  const server = await listen(app, 0, '127.0.0.1');
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/imports`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.users.sam.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(document('DOWN', 2)),
    });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { type: string }).type).toMatch(/engine-unavailable$/);
    expect(res.headers.get('retry-after')).toBeTruthy();
    const [kept] = await env.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM imports WHERE filename = $1',
      ['DOWN.json'],
    );
    expect(kept?.n).toBe(0);
  } finally {
    server.close();
    server.closeAllConnections();
    await connection.close().catch(() => undefined);
  }
}, 120_000);

it('resumes a job whose workflow was ended by hand: the pending rows are done once, the rest kept', async () => {
  const worker = await spawnWorker(env);
  const res = await env.http(env.users.sam, 'POST', '/api/imports', document('RES', 80));
  expect(res.status).toBe(202);
  const id: string = res.body.id;
  await eventually(
    async () => (await env.http(env.users.sam, 'GET', `/api/imports/${id}`)).body.processed >= 5,
    60_000,
    'the first rows',
  );
  await env.client.workflow.getHandle(`import-${id}`).terminate('ended by an operator');
  const stopped = (await env.http(env.users.sam, 'GET', `/api/imports/${id}`)).body;
  expect(stopped.status).toBe('running');
  expect(stopped.processed).toBeLessThan(80);

  const resumed = await env.http(env.users.sam, 'POST', `/api/imports/${id}/resume?wait=true`, {});
  expect(resumed.status).toBe(202);
  expect(resumed.body).toMatchObject({
    status: 'completed',
    processed: 80,
    created: 80,
    failed: 0,
    unchanged: 0,
  });
  expect(await casesPerKey('RES')).toEqual(Array(80).fill(1));
  // A resume of a finished job changes nothing and answers it finished.
  const again = await env.http(env.users.sam, 'POST', `/api/imports/${id}/resume?wait=true`, {});
  expect(again.body).toMatchObject({ status: 'completed', processed: 80, created: 80 });
  await kill(worker);
}, 180_000);
