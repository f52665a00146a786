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
  const { worker, connection } = await createWorker({
    address: config.temporalAddress,
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueue,
    activities,
  });
  logger.info({ taskQueue: config.taskQueue }, 'worker started');
  // The SDK shuts the worker down gracefully on SIGINT/SIGTERM; run() resolves after that.
  await worker.run();
  await connection.close();
  mailer.close();
  await db.close();
}

main().catch((err: unknown) => {
  logger.fatal({ err }, 'worker failed');
  process.exit(1);
});
