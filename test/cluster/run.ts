/**
 * `npm run test:cluster`: our workers and APIs on the real Temporal server (frontend, history, matching and
 * worker services as separate processes, 4 history shards, PostgreSQL persistence), under a steady load and
 * a sequence of faults: kill -9 a worker, kill -9 an API, kill -9 and restart the history service, restart
 * Postgres. Then every case and task is checked against its workflow, and the counts are printed.
 * Not part of `jest`: it needs a Go toolchain (first run builds the server) and a few minutes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Connection, Client } from '@temporalio/client';
import { issueToken } from '../../api/auth';
import { createDb, type Db } from '../../db';
import { migrate } from '../../db/migrate';
import { publishDefinition } from '../../db/definitions';
import type { CaseTypeDefinition } from '../../engine/types';
import type { CaseState } from '../../engine/state';
import { loadConfig } from '../../lib/config';
import { canConnect, freePort } from '../../infra/ports';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../infra/postgres';
import { startSmtpSink } from '../../infra/smtp-sink';
import { resolveTemporalServer } from '../../infra/temporal-cluster-build';
import { startProjectCluster, type TemporalCluster } from '../../infra/temporal-cluster';

const ROOT = path.resolve(__dirname, '../..');
const LOAD_SECONDS = Number(process.env.CLUSTER_LOAD_SECONDS ?? 75);
const CLIENTS_PER_API = 2;
const NAMESPACE = 'default';
const TASK_QUEUE = 'crm-cluster';
const started = Date.now();
const log = (msg: string): void =>
  console.log(`[cluster ${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);

interface Counts {
  casesStarted: number;
  tasksCompleted: number;
  status: Record<string, number>;
  connectionErrors: number;
  retryAfter503: number;
  bad503: number;
  server500: number;
  other: Record<string, number>;
}
const counts: Counts = {
  casesStarted: 0,
  tasksCompleted: 0,
  status: {},
  connectionErrors: 0,
  retryAfter503: 0,
  bad503: 0,
  server500: 0,
  other: {},
};

function definition(team: string): CaseTypeDefinition {
  return {
    dslVersion: '1',
    id: 'cluster-review',
    version: '1',
    name: 'Cluster review',
    statuses: [
      { code: 'OPEN', name: 'Open', category: 'open' },
      { code: 'CHECKED', name: 'Checked', category: 'open' },
      { code: 'DONE', name: 'Done', category: 'closed' },
    ],
    initialStatus: 'OPEN',
    start: 'check',
    steps: {
      check: {
        type: 'human',
        action: 'task',
        title: 'Check',
        assign: { team },
        outcomes: { ok: { status: 'CHECKED', next: 'approve' } },
      },
      approve: {
        type: 'human',
        action: 'task',
        title: 'Approve',
        assign: { team },
        outcomes: { ok: { status: 'DONE', end: true } },
      },
    },
    emailRules: [{ id: 'done', on: { statusEntered: 'DONE' }, template: 'case-status', to: ['owner'] }],
  } as CaseTypeDefinition;
}

async function main(): Promise<void> {
  const config = loadConfig();
  const binaries = await resolveTemporalServer({ cacheDir: config.cacheDir, log });
  log(`temporal server: ${binaries.source} (${binaries.server})`);
  const workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'crm-cluster-'));
  const pgPort = await freePort();
  const pgDir = path.join(workDir, 'pg');
  const startPg = (): Promise<EmbeddedPostgres> =>
    startEmbeddedPostgres({
      dataDir: pgDir,
      port: pgPort,
      log,
      database: 'crm',
      settings: ['max_connections=300'],
    });
  let postgres = await startPg();
  const children: ChildProcess[] = [];
  let cluster: TemporalCluster | undefined;
  const sink = await startSmtpSink({ port: 0, host: '127.0.0.1' });
  let db: Db | undefined;
  let connection: Connection | undefined;
  try {
    cluster = await startProjectCluster({
      binaries,
      postgresUrl: postgres.url,
      workDir: path.join(workDir, 'temporal'),
      namespace: NAMESPACE,
      log,
    });
    log(`cluster up at ${cluster.address}; logs in ${path.join(workDir, 'temporal')}`);

    db = createDb(postgres.url);
    await migrate(db);
    const prefix = `c${randomBytes(3).toString('hex')}`;
    const team = `${prefix}-team`;
    const userId = `${prefix}-agent`;
    await db.query(`INSERT INTO users (id, name, email, role) VALUES ($1, 'Agent', $2, 'agent')`, [
      userId,
      `agent.${prefix}@example.com`,
    ]);
    await db.query(`INSERT INTO teams (id, name) VALUES ($1, 'cluster')`, [team]);
    await db.query('INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)', [team, userId]);
    const { token } = await issueToken(db, userId, 'cluster');
    await publishDefinition(db, definition(team), randomBytes(16).toString('hex'));

    const common = {
      TEMPORAL_ADDRESS: cluster.address,
      TEMPORAL_NAMESPACE: NAMESPACE,
      DATABASE_URL: postgres.url,
      SMTP_URL: `smtp://127.0.0.1:${sink.port}`,
      TASK_QUEUE,
      LOG_LEVEL: 'warn',
    };
    const spawnNode = async (script: string, env: Record<string, string>, ready: () => Promise<boolean>) => {
      const child = spawn(process.execPath, ['--import', 'tsx', script], {
        cwd: ROOT,
        env: { ...process.env, ...common, ...env },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      children.push(child);
      const deadline = Date.now() + 120_000;
      while (!(await ready())) {
        if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}`);
        if (Date.now() > deadline) throw new Error(`${script} not ready within 120 s`);
        await sleep(250);
      }
      return child;
    };
    const workers: ChildProcess[] = [];
    for (let i = 0; i < 2; i++) {
      const opsPort = await freePort();
      workers.push(
        await spawnNode('worker/main.ts', { WORKER_OPS_PORT: String(opsPort) }, () => canConnect(opsPort)),
      );
      log(`worker ${i + 1} up (pid ${workers[i]?.pid})`);
    }
    const apiPorts = [await freePort(), await freePort()];
    const apis: ChildProcess[] = [];
    for (const port of apiPorts) {
      apis.push(await spawnNode('api/main.ts', { PORT: String(port) }, () => canConnect(port)));
      log(`API up on ${port}`);
    }

    const caseIds = new Set<string>();
    const stopAt = Date.now() + LOAD_SECONDS * 1000;
    const alive = [true, true];
    const clientLoop = async (api: number): Promise<void> => {
      while (Date.now() < stopAt) {
        const caseId = await call(apiPorts, alive, api, token, 'POST', '/api/cases', {
          caseType: 'cluster-review',
          data: {},
        }).then((b) => (b as { id?: string } | undefined)?.id);
        if (!caseId) continue;
        caseIds.add(caseId);
        counts.casesStarted += 1;
        for (let step = 0; step < 2 && Date.now() < stopAt + 60_000; step++) {
          const taskId = await openTask(apiPorts, alive, api, token, caseId);
          if (!taskId) break;
          const done = await call(apiPorts, alive, api, token, 'POST', `/api/tasks/${taskId}/complete`, {
            outcome: 'ok',
          });
          if (done) counts.tasksCompleted += 1;
        }
      }
    };
    const load = Promise.all(
      [0, 1].flatMap((api) => Array.from({ length: CLIENTS_PER_API }, () => clientLoop(api))),
    );

    const faults: string[] = [];
    const at = async (fraction: number, what: string, fn: () => Promise<void>): Promise<void> => {
      const when = stopAt - LOAD_SECONDS * 1000 * (1 - fraction);
      await sleep(Math.max(0, when - Date.now()));
      log(`fault: ${what} (${counts.casesStarted} cases, ${counts.tasksCompleted} completions so far)`);
      await fn();
      faults.push(what);
    };
    await at(0.15, 'kill -9 worker 1', async () => {
      workers[0]?.kill('SIGKILL');
    });
    await at(0.3, 'kill -9 API 1', async () => {
      alive[0] = false;
      apis[0]?.kill('SIGKILL');
    });
    await at(0.45, 'kill -9 the history service, then restart it', async () => {
      await cluster!.kill('history');
      await sleep(2000);
      await cluster!.start('history');
    });
    await at(0.65, 'restart Postgres (fast shutdown, start again)', async () => {
      await postgres.stop();
      await sleep(2000);
      postgres = await startPg();
    });
    await load;
    log(`load done: ${counts.casesStarted} cases started, ${counts.tasksCompleted} completions`);

    // Checks: every case the API answered 201 for is in its workflow and in the read model alike.
    connection = await Connection.connect({ address: cluster.address });
    const client = new Client({ connection, namespace: NAMESPACE });
    const failures: string[] = [];
    let checked = 0;
    let doneCases = 0;
    const deadline = Date.now() + 120_000;
    for (const caseId of caseIds) {
      // The read model follows the workflow; give it a bounded time to catch up.
      for (;;) {
        const state = await client.workflow.getHandle(caseId).query<CaseState>('state');
        const [row] = await db.query<{ status: string }>('SELECT status FROM cases WHERE id = $1', [caseId]);
        const tasks = await db.query<{ id: string; status: string; step: string | null }>(
          'SELECT id, status, step FROM tasks WHERE case_id = $1 ORDER BY id',
          [caseId],
        );
        const wfTasks = Object.values(state.tasks)
          .map((t) => `${t.id}:${t.status}`)
          .sort();
        const dbTasks = tasks.map((t) => `${t.id}:${t.status}`).sort();
        const steps = tasks.map((t) => t.step);
        const problems: string[] = [];
        if (row?.status !== state.status)
          problems.push(`status ${row?.status} in Postgres, ${state.status} in workflow`);
        if (wfTasks.join() !== dbTasks.join())
          problems.push(`tasks ${dbTasks.join()} in Postgres, ${wfTasks.join()} in workflow`);
        if (new Set(steps).size !== steps.length) problems.push(`a step has two tasks: ${steps.join()}`);
        if (problems.length === 0) {
          if (state.status === 'DONE') doneCases += 1;
          break;
        }
        if (Date.now() > deadline) {
          failures.push(`${caseId}: ${problems.join('; ')}`);
          break;
        }
        await sleep(500);
      }
      checked += 1;
    }
    // Emails: exactly one per case that reached DONE, none twice.
    await sleep(5000);
    const mails = sink.messages().filter((m) => m.to.includes(`agent.${prefix}@example.com`));
    const perCase = new Map<string, number>();
    for (const m of mails) {
      const id = [...caseIds].find((c) => m.raw.includes(c)) ?? m.messageId;
      perCase.set(id, (perCase.get(id) ?? 0) + 1);
    }
    // The one documented re-delivery window (docs/email.md): the SMTP server accepted the message but
    // recording that failed (here: Postgres restarting), so the next attempt re-sent the stored message,
    // with the same Message-ID, and marked its outbox row `redelivered`. Counted apart; any other
    // duplicate fails.
    let windowRedeliveries = 0;
    let twice = 0;
    for (const [caseId, n] of perCase) {
      if (n <= 1) continue;
      const sameId = new Set(mails.filter((m) => m.raw.includes(caseId)).map((m) => m.messageId)).size === 1;
      const [row] = await db.query<{ redelivered: boolean }>(
        'SELECT bool_or(redelivered) AS redelivered FROM email_outbox WHERE case_id = $1',
        [caseId],
      );
      if (n === 2 && sameId && row?.redelivered) windowRedeliveries += 1;
      else twice += 1;
    }
    if (twice > 0) failures.push(`${twice} cases got the DONE email more than once`);
    if (mails.length !== doneCases + windowRedeliveries)
      failures.push(
        `${mails.length} emails for ${doneCases} DONE cases (${windowRedeliveries} re-deliveries)`,
      );
    if (counts.server500 > 0) failures.push(`${counts.server500} answers were 500`);
    if (counts.bad503 > 0) failures.push(`${counts.bad503} answers were 503 without Retry-After`);
    if (Object.keys(counts.other).length > 0)
      failures.push(`unexpected answers: ${JSON.stringify(counts.other)}`);

    console.log('');
    console.log('Cluster test tier');
    console.log(`  faults: ${faults.join('; ')}`);
    console.log(`  cases started: ${counts.casesStarted}, checked: ${checked}, DONE: ${doneCases}`);
    console.log(`  task completions: ${counts.tasksCompleted}`);
    console.log(
      `  emails: ${mails.length}, sent twice: ${twice}, re-delivered in the documented window: ${windowRedeliveries}`,
    );
    console.log(
      `  client errors: 503 with Retry-After ${counts.retryAfter503}, 503 without ${counts.bad503}, ` +
        `500 ${counts.server500}, connection errors ${counts.connectionErrors}`,
    );
    console.log(`  statuses: ${JSON.stringify(counts.status)}`);
    for (const f of failures.slice(0, 30)) console.log(`  FAIL ${f}`);
    const passed = failures.length === 0 ? 1 : 0;
    console.log(`${passed} passed, ${1 - passed} failed`);
    process.exitCode = passed ? 0 : 1;
  } finally {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await connection?.close().catch(() => undefined);
    await db?.close().catch(() => undefined);
    await cluster?.stop().catch(() => undefined);
    await sink.stop();
    await postgres.stop();
    if (!process.env.CLUSTER_KEEP) await fs.rm(workDir, { recursive: true, force: true });
  }
}

/** The open task of a case, polled: the task appears once the workflow has run its step. */
async function openTask(
  ports: number[],
  alive: boolean[],
  api: number,
  token: string,
  caseId: string,
): Promise<string | undefined> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const body = (await call(ports, alive, api, token, 'GET', `/api/cases/${caseId}`)) as
      { status?: string; tasks?: { id: string; status: string }[] } | undefined;
    const open = body?.tasks?.find((t) => t.status === 'open');
    if (open) return open.id;
    if (body?.status === 'DONE') return undefined;
    await sleep(200);
  }
  return undefined;
}

