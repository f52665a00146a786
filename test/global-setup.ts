import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../worker';
import { silentLogger } from './support/env';
import { loadConfig } from '../lib/config';
import { logger } from '../lib/logger';
import { freePort } from '../infra/ports';
import { createDatabaseIfMissing, startEmbeddedPostgres, withDatabase } from '../infra/postgres';
import { resolveTemporalCli, TemporalCliNotFoundError } from '../infra/temporal-cli';
import { ensureSearchAttributes, startTemporalDevServer } from '../infra/temporal-server';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import globalTeardown, { TEST_ENV_KEY } from './global-teardown';
import type { TestEnvHandles } from './global-teardown';

const NAMESPACE = 'default';

/**
 * Starts the servers every integration test shares, on free ports and in fresh directories so tests can
 * run beside `npm start`, and hands their addresses to the workers as TEST_TEMPORAL_ADDRESS and
 * TEST_DATABASE_URL. A preset TEST_TEMPORAL_ADDRESS is used as is.
 */
export default async function globalSetup(): Promise<void> {
  const handles: TestEnvHandles = {};
  (globalThis as Record<string, unknown>)[TEST_ENV_KEY] = handles;
  const [temporal, postgres, bundle] = await Promise.allSettled([
    setUpTemporal(handles),
    setUpPostgres(handles),
    bundleWorkflows(handles),
  ]);
  if (temporal.status === 'rejected' || postgres.status === 'rejected' || bundle.status === 'rejected') {
    // Jest skips the teardown when setup throws; do not leave servers behind.
    await globalTeardown();
    throw [temporal, postgres, bundle].find((r): r is PromiseRejectedResult => r.status === 'rejected')
      ?.reason;
  }
  process.env.TEST_WORKFLOW_BUNDLE = bundle.value;
  process.env.TEST_TEMPORAL_ADDRESS = temporal.value;
  process.env.TEST_TEMPORAL_NAMESPACE = NAMESPACE;
  process.env.TEST_DATABASE_URL = postgres.value;
}

/** Bundles the workflow code once for every test file (each bundle takes seconds of webpack). */
async function bundleWorkflows(handles: TestEnvHandles): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: silentLogger });
  handles.bundleDir = await fs.mkdtemp(path.join(os.tmpdir(), 'crm-test-bundle-'));
  const file = path.join(handles.bundleDir, 'workflows.js');
  await fs.writeFile(file, code);
  return file;
}

async function setUpTemporal(handles: TestEnvHandles): Promise<string> {
  const config = loadConfig();
  const log = (msg: string): void => logger.info(`[test env] ${msg}`);
  const preset = process.env.TEST_TEMPORAL_ADDRESS;
  if (preset) {
    await registerSearchAttributes(preset);
    return preset;
  }
  try {
    const cli = await resolveTemporalCli({
      cacheDir: config.cacheDir,
      cliPathEnv: config.temporalCliPath,
      log,
    });
    handles.temporal = await startTemporalDevServer({
      cliPath: cli.path,
      port: await freePort(),
      namespace: NAMESPACE,
      searchAttributes: SEARCH_ATTRIBUTES,
      log,
    });
    return handles.temporal.address;
  } catch (err) {
    if (!(err instanceof TemporalCliNotFoundError) || !config.temporalAddress) throw err;
    log(`no Temporal CLI; tests use TEMPORAL_ADDRESS=${config.temporalAddress}`);
    await registerSearchAttributes(config.temporalAddress);
    return config.temporalAddress;
  }
}

async function registerSearchAttributes(address: string): Promise<void> {
  const connection = await Connection.connect({ address, connectTimeout: 10_000 });
  try {
    await ensureSearchAttributes(connection, NAMESPACE, SEARCH_ATTRIBUTES);
  } finally {
    await connection.close();
  }
}

async function setUpPostgres(handles: TestEnvHandles): Promise<string> {
  const config = loadConfig();
  if (config.databaseUrl) {
    const name = `crm_test_${randomBytes(6).toString('hex')}`;
    await createDatabaseIfMissing(config.databaseUrl, name);
    handles.database = { serverUrl: config.databaseUrl, name };
    return withDatabase(config.databaseUrl, name);
  }
  handles.tmpDir = await fs.mkdtemp(path.join(os.tmpdir(), 'crm-test-'));
  handles.postgres = await startEmbeddedPostgres({
    dataDir: path.join(handles.tmpDir, 'pg'),
    port: await freePort(),
    log: (msg) => logger.debug(`[test env] ${msg}`),
    unsafeFast: true,
    settings: config.embeddedPostgresSettings,
  });
  return handles.postgres.url;
}
