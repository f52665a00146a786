/**
 * Our engine next to Flowable 7.2 on the same machine, PostgreSQL server and SMTP sink, driven by the same
 * load generator through each one's HTTP API: the shipped `opportunity` case type (BPMN 2.0 for Flowable,
 * bench/peers/flowable/src/main/resources), start, claim and complete three tasks, the WON email received.
 * Per engine: cases/s at saturation and per CPU second, claim and complete latency at half that rate, the
 * inbox at a seeded task count, memory, and the rows and bytes each keeps per finished case.
 * Flags (environment): PEERS_CASES (cases per saturation round), PEERS_INBOX_TASKS (seeded tasks, a
 * multiple of 4), PEERS_PROFILE=<dir> (a --cpu-prof of the API and worker, a JFR recording of Flowable).
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { issueToken } from '../api/auth';
import type { Db } from '../db';
import { TEST_ENV_KEY, type TestEnvHandles } from '../test/global-teardown';
import { scoped, shippedDefinition, startTestEnv, workflowBundle, type TestEnv } from '../test/support/env';
import { inBatches } from '../test/support/matrix';
import { spawnProcess, stopProcess } from '../test/support/processes';
import { spawnApi } from './api-process';
import { seed, TASKS_PER_CASE, USERS } from './inbox.bench';
import { buildFlowable, javaVersion, missingTools, seedFlowableUsers, startFlowable } from './peers/flowable';
import { seedFlowableInbox } from './peers/flowable-seed';
import { cpuByPid, cpuDelta, cpuSince, postgresPids, rssMiB } from './proc';
import type { BenchResult } from './run';
import { ms, percentile } from './stats';

const CASES = Number(process.env.PEERS_CASES ?? 150);
const CONCURRENCY = [8, 16, 32];
const STEADY_SECONDS = Number(process.env.PEERS_STEADY_SECONDS ?? 20);
const INBOX_TASKS = Number(process.env.PEERS_INBOX_TASKS ?? 1_000_000);
const INBOX_REQUESTS = 1000;
const SAMPLE_AGENTS = 300;
const PROFILE_DIR = process.env.PEERS_PROFILE;
const MAIL_TIMEOUT_MS = 120_000;
const OUTCOMES = ['interested', 'presented', 'won'] as const;

/** One engine as the load generator sees it: its HTTP API, and the processes that make it up. */
interface Peer {
  name: string;
  /** Starts a case; answers its id and first task. */
  start(subject: string): Promise<{ caseId: string; taskId: string }>;
  claim(taskId: string): Promise<void>;
  complete(taskId: string, outcome: string): Promise<void>;
  /** The case's open task. */
  openTask(caseId: string): Promise<string>;
  /** A seeded agent's inbox (first page of 50 with its counts or total): the number of items. */
  inbox(agent: number): Promise<number>;
  /** The engine's own processes by name (Postgres is counted apart). */
  processes(): Record<string, number>;
  /** Rows and bytes kept for these finished cases, by table. */
  footprint(caseIds: string[]): Promise<Record<string, { rows: number; bytes: number }>>;
  /** The size of the engine's database(s). */
  databaseBytes(): Promise<number>;
}

interface Reply {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  ms: number;
}

/** Start, claim and complete: the same JSON in and out on both engines' APIs, as alice. */
function caseActions(
  call: ReturnType<typeof client>,
  caseType: string,
): Pick<Peer, 'start' | 'claim' | 'complete'> {
  return {
    async start(subject: string) {
      const res = expect(
        await call('alice', 'POST', '/api/cases', { caseType, data: { subject } }),
        201,
        'start',
      );
      return { caseId: res.body.id as string, taskId: res.body.tasks[0].id as string };
    },
    async claim(taskId: string) {
      expect(await call('alice', 'POST', `/api/tasks/${taskId}/claim`, {}), 200, 'claim');
    },
    async complete(taskId: string, outcome: string) {
      expect(await call('alice', 'POST', `/api/tasks/${taskId}/complete`, { outcome }), 200, 'complete');
    },
  };
}

