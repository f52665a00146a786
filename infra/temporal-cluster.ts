import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import pg from 'pg';
import type { TemporalServerBinaries } from './temporal-cluster-build';
import { ensureSearchAttributes } from './temporal-server';
import type { SearchAttributeKind } from './temporal-server';
import { canConnect, freeBlock } from './ports';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

/** The four Temporal services, each run as its own `temporal-server` process. */
export const CLUSTER_SERVICES = ['history', 'matching', 'frontend', 'worker'] as const;
export type ClusterService = (typeof CLUSTER_SERVICES)[number];

export interface TemporalClusterOptions {
  binaries: TemporalServerBinaries;
  /** Postgres the cluster persists to, e.g. the embedded one (`postgres://user:pw@host:port/db`). */
  postgresUrl: string;
  /** Directory for the config and each service's log. */
  workDir: string;
  /** First of a block of ports: frontend gRPC = base, history = base+1, matching = base+2, worker = base+3; membership = base+10.., frontend HTTP = base+20. */
  basePort: number;
  namespace: string;
  searchAttributes: Record<string, SearchAttributeKind>;
  numHistoryShards?: number;
  /** Database names; default `temporal` and `temporal_visibility`. */
  databases?: { main: string; visibility: string };
  log: (msg: string) => void;
}

