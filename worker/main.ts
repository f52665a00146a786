/**
 * Production worker process: needs TEMPORAL_ADDRESS, DATABASE_URL and SMTP_URL. Scale out by running more.
 * Applies the release steps first (lib/release.ts: idempotent and safe to run concurrently).
 */
import { activityDeps, createActivities } from '../activities';
import { createDb } from '../db';
import { loadConfig, ConfigError } from '../lib/config';
import { logger } from '../lib/logger';
import { createMailer } from '../lib/mailer';
import { applyRelease } from '../lib/release';
import { createWorker, workerTuning } from './index';
import { installWorkerTelemetry, startWorkerOps } from './ops';
import { createRegistry } from '../lib/metrics';
import { handleStopSignals } from '../lib/stop-signals';
import { connectTemporal } from '../lib/temporal';
import { startWorkerSweeps } from './sweeps';

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.temporalAddress || !config.databaseUrl || !config.smtpUrl) {
    throw new ConfigError(
      'npm run worker needs TEMPORAL_ADDRESS, DATABASE_URL and SMTP_URL (npm start runs everything locally)',
    );
  }
  await applyRelease(config, config.temporalAddress, config.databaseUrl);
  const db = createDb(config.databaseUrl);
  const mailer = createMailer(config.smtpUrl);
  const activities = createActivities(activityDeps(config, db, mailer));
  const sdkMetricsUrl = await installWorkerTelemetry(config.workerOpsPort);
  const { worker, connection } = await createWorker({
    address: config.temporalAddress,
    security: config.temporalSecurity,
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueue,
    activities,
    shutdownGraceMs: config.shutdownGraceMs,
    ...workerTuning(config.workerTuning),
    ...(config.workflowBundlePath ? { workflowBundle: { codePath: config.workflowBundlePath } } : {}),
  });
  const ops =
    config.workerOpsPort === 0
      ? undefined
      : await startWorkerOps({
          host: config.host,
          port: config.workerOpsPort,
          probes: {
            postgres: () => db.query('SELECT 1'),
            temporal: () => connection.workflowService.getSystemInfo({}),
          },
          registry: createRegistry('worker'),
          ...(sdkMetricsUrl ? { sdkMetricsUrl } : {}),
          metricsToken: config.metricsToken,
        });
  // Every 30 s: ended cases whose end the read model lacks, import jobs nothing runs (worker/sweeps.ts).
  const temporal = await connectTemporal(
    config.temporalAddress,
    config.temporalNamespace,
    config.temporalSecurity,
  );
  const sweeps = startWorkerSweeps(db, temporal.client, config.taskQueue);
  logger.info({ taskQueue: config.taskQueue, opsPort: config.workerOpsPort || undefined }, 'worker started');
  const running = worker.run();
  // SIGTERM (a container stop) or Ctrl-C: stop polling, let running activities finish within
  // SHUTDOWN_GRACE_MS, then close; a second signal exits at once (lib/stop-signals.ts).
  handleStopSignals({
    onStop: (signal) => logger.info({ signal }, 'worker draining'),
    drain: async () => {
      // The SDK starts the same shutdown on SIGINT/SIGTERM itself; ask only if it has not.
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await sweeps.stop();
      await temporal.connection.close();
      ops?.close();
      await connection.close();
      mailer.close();
      await db.close();
      logger.info('worker stopped');
    },
  });
  // run() rejects when the worker fails (not after a shutdown): end the process then.
  await running;
}

main().catch((err: unknown) => {
  logger.fatal({ err }, 'worker failed');
  process.exit(1);
});