/** The load generator's client: node:http with kept-alive connections, JSON in and out. */
function client(baseUrl: string, headers: (who: string) => Record<string, string>) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  return (who: string, method: string, url: string, body?: unknown): Promise<Reply> => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const req = http.request(
        baseUrl + url,
        {
          method,
          agent,
          headers: {
            ...headers(who),
            ...(payload
              ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
              : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const elapsed = performance.now() - started;
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {}, ms: elapsed });
            } catch (err) {
              reject(err instanceof Error ? err : new Error(String(err)));
            }
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  };
}

function expect(reply: Reply, status: number, what: string): Reply {
  if (reply.status !== status) throw new Error(`${what}: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply;
}

/** Rows and bytes (pg_column_size of the rows, without indexes) in each table with `column` among `ids`. */
async function rowsByTable(
  db: Db,
  column: string,
  ids: string[],
  extra: [string, string][] = [],
): Promise<Record<string, { rows: number; bytes: number }>> {
  const tables = await db.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.columns
     WHERE table_schema = 'public' AND column_name = $1 ORDER BY table_name`,
    [column],
  );
  const out: Record<string, { rows: number; bytes: number }> = {};
  for (const [table, col] of [...tables.map((t) => [t.table_name, column] as [string, string]), ...extra]) {
    const [row] = await db.query<{ rows: number; bytes: string | null }>(
      `SELECT count(*)::int AS rows, sum(pg_column_size(t.*))::bigint AS bytes FROM "${table}" t WHERE "${col}" = ANY($1)`,
      [ids],
    );
    if (row && row.rows > 0)
      out[table] = { rows: row.rows / ids.length, bytes: Number(row.bytes) / ids.length };
  }
  return out;
}

async function databaseBytes(db: Db): Promise<number> {
  const [row] = await db.query<{ bytes: string }>('SELECT pg_database_size(current_database()) AS bytes');
  return Number(row?.bytes ?? 0);
}

function ourPeer(
  env: TestEnv,
  apiUrl: string,
  caseType: string,
  processes: () => Record<string, number>,
): Peer {
  const tokens = new Map<string, string>([['alice', env.users.alice.token]]);
  const call = client(apiUrl, (who) => ({ authorization: `Bearer ${tokens.get(who) ?? who}` }));
  return {
    name: 'ours',
    ...caseActions(call, caseType),
    async openTask(caseId) {
      const res = expect(await call('alice', 'GET', `/api/cases/${caseId}`), 200, 'case');
      const open = (res.body.tasks as { id: string; status: string }[]).find((t) => t.status === 'open');
      if (!open) throw new Error(`case ${caseId} has no open task`);
      return open.id;
    },
    async inbox(agent) {
      let token = tokens.get(`bu-${agent}`);
      if (!token) {
        token = (await issueToken(env.db, `bu-${agent}`, 'bench')).token;
        tokens.set(`bu-${agent}`, token);
      }
      const res = expect(await call(token, 'GET', '/api/inbox'), 200, 'inbox');
      return (res.body.items as unknown[]).length;
    },
    processes,
    async footprint(caseIds) {
      const rows = await rowsByTable(env.db, 'case_id', caseIds, [['cases', 'id']]);
      // Temporal's history of each case workflow, as the server returns it (protobuf bytes).
      let events = 0;
      let bytes = 0;
      for (const id of caseIds) {
        const history = await env.client.workflow.getHandle(id).fetchHistory();
        events += history.events?.length ?? 0;
        bytes += temporal.api.history.v1.History.encode(history).finish().length;
      }
      rows['temporal history (events)'] = { rows: events / caseIds.length, bytes: bytes / caseIds.length };
      return rows;
    },
    databaseBytes: () => databaseBytes(env.db),
  };
}