/**
 * One HTTP call with retries: a 503 must carry Retry-After and is retried after it; a connection error
 * is retried on the other API. Same Idempotency-Key on every attempt. Returns the body of a 2xx.
 */
async function call(
  ports: number[],
  alive: boolean[],
  api: number,
  token: string,
  method: string,
  url: string,
  body?: unknown,
): Promise<unknown> {
  const key = randomUUID();
  let current = alive[api] ? api : 1 - api;
  for (let attempt = 0; attempt < 40; attempt++) {
    let res: Response;
    try {
      res = await fetch(`http://127.0.0.1:${ports[current]}${url}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined ? { 'content-type': 'application/json', 'idempotency-key': key } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch {
      counts.connectionErrors += 1;
      current = alive[1 - current] ? 1 - current : current;
      await sleep(500);
      continue;
    }
    counts.status[res.status] = (counts.status[res.status] ?? 0) + 1;
    const text = await res.text();
    if (res.ok) return text ? (JSON.parse(text) as unknown) : {};
    if (res.status === 503) {
      const retryAfter = Number(res.headers.get('retry-after'));
      if (!res.headers.get('retry-after') || !Number.isFinite(retryAfter)) counts.bad503 += 1;
      else counts.retryAfter503 += 1;
      await sleep(Math.min(Math.max(retryAfter, 0.2), 5) * 1000);
      continue;
    }
    if (res.status >= 500) counts.server500 += 1;
    // A completion retried after its first attempt went through finds the task closed: that is fine.
    if (res.status === 409 && url.endsWith('/complete') && attempt > 0) return undefined;
    const what = `${method} ${url.replace(/\/[\w-]{8,}/g, '/:id')} ${res.status}`;
    counts.other[what] = (counts.other[what] ?? 0) + 1;
    if (res.status >= 500) console.log(`  ${what}: ${text.slice(0, 300)}`);
    return undefined;
  }
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

main().catch((err: unknown) => {
  console.error(err);
  console.log('0 passed, 1 failed');
  process.exitCode = 1;
});
