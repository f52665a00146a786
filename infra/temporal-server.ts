import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { Connection } from '@temporalio/client';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { removePidFile, writePidFile } from './pid-files';
import { canConnect, isPortFree } from './ports';

export type SearchAttributeKind = 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

export interface DevServerOptions {
  cliPath: string;
  port: number;
  /** Web UI port; undefined starts the server headless. */
  uiPort?: number;
  /** SQLite file for persistence; undefined keeps everything in memory. */
  dbFile?: string;
  namespace: string;
  searchAttributes: Record<string, SearchAttributeKind>;
  log: (msg: string) => void;
  /** Extra `--dynamic-config-value` entries (JSON values), e.g. `{ 'history.maxInFlightUpdates': 50 }`. */
  dynamicConfig?: Record<string, string | number | boolean>;
  /** SQLite pragmas for `dbFile` ("NAME=VALUE"); defaults to SQLITE_PRAGMAS. */
  sqlitePragmas?: string[];
  /** How long to wait for the frontend to answer; default 60 s. */
  startTimeoutMs?: number;
  /** A pid file (infra/pid-files.ts) to write while the server runs, so a later start can stop a leftover. */
  pidFile?: string;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  pid: number;
  stop(): Promise<void>;
}

/** The dev server did not come up; `output` holds the tail of what it printed. */
export class TemporalServerStartError extends Error {
  override name = 'TemporalServerStartError';
  readonly code = 'TEMPORAL_SERVER_START_FAILED';
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(output ? `${message}\n--- temporal server output (tail) ---\n${output}` : message);
  }
}

/** A search attribute already exists with another type; Temporal cannot change a type in place. */
export class SearchAttributeConflictError extends Error {
  override name = 'SearchAttributeConflictError';
  readonly code = 'SEARCH_ATTRIBUTE_TYPE_CONFLICT';
  constructor(
    readonly attribute: string,
    readonly expected: SearchAttributeKind,
    readonly actual: string,
  ) {
    super(`Search attribute ${attribute} exists as ${actual}, but ${expected} is required`);
  }
}

const HOST = '127.0.0.1';

/**
 * SQLite pragmas for file persistence. WAL lets readers (visibility queries, the UI) run beside the writer.
 * synchronous=NORMAL under WAL syncs only at checkpoints, so an app or server crash loses nothing and an
 * OS crash or power cut can lose the last transactions but never corrupts the file; OFF can corrupt it.
 * Measured on a 2-vCPU machine (300 one-activity workflows, 20 at a time, server and worker on one box):
 * SQLite defaults ~10 wf/s; WAL+NORMAL 29-34 wf/s; WAL+OFF 33-39 wf/s; in-memory 25-37 wf/s. NORMAL is
 * within the noise of OFF (the box is CPU-bound, not fsync-bound), so durability costs nothing here.
 */
export const SQLITE_PRAGMAS = ['journal_mode=WAL', 'synchronous=NORMAL'];