function flowablePeer(url: string, db: Db, processes: () => Record<string, number>, alice: string): Peer {
  const call = client(url, (who) => ({ 'x-user': who === 'alice' ? alice : who }));
  return {
    name: 'Flowable',
    ...caseActions(call, 'opportunity'),
    async openTask(caseId) {
      const res = expect(await call('alice', 'GET', `/api/cases/${caseId}`), 200, 'case');
      const open = (res.body.tasks as { id: string }[])[0];
      if (!open) throw new Error(`case ${caseId} has no open task`);
      return open.id;
    },
    async inbox(agent) {
      const res = expect(await call(`bu-${agent}`, 'GET', '/api/inbox'), 200, 'inbox');
      return (res.body.items as unknown[]).length;
    },
    processes,
    footprint: (caseIds) => rowsByTable(db, 'proc_inst_id_', caseIds),
    databaseBytes: () => databaseBytes(db),
  };
}

interface Samples {
  claim: number[];
  complete: number[];
}

/** One whole case: start, then claim and complete each of the three tasks, until the WON email arrives. */
async function runCase(env: TestEnv, peer: Peer, subject: string, samples?: Samples): Promise<string> {
  const mail = env.sink.waitFor((m) => m.subject.includes(subject), MAIL_TIMEOUT_MS);
  const { caseId, taskId } = await peer.start(subject);
  let task = taskId;
  for (const outcome of OUTCOMES) {
    let t0 = performance.now();
    await peer.claim(task);
    samples?.claim.push(performance.now() - t0);
    t0 = performance.now();
    await peer.complete(task, outcome);
    samples?.complete.push(performance.now() - t0);
    if (outcome !== 'won') task = await peer.openTask(caseId);
  }
  await mail;
  return caseId;
}

interface Round {
  rate: number;
  wall: number;
  cpuEngine: number;
  /** CPU seconds of each of the engine's processes. */
  cpuByProcess: Record<string, number>;
  cpuPostgres: number;
  caseIds: string[];
}

/** `count` whole cases with `concurrency` in flight: cases/s from the first start to the last email. */
async function saturate(
  env: TestEnv,
  peer: Peer,
  tag: string,
  count: number,
  concurrency: number,
): Promise<Round> {
  const pg = await postgresPids(env.db);
  const processes = peer.processes();
  const engine = Object.values(processes);
  const before = { engine: cpuByPid(engine), pg: cpuByPid(pg) };
  const started = performance.now();
  const caseIds = await inBatches([...Array(count).keys()], concurrency, (i) =>
    runCase(env, peer, `${tag}-${i}`),
  );
  const wall = (performance.now() - started) / 1000;
  const after = cpuByPid(engine);
  return {
    rate: count / wall,
    wall,
    cpuEngine: cpuDelta(before.engine, after),
    cpuByProcess: Object.fromEntries(
      Object.entries(processes).map(([name, pid]) => [
        name,
        (after.get(pid) ?? 0) - (before.engine.get(pid) ?? 0),
      ]),
    ),
    cpuPostgres: cpuSince(before.pg, cpuByPid(await postgresPids(env.db))),
    caseIds,
  };
}

/** Cases arriving at `rate` per second for STEADY_SECONDS, whatever earlier ones are doing. */
async function steady(env: TestEnv, peer: Peer, tag: string, rate: number): Promise<Samples> {
  const samples: Samples = { claim: [], complete: [] };
  const count = Math.max(10, Math.round(rate * STEADY_SECONDS));
  const started = performance.now();
  await Promise.all(
    [...Array(count).keys()].map(async (i) => {
      const wait = started + (i * 1000) / rate - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      await runCase(env, peer, `${tag}-${i}`, samples);
    }),
  );
  return samples;
}

const pct = (samples: number[]) => `${ms(percentile(samples, 50))} / ${ms(percentile(samples, 99))}`;
const settle = () => new Promise((resolve) => setTimeout(resolve, 2000));
const log = (line: string) => process.stdout.write(`  [peers] ${line}\n`);