export interface TemporalCluster {
  address: string;
  configFile: string;
  pid(service: ClusterService): number | undefined;
  /** `kill -9` one service process. */
  kill(service: ClusterService): Promise<void>;
  /** Starts a service process (after kill) and waits for its gRPC port. */
  start(service: ClusterService): Promise<void>;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const OFFSETS: Record<ClusterService, number> = { frontend: 0, history: 1, matching: 2, worker: 3 };

/** Sets up Temporal's schema with its SQL tool (idempotent: creates missing databases, then applies updates). */
export async function setupTemporalSchema(opts: {
  binaries: TemporalServerBinaries;
  postgresUrl: string;
  databases: { main: string; visibility: string };
  log: (msg: string) => void;
}): Promise<void> {
  const url = new URL(opts.postgresUrl);
  const admin = new pg.Client({ connectionString: opts.postgresUrl });
  await admin.connect();
  let existing: Set<string>;
  try {
    const rows = await admin.query<{ datname: string }>('SELECT datname FROM pg_database');
    existing = new Set(rows.rows.map((r) => r.datname));
  } finally {
    await admin.end();
  }
  const common = [
    '--plugin',
    'postgres12',
    '--ep',
    url.hostname,
    '-p',
    url.port || '5432',
    '-u',
    decodeURIComponent(url.username),
    '--pw',
    decodeURIComponent(url.password),
  ];
  const schemas = {
    [opts.databases.main]: path.join(opts.binaries.schemaDir, 'postgresql', 'v12', 'temporal', 'versioned'),
    [opts.databases.visibility]: path.join(
      opts.binaries.schemaDir,
      'postgresql',
      'v12',
      'visibility',
      'versioned',
    ),
  };
  for (const [db, dir] of Object.entries(schemas)) {
    const tool = (...args: string[]): Promise<void> =>
      runTool(opts.binaries.sqlTool, [...common, '--db', db, ...args]);
    if (!existing.has(db)) {
      opts.log(`temporal-sql-tool: creating database ${db}`);
      await tool('create-database');
      await tool('setup-schema', '-v', '0.0');
    }
    opts.log(`temporal-sql-tool: updating schema of ${db} from ${dir}`);
    await tool('update-schema', '-d', dir);
  }
}

/** The server config: SQL persistence on `postgres12`, one block of loopback ports, several history shards. */
export function clusterConfigYaml(opts: {
  postgresUrl: string;
  basePort: number;
  numHistoryShards: number;
  databases: { main: string; visibility: string };
  dynamicConfigFile: string;
}): string {
  const url = new URL(opts.postgresUrl);
  // Four services, each with a pool per store: keep them small beside the app's own pools.
  const store = (db: string, maxConns: number): string[] => [
    '      sql:',
    '        pluginName: "postgres12"',
    `        databaseName: ${JSON.stringify(db)}`,
    `        connectAddr: ${JSON.stringify(`${url.hostname}:${url.port || '5432'}`)}`,
    '        connectProtocol: "tcp"',
    `        user: ${JSON.stringify(decodeURIComponent(url.username))}`,
    `        password: ${JSON.stringify(decodeURIComponent(url.password))}`,
    `        maxConns: ${maxConns}`,
    `        maxIdleConns: ${maxConns}`,
    '        maxConnLifetime: "1h"',
  ];
  const service = (name: ClusterService): string[] => {
    const lines = [
      `  ${name}:`,
      '    rpc:',
      `      grpcPort: ${opts.basePort + OFFSETS[name]}`,
      `      membershipPort: ${opts.basePort + 10 + OFFSETS[name]}`,
      `      bindOnIP: "${HOST}"`,
    ];
    if (name === 'frontend') lines.push(`      httpPort: ${opts.basePort + 20}`);
    return lines;
  };
  const frontend = `${HOST}:${opts.basePort}`;
  return [
    'log:',
    '  stdout: true',
    '  level: warn',
    '  format: json',
    'persistence:',
    `  numHistoryShards: ${opts.numHistoryShards}`,
    '  defaultStore: default',
    '  visibilityStore: visibility',
    '  datastores:',
    '    default:',
    ...store(opts.databases.main, 8),
    '    visibility:',
    ...store(opts.databases.visibility, 3),
    'global:',
    '  membership:',
    '    maxJoinDuration: 30s',
    `    broadcastAddress: "${HOST}"`,
    'services:',
    ...CLUSTER_SERVICES.flatMap(service),
    'clusterMetadata:',
    '  enableGlobalNamespace: false',
    '  failoverVersionIncrement: 10',
    '  masterClusterName: "active"',
    '  currentClusterName: "active"',
    '  clusterInformation:',
    '    active:',
    '      enabled: true',
    '      initialFailoverVersion: 1',
    '      rpcName: "frontend"',
    `      rpcAddress: "${frontend}"`,
    `      httpAddress: "${HOST}:${opts.basePort + 20}"`,
    'dcRedirectionPolicy:',
    '  policy: "noop"',
    'archival:',
    '  history:',
    '    state: "disabled"',
    '  visibility:',
    '    state: "disabled"',
    'namespaceDefaults:',
    '  archival:',
    '    history:',
    '      state: "disabled"',
    '    visibility:',
    '      state: "disabled"',
    'publicClient:',
    `  hostPort: "${frontend}"`,
    'dynamicConfigClient:',
    `  filepath: ${JSON.stringify(opts.dynamicConfigFile)}`,
    '  pollInterval: "10s"',
    '',
  ].join('\n');
}

const DYNAMIC_CONFIG = [
  // No internet: no version check.
  'frontend.enableServerVersionCheck:',
  '  - value: false',
  // Registered namespaces and search attributes become visible within a second, not 10 s.
  'system.namespaceCacheRefreshInterval:',
  '  - value: 1s',
  '',
].join('\n');

/** Sets up the schema, writes the config and starts the four services as separate processes. */
export async function startTemporalCluster(opts: TemporalClusterOptions): Promise<TemporalCluster> {
  const databases = opts.databases ?? { main: 'temporal', visibility: 'temporal_visibility' };
  await fsp.mkdir(opts.workDir, { recursive: true });
  await setupTemporalSchema({
    binaries: opts.binaries,
    postgresUrl: opts.postgresUrl,
    databases,
    log: opts.log,
  });
  const dynamicConfigFile = path.join(opts.workDir, 'dynamicconfig.yaml');
  await fsp.writeFile(dynamicConfigFile, DYNAMIC_CONFIG);
  const configFile = path.join(opts.workDir, 'temporal.yaml');
  await fsp.writeFile(
    configFile,
    clusterConfigYaml({
      postgresUrl: opts.postgresUrl,
      basePort: opts.basePort,
      numHistoryShards: opts.numHistoryShards ?? 4,
      databases,
      dynamicConfigFile,
    }),
  );
  const address = `${HOST}:${opts.basePort}`;
  const children = new Map<ClusterService, { child: ChildProcess; exited: Promise<void> }>();
  const killAll = (): void => {
    for (const { child } of children.values()) child.kill('SIGKILL');
  };
  process.once('exit', killAll);

  const start = async (service: ClusterService): Promise<void> => {
    const logFile = fs.openSync(path.join(opts.workDir, `${service}.log`), 'a');
    const child = spawn(
      opts.binaries.server,
      ['--config-file', configFile, '--allow-no-auth', 'start', '--service', service],
      {
        stdio: ['ignore', logFile, logFile],
        detached: true,
      },
    );
    fs.closeSync(logFile);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    children.set(service, { child, exited });
    // The worker service serves no gRPC; its membership (ringpop) port says it has started.
    const port = opts.basePort + OFFSETS[service] + (service === 'worker' ? 10 : 0);
    const deadline = Date.now() + 60_000;
    while (!(await canConnect(port, HOST, 500))) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`temporal ${service} exited; see ${path.join(opts.workDir, `${service}.log`)}`);
      if (Date.now() > deadline) throw new Error(`temporal ${service} did not open port ${port} within 60 s`);
      await sleep(200);
    }
    opts.log(`temporal ${service} up (pid ${child.pid}, port ${port})`);
  };
  const kill = async (service: ClusterService): Promise<void> => {
    const entry = children.get(service);
    if (!entry) return;
    entry.child.kill('SIGKILL');
    await entry.exited;
    children.delete(service);
  };
  const stop = async (): Promise<void> => {
    process.removeListener('exit', killAll);
    // Reverse start order: frontend and worker first, history last.
    for (const service of [...CLUSTER_SERVICES].reverse()) {
      const entry = children.get(service);
      if (!entry) continue;
      entry.child.kill('SIGTERM');
      const done = await Promise.race([entry.exited.then(() => true), sleep(10_000).then(() => false)]);
      if (!done) entry.child.kill('SIGKILL');
      await entry.exited;
      children.delete(service);
    }
  };

  try {
    for (const service of CLUSTER_SERVICES) await start(service);
    await registerNamespace(address, opts.namespace, opts.searchAttributes, opts.log);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    address,
    configFile,
    pid: (service) => children.get(service)?.child.pid,
    kill,
    start,
    stop,
  };
}

