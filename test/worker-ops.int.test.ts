/** A worker process's operations port: /livez, /readyz and /metrics with the Temporal SDK's metrics. */
import type { ChildProcess } from 'node:child_process';
import { freePort } from '../infra/ports';
import { eventually, startTestEnv, workflowBundle, type TestEnv } from './support/env';
import { spawnProcess, stopProcess } from './support/processes';

let env: TestEnv;
const children: ChildProcess[] = [];

beforeAll(async () => {
  env = await startTestEnv({ worker: false });
});

afterAll(async () => {
  for (const child of children) await stopProcess(child, 'SIGKILL');
  await env?.stop();
});

it('serves /livez, /readyz and /metrics with the Temporal SDK metrics', async () => {
  const port = await freePort();
  const taskQueue = `${env.taskQueue}-ops`;
  await spawnProcess(
    'test/support/worker-process.ts',
    {
      TASK_QUEUE: taskQueue,
      SMTP_PORT: String(env.sink.port),
      WORKFLOW_BUNDLE: (await workflowBundle()).codePath,
      WORKER_OPS_PORT: String(port),
    },
    { stdout: 'ready' },
    (c) => children.push(c),
  );
  const base = `http://127.0.0.1:${port}`;
  expect((await fetch(`${base}/livez`)).status).toBe(200);
  const ready = await fetch(`${base}/readyz`);
  expect(ready.status).toBe(200);
  const report = (await ready.json()) as { checks: Record<string, { status: string }> };
  expect(report.checks.postgres?.status).toBe('up');
  expect(report.checks.temporal?.status).toBe('up');
  // The SDK's exporter has samples once the worker has polled.
  const text = await eventually(
    async () => {
      const body = await (await fetch(`${base}/metrics`)).text();
      return new RegExp(`^temporal_\\w+\\{[^}]*task_queue="${taskQueue}"`, 'm').test(body) ? body : undefined;
    },
    30_000,
    'Temporal SDK metrics of the task queue',
  );
  expect(text).toMatch(/^process_resident_memory_bytes\{role="worker"\} /m);
}, 90_000);
