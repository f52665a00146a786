import pg from 'pg';

export type Row = Record<string, unknown>;

/** A query runner: the pool, or one client inside a transaction. */
export interface Queryable {
  query<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
}

export interface Db extends Queryable {
  pool: pg.Pool;
  /** Runs `fn` in a transaction on one client; commits, or rolls back if it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Registers work to finish before the pool ends, such as giving back a LISTEN connection. */
  beforeClose(fn: () => Promise<void>): void;
  close(): Promise<void>;
}

const UTC_TIMESTAMP = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?\+00$/;

/**
 * A timestamptz as Postgres prints it, as `Date#toISOString()` would print it (milliseconds, `Z`). When the
 * server's time zone is UTC (the usual case) the text is rearranged without building a Date, which costs a
 * fifth as much: an inbox page holds hundreds of timestamps. Anything else goes through Date.
 */
export function isoTimestamp(text: string): string {
  const m = UTC_TIMESTAMP.exec(text);
  if (!m) return new Date(text).toISOString();
  return `${m[1]}T${m[2]}.${(m[3] ?? '').padEnd(3, '0').slice(0, 3)}Z`;
}

// Timestamps come back as ISO strings in UTC; bigint counts as numbers (they stay far below 2^53).
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
pg.types.setTypeParser(pg.types.builtins.TIMESTAMPTZ, isoTimestamp);
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number(v));

function runner(client: pg.Pool | pg.PoolClient): Queryable {
  return {
    async query<T extends Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
      const result = await client.query(sql, params as unknown[]);
      return result.rows as T[];
    },
  };
}

const CONNECTION_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
]);

/**
 * Whether an error means Postgres cannot be reached or is shutting down (not that a statement is wrong):
 * a refused or broken connection, SQLSTATE class 08 (connection exception), 57P01-57P03 (shutdown,
 * cannot connect now), 53300 (too many connections), or the pool's connection timeout. Callers answer
 * "try again later" for these.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  const code = typeof e.code === 'string' ? e.code : '';
  if (CONNECTION_ERRNOS.has(code) || /^08/.test(code) || /^57P0[123]$/.test(code) || code === '53300')
    return true;
  const message = typeof e.message === 'string' ? e.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/.test(
    message,
  );
}

/** Opens a pool. All SQL in the project goes through this module, parameterized. */
export function createDb(connectionString: string, options: { max?: number } = {}): Db {
  // A connection that cannot be made in 5 s fails (the default waits for ever), so an outage answers 503.
  const pool = new pg.Pool({ connectionString, max: options.max ?? 10, connectionTimeoutMillis: 5000 });
  pool.on('error', () => {
    // An idle client lost its connection; the pool replaces it. Queries report their own errors.
  });
  pool.on('connect', (client) => {
    // A client checked out (a transaction, an email send) whose connection the server ends (a restart,
    // pg_terminate_backend) emits `error` too, and an unhandled `error` would end the process. Its
    // pending and next queries fail with their own errors; the holder releases it as broken.
    client.on('error', () => {});
  });
  const base = runner(pool);
  const closers: (() => Promise<void>)[] = [];
  return {
    pool,
    query: base.query,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let value: T;
      try {
        await client.query('BEGIN');
        value = await fn(runner(client));
        await client.query('COMMIT');
      } catch (err) {
        // A connection that cannot roll back is broken: the pool destroys it instead of reusing it.
        const rolledBack = await client.query('ROLLBACK').then(
          () => true,
          () => false,
        );
        client.release(rolledBack ? undefined : true);
        throw err;
      }
      client.release();
      return value;
    },
    beforeClose: (fn) => void closers.push(fn),
    async close() {
      await Promise.allSettled(closers.splice(0).map((fn) => fn()));
      await pool.end();
    },
  };
}
