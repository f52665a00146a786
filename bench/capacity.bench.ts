/**
 * `npm run bench -- capacity` (issue 16): how the product holds up as open cases pile up. It starts
 * long-lived opportunities (the shipped definition: every case waits at a human step with a due date)
 * through the API until CAPACITY_SIZES open cases (default 1,000, 10,000, 50,000, 100,000), and at each
 * size measures, with the worker's cache bounded by CAPACITY_CACHED_WORKFLOWS (default 2,000):
 *  - the worker process's RSS (from /proc), against the 1.5 GB target;
 *  - Postgres disk per open case: the app's database, and Temporal's (cluster tier only: its own server);
 *  - case start, task completion and inbox p99 (CAPACITY_SAMPLES each, default 100), and each against
 *    the first size's figure (target within 1.5x).
 * Run it on the cluster tier: BENCH_TEMPORAL=cluster npm run bench -- capacity. It is not part of a bare
 * `npm run bench` (100,000 cases take the better part of an hour here).
 */
import fs from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import { scoped, shippedDefinition, startTestEnv, workflowBundle } from '../test/support/env';
import { inBatches } from '../test/support/matrix';
import { spawnProcess, stopProcess } from '../test/support/processes';
import { spawnApi } from './api-process';
import type { BenchResult } from './run';
import { ms, percentile } from './stats';

const SIZES = (process.env.CAPACITY_SIZES ?? '1000,10000,50000,100000')
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((n) => Number.isInteger(n) && n > 0)
  .sort((a, b) => a - b);
const SAMPLES = Number(process.env.CAPACITY_SAMPLES ?? 100);
const CACHED = Number(process.env.CAPACITY_CACHED_WORKFLOWS ?? 2000);
const START_CONCURRENCY = 16;

/** Resident memory of a process in MB, from /proc/<pid>/status. */
function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export default async function capacityBench(): Promise<BenchResult> {
  if (SIZES.length === 0) throw new Error('CAPACITY_SIZES names no size');
  const env = await startTestEnv({ worker: false });
  const children: ChildProcess[] = [];
  const temporalDbUrl = process.env.BENCH_TEMPORAL_DATABASE_URL;
  const temporalDb = temporalDbUrl ? new pg.Pool({ connectionString: temporalDbUrl, max: 1 }) : undefined;
  try {
    const bundle = await workflowBundle();
    const worker = await spawnProcess(
      'test/support/worker-process.ts',
      {
        TASK_QUEUE: env.taskQueue,
        SMTP_PORT: String(env.sink.port),
        WORKFLOW_BUNDLE: bundle.codePath,
        MAX_CACHED_WORKFLOWS: String(CACHED),
      },
      { stdout: 'ready' },
    );
    children.push(worker);
    const api = await spawnApi(env);
    children.push(api.child);
    const caseType = await env.publish(scoped(shippedDefinition('opportunity'), env.prefix));
    const token = env.users.alice.token;
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(api.url + path, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const json = (await res.json()) as Record<string, unknown>;
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    };
    /** Starts a case and returns its first task (identify-needs). */
    const start = async (n: number): Promise<string> => {
      const body = await call('POST', '/api/cases', { caseType, data: { subject: `capacity ${n}` } });
      return (body.tasks as { id: string }[])[0]?.id as string;
    };
    const appDisk = async () =>
      Number(
        (await env.db.query<{ b: string }>('SELECT pg_database_size(current_database())::text AS b'))[0]?.b,
      );
    const temporalDisk = async () =>
      temporalDb
        ? Number(
            (
              await temporalDb.query<{ b: string }>(
                `SELECT sum(pg_database_size(datname))::text AS b FROM pg_database
                 WHERE datname IN ('temporal', 'temporal_visibility')`,
              )
            ).rows[0]?.b,
          )
        : NaN;
    const [app0, temporal0] = [await appDisk(), await temporalDisk()];

    const figures: Record<string, number | string> = {};
    const notes: string[] = [
      `Temporal: ${process.env.BENCH_TEMPORAL === 'cluster' ? 'cluster (4 services on PostgreSQL)' : 'CLI dev server (Temporal disk not measured)'}; worker cache ${CACHED} workflows; ${SAMPLES} samples per p99`,
    ];
    const open: string[] = []; // first tasks of cases not yet touched by a completion sample
    let started = 0;
    let first: { start: number; complete: number; inbox: number } | undefined;
    for (const size of SIZES) {
      const t0 = performance.now();
      const todo = [...Array(Math.max(0, size - started - SAMPLES)).keys()];
      await inBatches(todo, START_CONCURRENCY, async () => {
        open.push(await start(started++));
      });
      const rate = todo.length / ((performance.now() - t0) / 1000);
      // Timed samples; the starts count towards the size.
      const starts: number[] = [];
      for (let i = 0; i < SAMPLES; i++)
        starts.push(
          await timed(async () => {
            open.push(await start(started++));
          }),
        );
      const completes: number[] = [];
      for (let i = 0; i < SAMPLES && open.length > 0; i++) {
        const taskId = open.splice(Math.floor(Math.random() * open.length), 1)[0] as string;
        completes.push(
          await timed(async () => {
            await call('POST', `/api/tasks/${taskId}/complete`, { outcome: 'interested' });
          }),
        );
      }
      const inbox: number[] = [];
      for (let i = 0; i < SAMPLES; i++)
        inbox.push(await timed(async () => void (await call('GET', '/api/inbox?limit=50'))));
      const p99 = {
        start: percentile(starts, 99),
        complete: percentile(completes, 99),
        inbox: percentile(inbox, 99),
      };
      first ??= p99;
      const label = `${size.toLocaleString('en')} open cases`;
      figures[`${label}: worker RSS MB (target < 1536)`] = ms(rssMb(worker.pid as number));
      figures[`${label}: starts/s while filling`] = ms(rate);
      figures[`${label}: app Postgres KB per open case`] = ms(((await appDisk()) - app0) / 1024 / started);
      figures[`${label}: Temporal Postgres KB per open case`] = temporalDb
        ? ms(((await temporalDisk()) - temporal0) / 1024 / started)
        : 'n/a';
      figures[`${label}: case start p99 ms (x first size)`] =
        `${ms(p99.start)} (${ms(p99.start / first.start)}x)`;
      figures[`${label}: task completion p99 ms (x first size)`] =
        `${ms(p99.complete)} (${ms(p99.complete / first.complete)}x)`;
      figures[`${label}: inbox p99 ms (x first size)`] = `${ms(p99.inbox)} (${ms(p99.inbox / first.inbox)}x)`;
      console.log(`  [capacity] ${label}: ${JSON.stringify(p99)}`);
    }
    return { name: 'Capacity: open cases on one worker', figures, notes };
  } finally {
    for (const child of children) await stopProcess(child);
    await temporalDb?.end();
    await env.stop();
  }
}
