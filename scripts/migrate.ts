/**
 * The one-shot release role (`node dist/scripts/migrate.js`, `npm run migrate`): search attributes,
 * migrations, definitions and Schedules (lib/release.ts), then exit 0. Compose runs it before the API
 * and the worker; Kubernetes as a Job. Needs TEMPORAL_ADDRESS and DATABASE_URL.
 */
import { ConfigError, loadConfig } from '../lib/config';
import { logger } from '../lib/logger';
import { applyRelease } from '../lib/release';

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.temporalAddress || !config.databaseUrl) {
    throw new ConfigError('migrate needs TEMPORAL_ADDRESS and DATABASE_URL');
  }
  const report = await applyRelease(config, config.temporalAddress, config.databaseUrl);
  logger.info(report, 'release applied');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    logger.fatal({ err }, 'migrate failed');
    process.exit(1);
  },
);
