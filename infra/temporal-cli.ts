import { spawn } from 'node:child_process';
import { constants as fsConstants, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import zlib from 'node:zlib';

/** The CLI version built by `go install`: the newest one whose module the Go proxy serves (see TEMPORAL.md). */
export const TEMPORAL_CLI_VERSION = '1.5.1';
const CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
const MIN_GO_MINOR = 25;

export type TemporalCliSource = 'TEMPORAL_CLI_PATH' | 'PATH' | 'cache' | 'sdk-download' | 'go-install';

export interface ResolvedTemporalCli {
  path: string;
  source: TemporalCliSource;
}

export interface ResolveTemporalCliOptions {
  /** Tool cache (config.cacheDir); downloads and builds land in `<cacheDir>/bin/temporal`. */
  cacheDir: string;
  /** Value of TEMPORAL_CLI_PATH; when set it must work, there is no fallback. */
  cliPathEnv?: string;
  /** Progress for the slow routes (download, build). */
  log: (msg: string) => void;
  /** PATH to search for `temporal` and `go`; defaults to process.env.PATH. */
  pathEnv?: string;
}

/** TEMPORAL_CLI_PATH names something that is not an executable file. */
export class TemporalCliPathError extends Error {
  override name = 'TemporalCliPathError';
  readonly code = 'TEMPORAL_CLI_PATH_INVALID';
  constructor(
    readonly cliPath: string,
    reason: string,
  ) {
    super(`TEMPORAL_CLI_PATH=${cliPath} ${reason}. Point it at a Temporal CLI binary or unset it.`);
  }
}

/** No route produced a Temporal CLI; `attempts` says why each one failed. */
export class TemporalCliNotFoundError extends Error {
  override name = 'TemporalCliNotFoundError';
  readonly code = 'TEMPORAL_CLI_NOT_FOUND';
  constructor(readonly attempts: string[]) {
    super(
      [
        'No Temporal CLI found. Fix it one of three ways:',
        '  1. set TEMPORAL_CLI_PATH to a `temporal` binary;',
        '  2. install `temporal` on PATH (https://docs.temporal.io/cli), or install Go >= 1.25 so',
        '     `npm run temporal:install` can build it;',
        '  3. set TEMPORAL_ADDRESS to use an existing Temporal server (no local server is started).',
        'Tried:',
        ...attempts.map((a) => `  - ${a}`),
      ].join('\n'),
    );
  }
}

const exeName = process.platform === 'win32' ? 'temporal.exe' : 'temporal';

/** Where downloads and builds are kept: `<cacheDir>/bin/temporal`. */
export function cachedCliPath(cacheDir: string): string {
  return path.join(cacheDir, 'bin', exeName);
}

/**
 * Finds a Temporal CLI: TEMPORAL_CLI_PATH -> `temporal` on PATH -> cached build -> the SDK's download
 * -> `go install`. Throws TemporalCliPathError for a bad TEMPORAL_CLI_PATH, else TemporalCliNotFoundError.
 */
export async function resolveTemporalCli(opts: ResolveTemporalCliOptions): Promise<ResolvedTemporalCli> {
  if (opts.cliPathEnv) {
    const reason = await notExecutableReason(opts.cliPathEnv);
    if (reason) throw new TemporalCliPathError(opts.cliPathEnv, reason);
    return { path: path.resolve(opts.cliPathEnv), source: 'TEMPORAL_CLI_PATH' };
  }
  const attempts: string[] = [];
  const pathEnv = opts.pathEnv ?? process.env.PATH ?? '';

  const onPath = await findOnPath(exeName, pathEnv);
  if (onPath && (await cliVersion(onPath))) return { path: onPath, source: 'PATH' };
  attempts.push(onPath ? `PATH: ${onPath} does not run` : 'PATH: no `temporal`');

  const cached = cachedCliPath(opts.cacheDir);
  const cachedReason = await notExecutableReason(cached);
  if (!cachedReason && (await cliVersion(cached))) return { path: cached, source: 'cache' };
  attempts.push(`cache: ${cached} ${cachedReason ?? 'does not run'}`);

  try {
    await downloadCli(cached, opts.log);
    return { path: cached, source: 'sdk-download' };
  } catch (err) {
    const msg = `SDK download: ${errorMessage(err)}`;
    attempts.push(msg);
    opts.log(`${msg}; trying go install`);
  }

  try {
    await goInstallCli(cached, pathEnv, opts.log);
    return { path: cached, source: 'go-install' };
  } catch (err) {
    attempts.push(`go install: ${errorMessage(err)}`);
  }
  throw new TemporalCliNotFoundError(attempts);
}

/** The first line of `temporal --version`, or undefined when the binary does not run. */
export async function cliVersion(cliPath: string): Promise<string | undefined> {
  try {
    const { code, output } = await run(cliPath, ['--version'], { timeoutMs: 15_000 });
    const line = output.split('\n')[0]?.trim();
    return code === 0 && line?.startsWith('temporal version') ? line : undefined;
  } catch {
    return undefined;
  }
}

async function notExecutableReason(file: string): Promise<string | undefined> {
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) return 'is not a file';
    await fs.access(file, fsConstants.X_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'does not exist';
    if (code === 'EACCES') return 'is not executable';
    return `cannot be used (${errorMessage(err)})`;
  }
}

