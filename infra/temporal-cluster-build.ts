import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { goInstall } from './temporal-cli';

/**
 * The real Temporal server for the cluster test tier, built from Go modules: v1.30.4 declares go 1.25.8
 * and has no `replace` directives (v1.31+ need a newer Go than this machine's; see TEMPORAL.md).
 */
export const TEMPORAL_SERVER_VERSION = '1.30.4';
const SERVER_MODULE = 'go.temporal.io/server';
const PACKAGES = { server: 'cmd/server', sqlTool: 'cmd/tools/sql' } as const;

export interface TemporalServerBinaries {
  /** `temporal-server`: `--config-file F --service NAME start` (or all services in one). */
  server: string;
  /** `temporal-sql-tool`: creates databases and applies the versioned schema. */
  sqlTool: string;
  /** Holds `postgresql/v12/temporal/versioned` and `postgresql/v12/visibility/versioned`. */
  schemaDir: string;
  source: 'cache' | 'go-install';
}

export interface BuildTemporalServerOptions {
  /** Tool cache (config.cacheDir), shared with the CLI: everything lands in `<cacheDir>/temporal-server-v<version>/`. */
  cacheDir: string;
  log: (msg: string) => void;
  pathEnv?: string;
}

/** Where the built server, SQL tool and schema are kept. */
export function serverCacheDir(cacheDir: string): string {
  return path.join(cacheDir, `temporal-server-v${TEMPORAL_SERVER_VERSION}`);
}

function layout(cacheDir: string): Omit<TemporalServerBinaries, 'source'> {
  return layoutIn(serverCacheDir(cacheDir));
}

function layoutIn(dir: string): Omit<TemporalServerBinaries, 'source'> {
  return {
    server: path.join(dir, 'temporal-server'),
    sqlTool: path.join(dir, 'temporal-sql-tool'),
    schemaDir: path.join(dir, 'schema'),
  };
}

/** Returns the cached server build, or builds it with `go install` (minutes on a cold module cache). */
export async function resolveTemporalServer(
  opts: BuildTemporalServerOptions,
): Promise<TemporalServerBinaries> {
  const want = layout(opts.cacheDir);
  if (await isComplete(want)) return { ...want, source: 'cache' };
  const pathEnv = opts.pathEnv ?? process.env.PATH ?? '';
  const go = await findGo(pathEnv);
  const env = { ...process.env, PATH: pathEnv };
  const goVersion = (await run(go, ['env', 'GOVERSION'], env)).trim();
  const minor = Number(/^go1\.(\d+)/.exec(goVersion)?.[1] ?? NaN);
  if (!(minor >= 25))
    throw new Error(`${goVersion || 'unknown Go version'} is too old: Temporal server needs Go >= 1.25`);

  const dir = serverCacheDir(opts.cacheDir);
  await fs.mkdir(path.dirname(dir), { recursive: true });
  // Build into a sibling temp dir and rename it whole, so an interrupted build never looks complete.
  const tmp = await fs.mkdtemp(`${dir}.tmp-`);
  try {
    const gobin = path.join(tmp, 'gobin');
    await fs.mkdir(gobin);
    opts.log(
      `building Temporal server v${TEMPORAL_SERVER_VERSION} (${PACKAGES.server}, ${PACKAGES.sqlTool}) with ${goVersion} ` +
        `into ${dir} (a cold module cache downloads ~1 GB and takes several minutes)`,
    );
    const targets = Object.values(PACKAGES).map((p) => `${SERVER_MODULE}/${p}@v${TEMPORAL_SERVER_VERSION}`);
    await goInstall(
      go,
      ['install', '-v', '-ldflags=-s -w', ...targets],
      { ...env, CGO_ENABLED: '0', GOBIN: gobin },
      opts.log,
    );
    const stagedDir = path.join(tmp, 'stage');
    const staged = layoutIn(stagedDir);
    await fs.mkdir(stagedDir);
    await fs.rename(path.join(gobin, 'server'), staged.server);
    await fs.rename(path.join(gobin, 'sql'), staged.sqlTool);
    const modDir = (await run(go, ['env', 'GOMODCACHE'], env)).trim();
    const schemaSrc = path.join(modDir, `${SERVER_MODULE}@v${TEMPORAL_SERVER_VERSION}`, 'schema');
    await fs.cp(path.join(schemaSrc, 'postgresql'), path.join(staged.schemaDir, 'postgresql'), {
      recursive: true,
    });
    // Module cache files are read-only; the copy must be removable later.
    await run('chmod', ['-R', 'u+w', staged.schemaDir], env);
    const version = await serverVersion(staged.server);
    if (!version.includes(TEMPORAL_SERVER_VERSION)) throw new Error(`built server reports "${version}"`);
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rename(stagedDir, dir);
    opts.log(`Temporal server ${version} cached in ${dir}`);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
  return { ...want, source: 'go-install' };
}

/** `temporal-server --version`, e.g. "temporal version 1.30.4". */
export async function serverVersion(server: string): Promise<string> {
  return (await run(server, ['--version'], process.env)).trim().split('\n')[0] ?? '';
}

async function isComplete(l: Omit<TemporalServerBinaries, 'source'>): Promise<boolean> {
  try {
    await fs.access(l.server, fsConstants.X_OK);
    await fs.access(l.sqlTool, fsConstants.X_OK);
    await fs.access(path.join(l.schemaDir, 'postgresql', 'v12', 'temporal', 'versioned'));
    return true;
  } catch {
    return false;
  }
}

async function findGo(pathEnv: string): Promise<string> {
  for (const dir of pathEnv.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, 'go');
    try {
      await fs.access(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  throw new Error('Go is not on PATH: install Go >= 1.25 to build the Temporal server for the cluster tier');
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 30_000,
      cwd: os.tmpdir(),
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0
        ? resolve(output)
        : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}: ${output}`)),
    );
  });
}
