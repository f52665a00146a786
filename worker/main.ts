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
import { createWorker } from './index';
import { installWorkerTelemetry, startWorkerOps } from './ops';
import { createRegistry } from '../lib/metrics';

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
  logger.info({ taskQueue: config.taskQueue, opsPort: config.workerOpsPort || undefined }, 'worker started');
  // The SDK shuts the worker down gracefully on SIGINT/SIGTERM; run() resolves after that.
  await worker.run();
  ops?.close();
  await connection.close();
  mailer.close();
  await db.close();
}

main().catch((err: unknown) => {
  logger.fatal({ err }, 'worker failed');
  process.exit(1);
});