/** Starts `temporal server start-dev`, waits until the namespace answers, then registers search attributes. */
export async function startTemporalDevServer(opts: DevServerOptions): Promise<DevServer> {
  for (const [what, port] of [
    ['gRPC port', opts.port],
    ['UI port', opts.uiPort],
  ] as const) {
    if (port !== undefined && !(await isPortFree(port, HOST))) {
      throw new TemporalServerStartError(
        `Temporal ${what} ${HOST}:${port} is already in use (another Temporal server running?). ` +
          'Choose another port or set TEMPORAL_ADDRESS to use the server that is running.',
        '',
      );
    }
  }
  const address = `${HOST}:${opts.port}`;
  // Own process group: a Ctrl-C in the terminal reaches the app, which stops the server after draining.
  const args = devServerArgs(opts);
  const child = spawn(opts.cliPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const { pidFile } = opts;
  if (pidFile && child.pid !== undefined) {
    const pid = child.pid;
    writePidFile(pidFile, { pid, argv: [opts.cliPath, ...args] });
    child.once('exit', () => removePidFile(pidFile, pid));
  }
  const output = new OutputTail(opts.log);
  readline.createInterface({ input: child.stdout! }).on('line', (l) => output.push(l));
  readline.createInterface({ input: child.stderr! }).on('line', (l) => output.push(l));
  const exited = new Promise<string>((resolve) => {
    child.once('error', (err) => resolve(`could not be spawned: ${err.message}`));
    child.once('exit', (code, signal) => resolve(signal ? `was killed by ${signal}` : `exited with ${code}`));
  });
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  // The server must not outlive this process if it ends without calling stop().
  const killOnExit = (): void => {
    child.kill('SIGTERM');
  };
  process.once('exit', killOnExit);
  const stop = once(async () => {
    process.removeListener('exit', killOnExit);
    await stopChild(child, exited);
  });

  try {
    const connection = await waitUntilReady({
      address,
      namespace: opts.namespace,
      timeoutMs: opts.startTimeoutMs ?? 60_000,
      exited,
      port: opts.port,
    });
    try {
      await ensureSearchAttributes(connection, opts.namespace, opts.searchAttributes);
    } finally {
      await connection.close();
    }
  } catch (err) {
    await stop();
    // 'exit' can come before the last output lines; let the pipes drain (bounded).
    await settlesWithin(closed, 1000);
    if (err instanceof SearchAttributeConflictError) throw err;
    const message =
      err instanceof TemporalServerStartError
        ? err.message
        : `Temporal dev server failed to start: ${String(err)}`;
    throw new TemporalServerStartError(message, output.text());
  }
  return {
    address,
    uiUrl: opts.uiPort === undefined ? undefined : `http://${HOST}:${opts.uiPort}`,
    pid: child.pid ?? 0,
    stop,
  };
}

function devServerArgs(opts: DevServerOptions): string[] {
  const args = ['server', 'start-dev', '--port', String(opts.port), '--ip', HOST];
  if (opts.namespace !== 'default') args.push('--namespace', opts.namespace);
  if (opts.dbFile) {
    args.push('--db-filename', opts.dbFile);
    for (const pragma of opts.sqlitePragmas ?? SQLITE_PRAGMAS) args.push('--sqlite-pragma', pragma);
  }
  if (opts.uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(opts.uiPort));
  args.push('--log-format', 'json', '--log-level', 'warn');
  const dynamicConfig: Record<string, string | number | boolean> = {
    // No internet: do not phone home for version checks.
    'frontend.enableServerVersionCheck': false,
    ...opts.dynamicConfig,
  };
  for (const [key, value] of Object.entries(dynamicConfig)) {
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  }
  // On a fresh namespace the flags save a round trip; ensureSearchAttributes covers persisted ones.
  for (const [name, kind] of Object.entries(opts.searchAttributes)) {
    args.push('--search-attribute', `${name}=${kind}`);
  }
  return args;
}

async function waitUntilReady(args: {
  address: string;
  namespace: string;
  port: number;
  timeoutMs: number;
  exited: Promise<string>;
}): Promise<Connection> {
  const deadline = Date.now() + args.timeoutMs;
  let exitReason: string | undefined;
  void args.exited.then((reason) => (exitReason = reason));
  let lastError = 'no answer yet';
  let delay = 50;
  let connection: Connection | undefined;
  try {
    while (Date.now() < deadline) {
      if (exitReason) throw new TemporalServerStartError(`Temporal dev server ${exitReason}`, '');
      // A TCP probe first: a Connection to a closed port would only fail after its own timeout.
      if (connection || (await canConnect(args.port, HOST, 1000))) {
        try {
          connection ??= await Connection.connect({ address: args.address, connectTimeout: 2000 });
          await connection.workflowService.describeNamespace({ namespace: args.namespace });
          return connection;
        } catch (err) {
          lastError = err instanceof Error ? err.message : String(err);
        }
      }
      await waitOrExit(delay, args.exited);
      delay = Math.min(delay * 2, 500);
    }
  } catch (err) {
    await connection?.close();
    throw err;
  }
  await connection?.close();
  throw new TemporalServerStartError(
    `Temporal dev server at ${args.address} not ready within ${args.timeoutMs} ms (last error: ${lastError})`,
    '',
  );
}

/**
 * Registers every attribute in `attrs` that the namespace lacks. Needed because `--search-attribute`
 * flags are ignored for a persisted namespace and an unregistered attribute fails workflow tasks forever.
 * Returns the names it added; throws SearchAttributeConflictError when a name exists with another type.
 */
export async function ensureSearchAttributes(
  connection: Connection,
  namespace: string,
  attrs: Record<string, SearchAttributeKind>,
): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = { ...existing.systemAttributes, ...existing.customAttributes };
  const missing: Record<string, number> = {};
  for (const [name, kind] of Object.entries(attrs)) {
    const wanted = indexedValueType(kind);
    const actual = known[name];
    if (actual === undefined || actual === null) missing[name] = wanted;
    else if (Number(actual) !== wanted) throw new SearchAttributeConflictError(name, kind, kindName(actual));
  }
  const names = Object.keys(missing);
  if (names.length === 0) return [];
  try {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
  } catch (err) {
    // Another process may have registered them at the same moment; that is fine if they now exist.
    const after = await connection.operatorService.listSearchAttributes({ namespace });
    if (names.some((n) => after.customAttributes[n] === undefined)) throw err;
  }
  return names;
}

const KIND_TO_SDK = {
  Keyword: 'KEYWORD',
  Text: 'TEXT',
  Int: 'INT',
  Double: 'DOUBLE',
  Bool: 'BOOL',
  Datetime: 'DATETIME',
  KeywordList: 'KEYWORD_LIST',
} as const;

function indexedValueType(kind: SearchAttributeKind): number {
  const value = encodeSearchAttributeIndexedValueType(KIND_TO_SDK[kind]);
  if (value === undefined) throw new Error(`unknown search attribute type ${kind}`);
  return value;
}

function kindName(value: unknown): string {
  const found = (Object.keys(KIND_TO_SDK) as SearchAttributeKind[]).find(
    (k) => indexedValueType(k) === Number(value),
  );
  return found ?? `type #${String(value)}`;
}

async function stopChild(child: ChildProcess, exited: Promise<string>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  if (await settlesWithin(exited, 10_000)) return;
  child.kill('SIGKILL');
  await settlesWithin(exited, 5_000);
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

async function waitOrExit(ms: number, exited: Promise<string>): Promise<void> {
  await settlesWithin(exited, ms);
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let result: Promise<void> | undefined;
  return () => (result ??= fn());
}

/** Keeps the last lines the server printed (for errors) and forwards error-level JSON log lines. */
class OutputTail {
  private readonly lines: string[] = [];
  constructor(private readonly log: (msg: string) => void) {}

  push(line: string): void {
    if (!line.trim()) return;
    this.lines.push(line);
    if (this.lines.length > 40) this.lines.shift();
    if (/"level":"(error|fatal|panic|dpanic)"/.test(line)) this.log(`temporal server: ${summarize(line)}`);
  }

  text(): string {
    return this.lines.join('\n');
  }
}

function summarize(jsonLine: string): string {
  try {
    const entry = JSON.parse(jsonLine) as { msg?: string; error?: string };
    return [entry.msg, entry.error].filter(Boolean).join(': ') || jsonLine;
  } catch {
    return jsonLine;
  }
}
