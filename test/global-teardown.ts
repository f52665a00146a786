import fs from 'node:fs/promises';
import type { EmbeddedPostgres } from '../infra/postgres';
import { dropDatabase } from '../infra/postgres';
import type { DevServer } from '../infra/temporal-server';

/** Where global setup leaves its handles; setup and teardown run in the same process. */
export const TEST_ENV_KEY = '__crmTestEnv';

export interface TestEnvHandles {
  temporal?: DevServer;
  postgres?: EmbeddedPostgres;
  /** A database created on the server named by DATABASE_URL. */
  database?: { serverUrl: string; name: string };
  tmpDir?: string;
  /** Where the shared workflow bundle was written. */
  bundleDir?: string;
}

/** Stops what global setup started and removes its temp directory; safe to call twice. */
export default async function globalTeardown(): Promise<void> {
  const store = globalThis as Record<string, unknown>;
  const handles = store[TEST_ENV_KEY] as TestEnvHandles | undefined;
  if (!handles) return;
  delete store[TEST_ENV_KEY];
  const results = await Promise.allSettled([
    handles.temporal?.stop(),
    handles.postgres?.stop(),
    handles.database ? dropDatabase(handles.database.serverUrl, handles.database.name) : undefined,
  ]);
  if (handles.tmpDir) await fs.rm(handles.tmpDir, { recursive: true, force: true });
  if (handles.bundleDir) await fs.rm(handles.bundleDir, { recursive: true, force: true });
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
