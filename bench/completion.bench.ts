/**
 * Task completion through HTTP next to a bare Temporal baseline doing the same Temporal work (a started
 * workflow, one update running one local activity, completion), in one run:
 *  - latency: 100 sequential completions (and 100 whole runs: start a case, then complete its task);
 *  - throughput: as many concurrent completions as the machine sustains (500 per measurement, 4-10 s);
 *  - latency at half of that throughput, with requests arriving at a fixed rate, twice, next to the bare
 *    baseline at the same rate.
 * Every measured phase starts SETTLE_MS after its (untimed) preparation: the baseline's preparation only
 * records workflow starts, and their first workflow tasks would otherwise still run during the timing.
 * The API, the case worker and the baseline worker each run in their own process, as in a deployment; this
 * process is the load generator and the baseline's Temporal client.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { startTestEnv, workflowBundle, type TestEnv } from '../test/support/env';
import { inBatches, workDefinition } from '../test/support/matrix';
import { BASELINE_WORKFLOW_TYPE, finishUpdate } from './baseline/messages';
import { spawnProcess, stopProcess } from '../test/support/processes';
import { spawnApi } from './api-process';
import type { BenchResult } from './run';
import { ms, percentile } from './stats';

const SEQUENTIAL = 100;
const THROUGHPUT_OPS = 500;
const CONCURRENCY = [8, 32, 16];
const STEADY_SECONDS = 12;
const SETTLE_MS = 2000;
/** BENCH_WORKERS: case worker processes on the case task queue (default 1). */
const WORKERS = Number(process.env.BENCH_WORKERS ?? 1);

const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

const spawnWorker = (script: string, extraEnv: Record<string, string>) =>
  spawnProcess(script, extraEnv, { stdout: 'ready' });

interface Subject {
  name: string;
  /** Prepares one unit of work (not timed) and returns the timed operation. */
  prepare(i: number): Promise<() => Promise<void>>;
  /** A whole run: start and complete. */
  run(i: number): Promise<void>;
}

/** Completed operations per second with `concurrency` in flight. */
async function throughput(ops: (() => Promise<void>)[], concurrency: number): Promise<number> {
  const started = performance.now();
  await inBatches(ops, concurrency, (op) => op());
  return ops.length / ((performance.now() - started) / 1000);
}

/** Latencies when operations start at `rate` per second regardless of how fast earlier ones finish. */
async function openLoop(ops: (() => Promise<void>)[], rate: number): Promise<number[]> {
  const samples: number[] = [];
  const started = performance.now();
  await Promise.all(
    ops.map(async (op, i) => {
      const due = started + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const t0 = performance.now();
      await op();
      samples.push(performance.now() - t0);
    }),
  );
  return samples;
}