async function findOnPath(name: string, pathEnv: string): Promise<string | undefined> {
  for (const dir of pathEnv.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (!(await notExecutableReason(candidate))) return candidate;
  }
  return undefined;
}

/** Writes to a sibling temp file then renames, so an interrupted install never leaves a half binary. */
async function installAtomically(dest: string, write: (tmp: string) => Promise<void>): Promise<void> {
  await fs.mkdir(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.${process.pid}.tmp`;
  try {
    await write(tmp);
    await fs.chmod(tmp, 0o755);
    if (!(await cliVersion(tmp))) throw new Error(`${tmp} does not run`);
    await fs.rename(tmp, dest);
  } finally {
    await fs.rm(tmp, { force: true, recursive: true });
  }
}

// --- SDK download -------------------------------------------------------------------------------

/**
 * The SDK downloads through its native bridge only while starting a server, with no timeout we control,
 * so this mirrors its protocol (sdk-core `ephemeral_server/mod.rs`): ask temporal.download which CLI
 * archive suits this SDK version, then extract the binary from that tar.gz.
 */
async function downloadCli(dest: string, log: (msg: string) => void): Promise<void> {
  const platforms: Record<string, string> = { linux: 'linux', darwin: 'darwin' };
  const arches: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };
  const platform = platforms[process.platform];
  const arch = arches[process.arch];
  if (!platform || !arch) throw new Error(`no download for ${process.platform}/${process.arch}`);
  const query = new URLSearchParams({
    arch,
    platform,
    format: 'tar.gz',
    'sdk-name': 'sdk-typescript',
    'sdk-version': sdkVersion(),
  });
  const infoResponse = await fetch(`https://temporal.download/cli/default?${query}`, {
    signal: AbortSignal.timeout(10_000),
  });
  if (!infoResponse.ok) throw new Error(`temporal.download answered ${infoResponse.status}`);
  const info = (await infoResponse.json()) as { archiveUrl?: unknown; fileToExtract?: unknown };
  if (typeof info.archiveUrl !== 'string' || typeof info.fileToExtract !== 'string') {
    throw new Error('temporal.download answered without archiveUrl/fileToExtract');
  }
  log(`downloading Temporal CLI from ${info.archiveUrl}`);
  const archive = await fetchWithProgress(info.archiveUrl, log);
  const binary = extractFromTarGz(archive, info.fileToExtract);
  if (!binary) throw new Error(`${info.fileToExtract} not found in ${info.archiveUrl}`);
  await installAtomically(dest, (tmp) => fs.writeFile(tmp, binary));
}

