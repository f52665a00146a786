/** Production API process: needs TEMPORAL_ADDRESS and DATABASE_URL. Stateless; scale out behind a load balancer. */
import path from 'node:path';
import { createDb } from '../db';
import { loadConfig, ConfigError } from '../lib/config';
import { logger } from '../lib/logger';
import { createMailer } from '../lib/mailer';
import { connectTemporal } from '../lib/temporal';
import { appSettings, createApp } from './app';
import { handleStopSignals } from '../lib/stop-signals';
import { closeServer, listen } from './server';

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.temporalAddress || !config.databaseUrl) {
    throw new ConfigError(
      'npm run api needs TEMPORAL_ADDRESS and DATABASE_URL (npm start runs everything locally)',
    );
  }
  const db = createDb(config.databaseUrl);
  const { client } = await connectTemporal(
    config.temporalAddress,
    config.temporalNamespace,
    config.temporalSecurity,
  );
  const mailer = config.smtpUrl ? createMailer(config.smtpUrl) : undefined;
  const app = createApp({
    db,
    client,
    ...appSettings(config),
    retryRelinks: true,
    ...(mailer
      ? {
          probes: { smtp: () => mailer.verify() },
          accountMail: {
            transport: mailer,
            from: config.mailFrom,
            templatesDir: path.join(config.definitionsDir, 'templates'),
          },
        }
      : {}),
  });
  const server = await listen(app, config.port, config.host);
  logger.info({ host: config.host, port: config.port }, 'API listening');
  // SIGTERM (a container stop) or Ctrl-C: stop accepting, answer the requests in flight (within
  // SHUTDOWN_GRACE_MS), then close; a second signal exits at once (lib/stop-signals.ts).
  handleStopSignals({
    onStop: (signal) => logger.info({ signal }, 'API draining'),
    drain: async () => {
      await closeServer(server, config.shutdownGraceMs);
      await client.connection.close();
      mailer?.close();
      await db.close();
      logger.info('API stopped');
    },
  });
}

main().catch((err: unknown) => {
  logger.fatal({ err }, 'API failed');
  process.exit(1);
});
