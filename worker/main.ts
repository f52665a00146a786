/**
 * Production worker process: needs TEMPORAL_ADDRESS, DATABASE_URL and SMTP_URL. Scale out by running more.
 * Migrates the schema and publishes the definitions (both idempotent and safe to run concurrently).
 */
import { activityDeps, createActivities } from '../activities';
import { createDb } from '../db';
import { migrate } from '../db/migrate';
import { loadConfig, ConfigError } from '../lib/config';
import { logger } from '../lib/logger';
import { createMailer } from '../lib/mailer';
import { publishAtStartup } from '../lib/publish';
import { syncSchedules } from '../lib/schedules';
import { listLatestDefinitions } from '../db/definitions';
import { ensureSearchAttributes } from '../infra/temporal-server';
import { connectTemporal } from '../lib/temporal';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
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
  // An unregistered search attribute would fail every case's workflow task: register them first.
  const temporal = await connectTemporal(config.temporalAddress, config.temporalNamespace);
  await ensureSearchAttributes(temporal.connection, config.temporalNamespace, SEARCH_ATTRIBUTES);
  const db = createDb(config.databaseUrl);
  await migrate(db);
  // A broken file is logged and skipped; its case type keeps its last published version.
  await publishAtStartup(db, config.definitionsDir);
  // Calendar email rules become Temporal Schedules, created, updated and removed with the definitions.
  await syncSchedules(
    temporal.client,
    (await listLatestDefinitions(db)).map((d) => d.definition),
    config.taskQueue,
  );
  await temporal.connection.close();
  const mailer = createMailer(config.smtpUrl);
  const activities = createActivities(activityDeps(config, db, mailer));
  const sdkMetricsUrl = await installWorkerTelemetry(config.workerOpsPort);
  const { worker, connection } = await createWorker({
    address: config.temporalAddress,
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