export default async function peersBench(): Promise<BenchResult> {
  const missing = missingTools();
  if (missing) {
    log(`SKIPPED: ${missing}; the peers bench needs Java 17+ and Maven to build and run Flowable`);
    return { name: 'peers (skipped)', figures: { skipped: missing } };
  }
  buildFlowable(log);
  if (PROFILE_DIR) fs.mkdirSync(PROFILE_DIR, { recursive: true });
  const env = await startTestEnv({ worker: false });
  const children: ChildProcess[] = [];
  const handles = (globalThis as Record<string, unknown>)[TEST_ENV_KEY] as TestEnvHandles | undefined;
  const serverUrl = process.env.TEST_DATABASE_URL as string;
  const flowable = await startFlowable({
    serverUrl,
    name: `flowable_${env.prefix}`,
    smtpPort: env.sink.port,
    ...(PROFILE_DIR ? { jfr: path.resolve(PROFILE_DIR, 'flowable.jfr') } : {}),
  });
  try {
    // Node's --cpu-prof writes a profile per process when it exits (the API and the worker exit on SIGTERM).
    const nodeOptions: Record<string, string> = PROFILE_DIR
      ? { NODE_CLI_ARGS: `--cpu-prof --cpu-prof-dir=${path.resolve(PROFILE_DIR)}` }
      : {};
    const bundle = await workflowBundle();
    const worker = await spawnProcess(
      'test/support/worker-process.ts',
      {
        TASK_QUEUE: env.taskQueue,
        SMTP_PORT: String(env.sink.port),
        WORKFLOW_BUNDLE: bundle.codePath,
        ...nodeOptions,
      },
      { stdout: 'ready' },
    );
    children.push(worker);
    const api = await spawnApi(env, nodeOptions);
    children.push(api.child);
    const caseType = await env.publish(scoped(shippedDefinition('opportunity'), env.prefix));
    const ourProcesses = () =>
      Object.fromEntries(
        Object.entries({
          API: api.child.pid,
          worker: worker.pid,
          'Temporal dev server': handles?.temporal?.pid,
        }).filter((e): e is [string, number] => e[1] !== undefined),
      );
    await seedFlowableUsers(flowable.db, [
      {
        id: env.users.alice.id,
        name: `Alice ${env.prefix}`,
        email: `alice.${env.prefix}@example.com`,
        groups: ['sales'],
        supervisorEmail: `sam.${env.prefix}@example.com`,
      },
    ]);
    const peers = [
      ourPeer(env, api.url, caseType, ourProcesses),
      flowablePeer(
        flowable.url,
        flowable.db,
        () => ({ JVM: flowable.child.pid as number }),
        env.users.alice.id,
      ),
    ];
    const figures: Record<string, number | string> = {};
    const notes: string[] = [
      `machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB; ` +
        `Node ${process.version}; ${javaVersion()}; Flowable 7.2.0`,
    ];

    // Warm-up: JIT and pools of both, then each engine alone at each concurrency, alternating which goes first.
    for (const peer of peers)
      await inBatches([...Array(30).keys()], 8, (i) => runCase(env, peer, `warm-${peer.name}-${i}`));
    const best = new Map<string, Round>();
    const dbBefore = new Map<string, number>();
    for (const peer of peers) dbBefore.set(peer.name, await peer.databaseBytes());
    let casesRun = 0;
    for (const [round, concurrency] of CONCURRENCY.entries()) {
      for (const peer of round % 2 === 0 ? peers : [...peers].reverse()) {
        await settle();
        const result = await saturate(env, peer, `sat${round}-${peer.name}`, CASES, concurrency);
        log(
          `${peer.name} at concurrency ${concurrency}: ${ms(result.rate)} cases/s, engine CPU ${ms(result.cpuEngine)} s, Postgres ${ms(result.cpuPostgres)} s`,
        );
        figures[`${peer.name}: cases/s at concurrency ${concurrency}`] = ms(result.rate);
        if (result.rate > (best.get(peer.name)?.rate ?? 0)) best.set(peer.name, result);
        casesRun += CASES;
      }
    }
    for (const peer of peers) {
      const r = best.get(peer.name) as Round;
      const cpu = r.cpuEngine + r.cpuPostgres;
      figures[`${peer.name}: max cases/s to completion (WON email received)`] = ms(r.rate);
      figures[`${peer.name}: CPU s per case, engine + Postgres`] =
        `${ms((r.cpuEngine / CASES) * 1000) / 1000} + ${ms((r.cpuPostgres / CASES) * 1000) / 1000}`;
      figures[`${peer.name}: CPU ms per case by process`] = Object.entries(r.cpuByProcess)
        .map(([name, s]) => `${name} ${Math.round((s / CASES) * 1000)}`)
        .join(', ');
      figures[`${peer.name}: cases per CPU second (cases/s per core)`] = ms(CASES / cpu);
      figures[`${peer.name}: cores busy at max (engine + Postgres)`] = ms(cpu / r.wall);
      figures[`${peer.name}: RSS MiB of the engine's processes`] = Math.round(
        rssMiB(Object.values(peer.processes())),
      );
      const grown = (await peer.databaseBytes()) - (dbBefore.get(peer.name) ?? 0);
      figures[`${peer.name}: database growth per case, bytes (tables + indexes)`] = Math.round(
        grown / casesRun,
      );
      const footprint = await peer.footprint(r.caseIds.slice(0, 50));
      const rows = Object.values(footprint).reduce((a, b) => a + (b.rows ?? 0), 0);
      const bytes = Object.values(footprint).reduce((a, b) => a + (b.bytes ?? 0), 0);
      figures[`${peer.name}: rows / bytes kept per finished case`] = `${ms(rows)} / ${Math.round(bytes)}`;
      notes.push(
        `${peer.name} per finished case: ${Object.entries(footprint)
          .map(([t, v]) => `${t} ${ms(v.rows)} rows ${Math.round(v.bytes)} B`)
          .join(', ')}`,
      );
    }

    // Claim and complete latency with cases arriving at half of each engine's own maximum.
    for (const peer of peers) {
      await settle();
      const rate = (best.get(peer.name)?.rate ?? 2) / 2;
      const samples = await steady(env, peer, `steady-${peer.name}`, rate);
      figures[`${peer.name}: claim p50 / p99 ms at ${ms(rate)} cases/s`] = pct(samples.claim);
      figures[`${peer.name}: complete p50 / p99 ms at ${ms(rate)} cases/s`] = pct(samples.complete);
    }

    // The inbox at a seeded task count: the same users, teams and open tasks in both.
    const inboxCases = Math.round(INBOX_TASKS / TASKS_PER_CASE);
    let started = performance.now();
    const ourSeed = await seed(env.db, inboxCases);
    figures['ours: inbox seed s'] = ms((performance.now() - started) / 1000);
    started = performance.now();
    const flowableSeed = await seedFlowableInbox(flowable.db, inboxCases);
    figures['Flowable: inbox seed s'] = ms((performance.now() - started) / 1000);
    notes.push(
      `inbox seed phases (ms): ours ${JSON.stringify(ourSeed)}, Flowable ${JSON.stringify(flowableSeed)}`,
    );
    const [open] = await flowable.db.query<{ n: number }>('SELECT count(*)::int AS n FROM act_ru_task');
    figures['inbox: tasks seeded (ours) / open tasks (both)'] = `${inboxCases * TASKS_PER_CASE} / ${open?.n}`;
    const agents = Array.from({ length: SAMPLE_AGENTS }, (_, i) => {
      const n = ((i * 7919) % USERS) + 1;
      return n % 20 === 1 ? n + 1 : n;
    });
    for (const peer of peers) {
      for (const agent of agents) await peer.inbox(agent);
      const samples: number[] = [];
      let items = 0;
      for (let i = 0; i < INBOX_REQUESTS; i++) {
        const t0 = performance.now();
        items += await peer.inbox(agents[(i * 7919) % agents.length] as number);
        samples.push(performance.now() - t0);
      }
      figures[`${peer.name}: inbox p50 / p99 ms (first page of 50 + counts)`] = pct(samples);
      notes.push(`${peer.name} inbox: ${ms(items / INBOX_REQUESTS)} items per page on average`);
    }
    return { name: 'peers: ours and Flowable 7.2.0', figures, notes };
  } finally {
    for (const child of children) await stopProcess(child);
    await flowable.stop();
    await env.stop();
  }
}