function sdkVersion(): string {
  const pkg = JSON.parse(readFileSync(require.resolve('@temporalio/testing/package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** Fails within 10 s when nothing answers; the body itself may take up to 5 minutes. */
async function fetchWithProgress(url: string, log: (msg: string) => void): Promise<Buffer> {
  const controller = new AbortController();
  const headerTimer = setTimeout(() => controller.abort(new Error('no answer within 10 s')), 10_000);
  const bodyTimer = setTimeout(() => controller.abort(new Error('download took over 5 minutes')), 300_000);
  const started = Date.now();
  try {
    const response = await fetch(url, { signal: controller.signal });
    clearTimeout(headerTimer);
    if (!response.ok || !response.body) throw new Error(`${url} answered ${response.status}`);
    const total = Number(response.headers.get('content-length') ?? 0);
    const chunks: Buffer[] = [];
    let received = 0;
    let lastReport = started;
    for await (const chunk of response.body) {
      chunks.push(Buffer.from(chunk));
      received += chunk.byteLength;
      if (Date.now() - lastReport >= 5_000) {
        lastReport = Date.now();
        const pct = total > 0 ? ` of ${mb(total)} (${Math.round((received / total) * 100)}%)` : '';
        log(`downloaded ${mb(received)}${pct}`);
      }
    }
    return Buffer.concat(chunks);
  } finally {
    clearTimeout(headerTimer);
    clearTimeout(bodyTimer);
  }
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Returns the content of `fileName` from a gzipped tar archive (ustar, GNU long names), if present. */
export function extractFromTarGz(archive: Buffer, fileName: string): Buffer | undefined {
  const tar = zlib.gunzipSync(archive);
  const wanted = normalizeTarName(fileName);
  let offset = 0;
  let longName: string | undefined;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, length: number): string =>
      header
        .subarray(start, start + length)
        .toString('utf8')
        .replace(/\0.*$/s, '');
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1);
    const prefix = field(257, 6).startsWith('ustar') ? field(345, 155) : '';
    const name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    longName = undefined;
    const body = tar.subarray(offset + 512, offset + 512 + size);
    offset += 512 + Math.ceil(size / 512) * 512;
    if (type === 'L') {
      longName = body.toString('utf8').replace(/\0.*$/s, '');
    } else if ((type === '0' || type === '') && normalizeTarName(name) === wanted) {
      return Buffer.from(body);
    }
  }
  return undefined;
}

function normalizeTarName(name: string): string {
  return name.replace(/^(\.\/)+/, '');
}

// --- go install ---------------------------------------------------------------------------------

async function goInstallCli(dest: string, pathEnv: string, log: (msg: string) => void): Promise<void> {
  const go = await findOnPath(process.platform === 'win32' ? 'go.exe' : 'go', pathEnv);
  if (!go) throw new Error('Go is not on PATH');
  const env = { ...process.env, PATH: pathEnv };
  const goVersion = (await run(go, ['env', 'GOVERSION'], { env, timeoutMs: 30_000 })).output.trim();
  const minor = Number(/^go1\.(\d+)/.exec(goVersion)?.[1] ?? NaN);
  if (!(minor >= 21)) throw new Error(`${goVersion || 'unknown Go version'} is too old (need >= 1.25)`);
  if (minor < MIN_GO_MINOR) {
    log(`${goVersion} < go1.${MIN_GO_MINOR}: Go will try to fetch a newer toolchain (needs internet)`);
  }
  // go install writes into GOBIN in place; build into a private dir and rename into the cache.
  await fs.mkdir(path.dirname(dest), { recursive: true });
  const gobin = await fs.mkdtemp(path.join(path.dirname(dest), '.go-install-'));
  try {
    log(
      `building Temporal CLI v${TEMPORAL_CLI_VERSION} with ${goVersion} into ${path.dirname(dest)} ` +
        '(the first build downloads ~1 GB of modules and takes several minutes)',
    );
    await runGoInstall(go, gobin, env, log);
    await installAtomically(dest, (tmp) => fs.rename(path.join(gobin, exeName), tmp));
  } finally {
    await fs.rm(gobin, { recursive: true, force: true });
  }
}

function runGoInstall(go: string, gobin: string, env: NodeJS.ProcessEnv, log: (msg: string) => void) {
  const ldflags = `-s -w -X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION}`;
  const args = ['install', '-v', `-ldflags=${ldflags}`, `${CLI_MODULE}@v${TEMPORAL_CLI_VERSION}`];
  return goInstall(go, args, { ...env, CGO_ENABLED: '0', GOBIN: gobin }, log);
}

/**
 * Runs `go install -v ...` (args given whole), counting downloaded modules and compiled packages on a
 * 15 s heartbeat; rejects with the last lines of output when go fails. Also used by the cluster build.
 */
export function goInstall(
  go: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  log: (msg: string) => void,
): Promise<void> {
  const child = spawn(go, args, { env, stdio: ['ignore', 'pipe', 'pipe'], cwd: os.tmpdir() });
  const started = Date.now();
  let modules = 0;
  let packages = 0;
  const tail: string[] = [];
  // `-v` prints one import path per compiled package and `go: downloading` per module: count those,
  // pass anything else (errors, warnings) through, and report counts on a 15 s heartbeat.
  const onLine = (line: string): void => {
    if (line.startsWith('go: downloading ')) modules += 1;
    else if (/^[\w.~+-]+(\/[\w.~+-]+)*$/.test(line)) packages += 1;
    else if (line.trim()) {
      tail.push(line);
      if (tail.length > 30) tail.shift();
      log(`go: ${line.replace(/^go: /, '')}`);
    }
  };
  for (const stream of [child.stdout, child.stderr])
    readline.createInterface({ input: stream }).on('line', onLine);
  const heartbeat = setInterval(() => {
    log(
      `go install: ${elapsed(started)} elapsed, ${modules} modules downloaded, ${packages} packages compiled`,
    );
  }, 15_000);
  return new Promise<void>((resolve, reject) => {
    child.once('error', (err) => {
      clearInterval(heartbeat);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearInterval(heartbeat);
      if (code === 0) {
        log(
          `go install: done in ${elapsed(started)} (${modules} modules downloaded, ${packages} packages compiled)`,
        );
        resolve();
      } else {
        const why = signal ? `was killed by ${signal}` : `exited with ${code}`;
        reject(new Error(`go ${why} after ${elapsed(started)}${tail.length ? `:\n${tail.join('\n')}` : ''}`));
      }
    });
  });
}

function elapsed(since: number): string {
  const s = Math.round((Date.now() - since) / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

// --- helpers ------------------------------------------------------------------------------------

function run(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: opts.timeoutMs,
      cwd: os.tmpdir(),
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

function errorMessage(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
  return `${err.message}${cause}`;
}
