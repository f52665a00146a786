/**
 * A case worker in its own process, so a test can kill it with SIGKILL. Prints "ready" once polling.
 * With WORKER_OPS_PORT it is wired as worker/main.ts wires it: the SDK's Prometheus exporter installed
 * first, then the worker, then /livez, /readyz, /metrics on that port ("ready" once the port listens).
 */
import path from 'node:path';
import { createActivities } from '../../activities';
import { TemplateStore } from '../../activities/templates';
import { createDb } from '../../db';
import { createMailer } from '../../lib/mailer';
import { createRegistry } from '../../lib/metrics';
import { createWorker } from '../../worker';
import { installWorkerTelemetry, startWorkerOps } from '../../worker/ops';

async function main(): Promise<void> {
  const env = (name: string): string => {
    const v = process.env[name];
    if (!v) throw new Error(`${name} is required`);
    return v;
  };
  const db = createDb(env('TEST_DATABASE_URL'));
  const activities = createActivities({
    db,
    mailer: createMailer(`smtp://127.0.0.1:${env('SMTP_PORT')}`),
    templates: new TemplateStore(path.resolve(__dirname, '../../definitions/templates')),
    mailFrom: 'CRM <crm@example.com>',
    publicUrl: 'http://localhost:3000',
    // CRASH_AT=afterAccepted|afterRecorded: die (SIGKILL, no clean-up) at that point of the first send.
    ...(process.env.CRASH_AT
      ? { mailHooks: { [process.env.CRASH_AT]: () => void process.kill(process.pid, 'SIGKILL') } }
      : {}),
  });
  const opsPort = Number(process.env.WORKER_OPS_PORT || 0);
  const sdkMetricsUrl = opsPort ? await installWorkerTelemetry(opsPort) : undefined;
  const { worker, connection } = await createWorker({
    address: env('TEST_TEMPORAL_ADDRESS'),
    namespace: 'default',
    taskQueue: env('TASK_QUEUE'),
    activities,
    workflowBundle: { codePath: env('WORKFLOW_BUNDLE') },
    // MAX_CACHED_WORKFLOWS: bound the sticky cache, as WORKER_MAX_CACHED_WORKFLOWS does (the capacity bench).
    ...(process.env.MAX_CACHED_WORKFLOWS
      ? { maxCachedWorkflows: Number(process.env.MAX_CACHED_WORKFLOWS) }
      : {}),
  });
  const running = worker.run();
  if (opsPort) {
    await startWorkerOps({
      host: '127.0.0.1',
      port: opsPort,
      probes: {
        postgres: () => db.query('SELECT 1'),
        temporal: () => connection.workflowService.getSystemInfo({}),
      },
      registry: createRegistry('worker'),
      ...(sdkMetricsUrl ? { sdkMetricsUrl } : {}),
      metricsToken: process.env.METRICS_TOKEN || undefined,
    });
  }
  // Never outlive the test that started us (it may die without killing us).
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL');
  }, 500).unref();
  process.stdout.write('ready\n');
  await running;
  await connection.close();
  await db.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
