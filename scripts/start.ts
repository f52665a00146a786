/**
 * The main job: starts (or connects to) Temporal, PostgreSQL and SMTP, migrates, publishes the
 * definitions, seeds demo data, runs the worker and the API, and prints where everything is.
 * One Ctrl-C drains and stops everything (the worker finishes its running activities, the API its
 * requests, then the servers it started stop); a second one exits at once. Data stays under DATA_DIR
 * for the next start, which first stops any server a crashed start left running (pid files in DATA_DIR).
 */
import path from 'node:path';
import { activityDeps, createActivities } from '../activities';
import { appSettings, createApp } from '../api/app';
import { CaseGateway } from '../api/gateway';
import { projectCase } from '../activities/projection';
import { startInboundSmtp } from '../infra/inbound-smtp';
import { closeServer, listen } from '../api/server';
import { createDb, type Db } from '../db';
import { migrate } from '../db/migrate';
import { startStaleImportWorkflows } from '../crm/import-workflows';
import { seedDemo } from '../db/seed-demo';
import { PID_FILES, checkPorts, claimDataDir } from '../infra/local-stack';
import { pidFilePath } from '../infra/pid-files';
import { startEmbeddedPostgres } from '../infra/postgres';
import { startSmtpSink } from '../infra/smtp-sink';
import { resolveTemporalCli } from '../infra/temporal-cli';
import { ensureSearchAttributes, startTemporalDevServer } from '../infra/temporal-server';
import { loadConfig } from '../lib/config';
import { logger } from '../lib/logger';
import { createMailer } from '../lib/mailer';
import { publishAtStartup } from '../lib/publish';
import { syncSchedules } from '../lib/schedules';
import { listLatestDefinitions } from '../db/definitions';
import { PLAINTEXT, connectTemporal } from '../lib/temporal';
import { startWorkerSweeps } from '../worker/sweeps';
import { createWorker, workerTuning } from '../worker';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { handleStopSignals, stopWith } from '../lib/stop-signals';
import { WEB_DIR, ensureWebBuild } from './web-build';

const stops: { name: string; stop: () => Promise<unknown> }[] = [];

