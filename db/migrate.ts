import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../lib/paths';
import type { Db } from './index';

const MIGRATIONS_DIR = path.join(PROJECT_ROOT, 'db', 'migrations');
/** Arbitrary constant: serializes migrations when several processes start at once. */
const LOCK_ID = 724_311_001;
/** The oldest server the migrations run on (074 uses ALTER COLUMN ... SET EXPRESSION, new in 17). */
const MIN_SERVER_VERSION = 170000;

/** Applies every `db/migrations/*.sql` not yet applied, in name order, each in its own transaction. */
export async function migrate(db: Db): Promise<string[]> {
  const files = fs
    .readdirSync(MIGRATIONS_DIR)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  const applied: string[] = [];
  const client = await db.pool.connect();
  try {
    const version = Number((await client.query('SHOW server_version_num')).rows[0].server_version_num);
    if (version < MIN_SERVER_VERSION) {
      throw new Error(
        `PostgreSQL ${Math.floor(version / 10000)} is too old for this engine's schema: DATABASE_URL must point at PostgreSQL 17 or later`,
      );
    }
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_ID]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = new Set(
      (await client.query('SELECT name FROM schema_migrations')).rows.map((r) => r.name as string),
    );
    for (const file of files) {
      if (done.has(file)) continue;
      const sql = fs.readFileSync(path.join(MIGRATIONS_DIR, file), 'utf8');
      await client.query('BEGIN');
      try {
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations (name) VALUES ($1)', [file]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`Migration ${file} failed: ${(err as Error).message}`);
      }
      applied.push(file);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_ID]).catch(() => undefined);
    client.release();
  }
  return applied;
}