/** Registers the namespace (if missing) and our search attributes, retrying while the cluster settles. */
async function registerNamespace(
  address: string,
  namespace: string,
  attrs: Record<string, SearchAttributeKind>,
  log: (msg: string) => void,
): Promise<void> {
  const connection = await Connection.connect({ address, connectTimeout: 5000 });
  const deadline = Date.now() + 90_000;
  let lastError = '';
  try {
    while (Date.now() < deadline) {
      try {
        try {
          await connection.workflowService.describeNamespace({ namespace });
        } catch {
          await connection.workflowService.registerNamespace({
            namespace,
            workflowExecutionRetentionPeriod: msToTs('3 days'),
          });
          log(`registered namespace ${namespace}`);
          await sleep(1500);
          await connection.workflowService.describeNamespace({ namespace });
        }
        const added = await ensureSearchAttributes(connection, namespace, attrs);
        if (added.length > 0) log(`registered search attributes ${added.join(', ')}`);
        return;
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
        await sleep(1000);
      }
    }
    throw new Error(`namespace ${namespace} not ready within 90 s: ${lastError}`);
  } finally {
    await connection.close();
  }
}

function runTool(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0
        ? resolve()
        : reject(
            new Error(
              `temporal-sql-tool ${args.slice(-3).join(' ')} exited with ${code}:\n${output.slice(-2000)}`,
            ),
          ),
    );
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The project's cluster as the cluster test tier and `BENCH_TEMPORAL=cluster` run it. */
export const PROJECT_CLUSTER_SHARDS = 4;

/**
 * Starts the cluster with the project's settings: the case search attributes, 4 history shards, and a
 * free block of ports. One place for both the cluster test tier and the cluster benchmark.
 */
export async function startProjectCluster(opts: {
  binaries: TemporalServerBinaries;
  postgresUrl: string;
  workDir: string;
  namespace: string;
  log: (msg: string) => void;
}): Promise<TemporalCluster> {
  return startTemporalCluster({
    ...opts,
    basePort: await freeBlock(30),
    searchAttributes: SEARCH_ATTRIBUTES,
    numHistoryShards: PROJECT_CLUSTER_SHARDS,
  });
}