/** Stops what started, the last first (the API and the worker before the servers they use). */
async function stopAll(): Promise<void> {
  for (const { name, stop } of stops.splice(0).reverse()) {
    try {
      await stop();
      logger.info(`stopped ${name}`);
    } catch (err) {
      logger.warn({ err }, `failed to stop ${name}`);
    }
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  const log = (msg: string) => logger.info(msg);
  // Leftovers of a crashed start first (they hold the ports), then fail early on a stranger's port.
  await claimDataDir(config.dataDir, log);
  const local = '127.0.0.1';
  await checkPorts([
    ...(config.temporalAddress === undefined
      ? [
          { setting: 'TEMPORAL_PORT', host: local, port: config.temporalPort },
          { setting: 'TEMPORAL_UI_PORT', host: local, port: config.temporalUiPort },
        ]
      : []),
    ...(config.databaseUrl === undefined
      ? [{ setting: 'EMBEDDED_POSTGRES_PORT', host: local, port: config.embeddedPostgresPort }]
      : []),
    ...(config.smtpUrl === undefined
      ? [{ setting: 'SMTP_SINK_PORT', host: local, port: config.smtpSinkPort }]
      : []),
    ...(config.inboundSmtpPort !== undefined
      ? [{ setting: 'INBOUND_SMTP_PORT', host: local, port: config.inboundSmtpPort }]
      : []),
    { setting: 'PORT', host: config.host, port: config.port },
  ]);

  // The web app is served from web/dist by the API; build it first if a source changed (not when
  // WEB_DIST_DIR names another, prebuilt one).
  if (path.resolve(config.webDistDir) === path.join(WEB_DIR, 'dist')) ensureWebBuild(log);

  let temporalAddress = config.temporalAddress;
  let temporalUi: string | undefined;
  if (temporalAddress === undefined) {
    const cli = await resolveTemporalCli({
      cacheDir: config.cacheDir,
      cliPathEnv: config.temporalCliPath,
      log,
    });
    log(`Temporal CLI from ${cli.source}: ${cli.path}`);
    const server = await startTemporalDevServer({
      cliPath: cli.path,
      port: config.temporalPort,
      uiPort: config.temporalUiPort,
      dbFile: path.join(config.dataDir, 'temporal.db'),
      namespace: config.temporalNamespace,
      searchAttributes: SEARCH_ATTRIBUTES,
      log,
      pidFile: pidFilePath(config.dataDir, PID_FILES.temporal),
    });
    stops.push({ name: 'Temporal dev server', stop: () => server.stop() });
    temporalAddress = server.address;
    temporalUi = server.uiUrl;
  }
  // TLS and API key belong to TEMPORAL_ADDRESS; the local dev server speaks plaintext.
  const temporalSecurity = config.temporalAddress !== undefined ? config.temporalSecurity : PLAINTEXT;
  const { client, connection: temporalConnection } = await connectTemporal(
    temporalAddress,
    config.temporalNamespace,
    temporalSecurity,
  );
  stops.push({ name: 'Temporal client', stop: () => temporalConnection.close() });
  if (config.temporalAddress !== undefined) {
    await ensureSearchAttributes(temporalConnection, config.temporalNamespace, SEARCH_ATTRIBUTES);
  }

  let databaseUrl = config.databaseUrl;
  if (databaseUrl === undefined) {
    const pg = await startEmbeddedPostgres({
      dataDir: path.join(config.dataDir, 'postgres'),
      port: config.embeddedPostgresPort,
      settings: config.embeddedPostgresSettings,
      log,
      pidFile: pidFilePath(config.dataDir, PID_FILES.postgres),
    });
    stops.push({ name: 'PostgreSQL', stop: () => pg.stop() });
    databaseUrl = pg.url;
  }
  const db: Db = createDb(databaseUrl);
  stops.push({ name: 'database pool', stop: () => db.close() });
  const applied = await migrate(db);
  if (applied.length > 0) log(`applied migrations: ${applied.join(', ')}`);
  // Before publishing: definitions may assign work only to users and teams that exist.
  const users = config.seedDemo ? await seedDemo(db, config.dataDir) : [];
  // A broken definition file is logged (file, pointer, message) and skipped: the other case types and the
  // last published version of its own keep serving.
  await publishAtStartup(db, config.definitionsDir);
  const schedules = await syncSchedules(
    client,
    (await listLatestDefinitions(db)).map((d) => d.definition),
    config.taskQueue,
  );
  if (schedules.created.length + schedules.updated.length + schedules.deleted.length > 0) {
    log(
      `email schedules: created ${schedules.created.length}, updated ${schedules.updated.length}, deleted ${schedules.deleted.length}`,
    );
  }

  // Import jobs left running with nothing running them (by the pre-workflow code, which ran them here, or a
  // stop between storing a job and starting its workflow) get their import workflow.
  const importJobs = await startStaleImportWorkflows(db, client, config.taskQueue);
  if (importJobs.length > 0) log(`import jobs resumed on workflows: ${importJobs.join(', ')}`);

  const sink =
    config.smtpUrl === undefined
      ? await startSmtpSink({ port: config.smtpSinkPort, host: '127.0.0.1' })
      : undefined;
  if (sink) stops.push({ name: 'SMTP sink', stop: () => sink.stop() });
  const mailer = createMailer(config.smtpUrl ?? `smtp://127.0.0.1:${sink?.port}`);
  stops.push({ name: 'SMTP transport', stop: async () => mailer.close() });

  const activities = createActivities(activityDeps(config, db, mailer));
  const { worker, connection } = await createWorker({
    address: temporalAddress,
    security: temporalSecurity,
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueue,
    activities,
    shutdownGraceMs: config.shutdownGraceMs,
    ...workerTuning(config.workerTuning),
    ...(config.workflowBundlePath ? { workflowBundle: { codePath: config.workflowBundlePath } } : {}),
  });
  const running = worker.run();
  stops.push({
    name: 'worker',
    stop: async () => {
      // Stops polling; running activities get SHUTDOWN_GRACE_MS to finish. The SDK starts the same
      // shutdown on SIGINT/SIGTERM itself: ask only if it has not.
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
    },
  });

  // Every 30 s: ended cases whose end the read model lacks, import jobs nothing runs (worker/sweeps.ts).
  const sweeps = startWorkerSweeps(db, client, config.taskQueue);
  stops.push({ name: 'worker sweeps', stop: () => sweeps.stop() });

  const app = createApp({
    db,
    client,
    ...appSettings(config),
    retryRelinks: true,
    ...(sink ? { mailbox: sink } : {}),
    probes: { smtp: () => mailer.verify() },
    accountMail: {
      transport: mailer,
      from: config.mailFrom,
      templatesDir: path.join(config.definitionsDir, 'templates'),
    },
  });
  const inbound =
    config.inboundSmtpPort === undefined
      ? undefined
      : await startInboundSmtp({
          port: config.inboundSmtpPort,
          db,
          startCase: (definition, start) =>
            new CaseGateway(client, config.taskQueue, config.updateTimeoutMs, (projection) =>
              projectCase(db, projection),
            ).start(definition, start),
        });
  if (inbound) stops.push({ name: 'inbound SMTP', stop: () => inbound.stop() });
  const server = await listen(app, config.port, config.host);
  // Stops accepting and answers the requests in flight (inbox streams end at once).
  stops.push({ name: 'API', stop: () => closeServer(server, config.shutdownGraceMs) });

  const lines = [
    '',
    'CRM process engine is running',
    `  Web app       ${config.publicUrl}/`,
    `  API           ${config.publicUrl}/api`,
    `  Health        ${config.publicUrl}/health`,
    ...(sink ? [`  Dev mailbox   ${config.publicUrl}/dev/mail   (SMTP sink on port ${sink.port})`] : []),
    ...(temporalUi ? [`  Temporal UI   ${temporalUi}`] : []),
    ...(inbound
      ? [`  Inbound SMTP  port ${inbound.port} (email-to-case for the addresses in inbound_mailboxes)`]
      : []),
    `  Temporal      ${temporalAddress}   task queue ${config.taskQueue}`,
    `  Data          ${config.dataDir}`,
    '',
    ...(users.length > 0
      ? [
          `Demo users: sign in at ${config.publicUrl}/ with email / password, or call the API with`,
          'Authorization: Bearer <token>:',
          ...users.map(
            (u) =>
              `  ${u.id.padEnd(6)} ${u.role.padEnd(10)} ${`${u.email} / ${u.password}`.padEnd(44)} ${u.token}`,
          ),
        ]
      : []),
    '',
    'Press Ctrl-C to stop.',
  ];
  console.log(lines.join('\n'));
}

// First Ctrl-C (or SIGTERM): drain and stop everything in order, then exit 0. A second one exits at
// once; the 'exit' handlers of the Temporal and PostgreSQL launchers still stop those servers (the
// default signal action would orphan them). The same Ctrl-C passed on by npm and tsx within 500 ms is
// not a second one (lib/stop-signals.ts).
handleStopSignals({ drain: stopAll, onStop: () => logger.info('stopping (Ctrl-C again to force)') });
main().catch((err: unknown) => {
  console.error(`Start-up failed: ${(err as Error).message}`);
  void stopWith(stopAll, true);
});