/** The API's answer (status, JSON body) to one request made with `token`. */
async function call(apiUrl: string, token: string, method: string, path: string, body: unknown) {
  const res = await fetch(apiUrl + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function httpSubject(env: TestEnv, apiUrl: string, caseType: string): Subject {
  const start = async (n: string) => {
    const res = await call(apiUrl, env.users.alice.token, 'POST', '/api/cases', { caseType, data: { n } });
    if (res.status !== 201) throw new Error(`start: ${res.status} ${JSON.stringify(res.body)}`);
    return (res.body.tasks as { id: string }[])[0]?.id as string;
  };
  const complete = async (taskId: string) => {
    const res = await call(apiUrl, env.users.alice.token, 'POST', `/api/tasks/${taskId}/complete`, {
      outcome: 'close',
    });
    if (res.status !== 200) throw new Error(`complete: ${res.status} ${JSON.stringify(res.body)}`);
  };
  return {
    name: 'HTTP',
    async prepare(i) {
      const taskId = await start(`bench-${i}`);
      return () => complete(taskId);
    },
    async run(i) {
      await complete(await start(`run-${i}`));
    },
  };
}

function baselineSubject(client: Client, taskQueue: string): Subject {
  const start = (id: string) =>
    client.workflow.start(BASELINE_WORKFLOW_TYPE, { workflowId: id, taskQueue, args: [] });
  return {
    name: 'bare Temporal',
    async prepare() {
      const handle = await start(`baseline-${randomUUID()}`);
      return async () => {
        await handle.executeUpdate(finishUpdate, { args: ['x'] });
      };
    },
    async run() {
      const handle = await start(`baseline-${randomUUID()}`);
      await handle.executeUpdate(finishUpdate, { args: ['x'] });
    },
  };
}

/** Starts with an update, the way the API starts cases (update-with-start), for the whole-run baseline. */
async function baselineRunWithStart(client: Client, taskQueue: string): Promise<void> {
  const operation = new WithStartWorkflowOperation(BASELINE_WORKFLOW_TYPE, {
    workflowId: `baseline-${randomUUID()}`,
    taskQueue,
    args: [],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  await client.workflow.executeUpdateWithStart(finishUpdate, {
    args: ['x'],
    startWorkflowOperation: operation,
  });
}

const pct = (samples: number[]) => `${ms(percentile(samples, 50))} / ${ms(percentile(samples, 99))}`;

export default async function completionBench(): Promise<BenchResult> {
  const env = await startTestEnv({ worker: false });
  const children: ChildProcess[] = [];
  const connection = await Connection.connect({ address: env.temporalAddress });
  const client = new Client({ connection, namespace: 'default' });
  const baselineQueue = `baseline-${env.prefix}`;
  try {
    const bundle = await workflowBundle();
    for (let w = 0; w < WORKERS; w++)
      children.push(
        await spawnWorker('test/support/worker-process.ts', {
          TASK_QUEUE: env.taskQueue,
          SMTP_PORT: String(env.sink.port),
          WORKFLOW_BUNDLE: bundle.codePath,
        }),
      );
    children.push(await spawnWorker('bench/baseline/worker.ts', { TASK_QUEUE: baselineQueue }));
    const api = await spawnApi(env);
    children.push(api.child);
    const caseType = await env.publish(workDefinition(env.prefix, 'sales'));
    const subjects = [httpSubject(env, api.url, caseType), baselineSubject(client, baselineQueue)];
    const figures: Record<string, number | string> = {};
    const notes: string[] = [
      `Temporal: ${process.env.BENCH_TEMPORAL === 'cluster' ? 'cluster (4 services on PostgreSQL)' : 'CLI dev server'}; case worker processes: ${WORKERS}`,
    ];

    // Warm-up: both paths, a few dozen times.
    for (const subject of subjects) for (let i = 0; i < 20; i++) await subject.run(i);

    // Each measurement alternates between the two subjects, so both see the same background load.
    const [http, bare] = subjects as [Subject, Subject];
    const latency: Record<string, number[]> = { [http.name]: [], [bare.name]: [] };
    const runs: Record<string, number[]> = { [http.name]: [], [bare.name]: [] };
    const prepared = await Promise.all(
      subjects.map((subject) => inBatches([...Array(SEQUENTIAL).keys()], 8, (i) => subject.prepare(i))),
    );
    for (let i = 0; i < SEQUENTIAL; i++) {
      for (const [k, subject] of subjects.entries()) {
        const op = prepared[k]?.[i] as () => Promise<void>;
        let started = performance.now();
        await op();
        latency[subject.name]?.push(performance.now() - started);
        started = performance.now();
        await subject.run(i);
        runs[subject.name]?.push(performance.now() - started);
      }
    }
    for (const subject of subjects) {
      figures[`${subject.name}: completion latency p50 / p99 ms (${SEQUENTIAL} sequential)`] = pct(
        latency[subject.name] ?? [],
      );
      figures[`${subject.name}: whole run (start + complete) p50 / p99 ms`] = pct(runs[subject.name] ?? []);
    }
    const best: Record<string, number> = {};
    for (const [round, concurrency] of CONCURRENCY.entries()) {
      const order = round % 2 === 0 ? [http, bare] : [bare, http];
      for (const subject of order) {
        const batch = await inBatches([...Array(THROUGHPUT_OPS).keys()], 16, (i) => subject.prepare(i));
        await settle();
        const rate = await throughput(batch, concurrency);
        figures[`${subject.name}: completions/s at concurrency ${concurrency}`] = ms(rate);
        best[subject.name] = Math.max(best[subject.name] ?? 0, rate);
      }
    }
    const baselineRuns: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      const started = performance.now();
      await baselineRunWithStart(client, baselineQueue);
      baselineRuns.push(performance.now() - started);
    }
    figures['bare Temporal: whole run as update-with-start p50 / p99 ms'] = pct(baselineRuns);

    const httpMax = best[http.name] ?? 0;
    const bareMax = best[bare.name] ?? 1;
    figures['max completions/s: HTTP / bare Temporal'] = `${ms(httpMax)} / ${ms(bareMax)}`;
    figures['HTTP throughput / bare Temporal throughput'] = ms(httpMax / bareMax);

    // Half of the maximum HTTP throughput, arriving at a fixed rate: twice, each next to the bare baseline
    // at the same rate, so a noisy moment of the machine shows in both.
    const rate = Math.max(1, httpMax / 2);
    const count = Math.round(rate * STEADY_SECONDS);
    for (const round of [1, 2]) {
      for (const subject of [http, bare]) {
        const steady = await inBatches([...Array(count).keys()], 16, (i) => subject.prepare(i));
        await settle();
        const samples = await openLoop(steady, rate);
        figures[
          `${subject.name}: completion at ${ms(rate)}/s (half of HTTP max), round ${round}, p50 / p99 ms`
        ] = pct(samples);
      }
    }
    notes.push(
      'HTTP completion = POST /api/tasks/:id/complete: token lookup, task and form lookup, Temporal update ' +
        '(interpreter; the update returns its projection), the API writes it (one Postgres statement), JSON of the ' +
        'task the update returns; the completion ends the case, so the workflow ends in that same workflow task ' +
        "(the workers' sweep backs up the API's write of the end; docs/projection.md).",
      'Bare Temporal = executeUpdate on a started workflow whose handler runs one no-op local activity.',
      `The API (api/main.ts), the case worker and the baseline worker run in their own processes; the bench ` +
        `process is the load generator (fetch) and the baseline's Temporal client; the Temporal dev server and ` +
        `Postgres share the machine.`,
    );
    return { name: 'task completion', figures, notes };
  } finally {
    for (const child of children) await stopProcess(child);
    await connection.close();
    await env.stop();
  }
}
