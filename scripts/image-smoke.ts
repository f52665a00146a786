/**
 * `tsx scripts/image-smoke.ts <app dir>`: runs the image's roles from a built tree (the final stage that
 * `KEEP=1 bash scripts/image-check.sh` leaves, or this repository after `npm run build`) against real
 * servers: an embedded PostgreSQL, a Temporal dev server and an SMTP sink, on free ports in a temp
 * directory. Checks, with the tree's own node_modules:
 *   node dist/scripts/migrate.js exits 0;
 *   node dist/scripts/admin.js create-user (password on stdin) exits 0;
 *   node dist/api/main.js answers 200 on /readyz, and exits 0 soon after SIGTERM;
 *   node dist/worker/main.js answers 200 on its ops port's /readyz, and exits 0 soon after SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { loadConfig } from '../lib/config';
import { freePort } from '../infra/ports';
import { startEmbeddedPostgres } from '../infra/postgres';
import { startSmtpSink } from '../infra/smtp-sink';
import { resolveTemporalCli } from '../infra/temporal-cli';
import { startTemporalDevServer } from '../infra/temporal-server';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

const log = (msg: string): void => console.log(`image-smoke: ${msg}`);

function start(appDir: string, args: string[], env: NodeJS.ProcessEnv, stdin?: string): ChildProcess {
  const child = spawn(process.execPath, args, {
    cwd: appDir,
    env,
    stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  const name = args[0] ?? '';
  const tail: string[] = [];
  for (const stream of [child.stdout, child.stderr])
    stream?.on('data', (chunk: Buffer) => {
      tail.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      tail.splice(0, Math.max(0, tail.length - 15));
    });
  child.on('exit', (code, signal) => {
    if (code !== 0) console.log(`--- ${name} exited ${code ?? signal}; last output:\n${tail.join('\n')}`);
  });
  if (stdin !== undefined) child.stdin?.end(stdin);
  return child;
}

function exited(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no exit within ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

async function ready(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode} before ${url} answered`);
    const status = await fetch(url).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline)
      throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (last ${status})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function stopWithin(name: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const started = Date.now();
  child.kill('SIGTERM');
  const code = await exited(child, timeoutMs);
  if (code !== 0) throw new Error(`${name} exited ${code} after SIGTERM`);
  log(`${name}: SIGTERM -> exit 0 in ${Date.now() - started} ms`);
}

async function temporalSearchAttributes(address: string): Promise<string[]> {
  const connection = await Connection.connect({ address });
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({
      namespace: 'default',
    });
    return Object.keys(customAttributes ?? {});
  } finally {
    await connection.close();
  }
}

async function main(): Promise<void> {
  const appDir = path.resolve(process.argv[2] ?? '.');
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'image-smoke-'));
  const config = loadConfig();
  const stops: (() => Promise<void>)[] = [];
  const children: ChildProcess[] = [];
  try {
    const cli = await resolveTemporalCli({
      cacheDir: config.cacheDir,
      cliPathEnv: config.temporalCliPath,
      log,
    });
    const [pg, temporal, sink] = await Promise.all([
      startEmbeddedPostgres({ dataDir: path.join(tmp, 'pg'), port: await freePort(), log, unsafeFast: true }),
      startTemporalDevServer({
        cliPath: cli.path,
        port: await freePort(),
        namespace: 'default',
        searchAttributes: {},
        log,
      }),
      startSmtpSink({ port: 0, host: '127.0.0.1' }),
    ]);
    stops.push(
      () => sink.stop(),
      () => temporal.stop(),
      () => pg.stop(),
    );
    const apiPort = await freePort();
    const opsPort = await freePort();
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      DATABASE_URL: pg.url,
      TEMPORAL_ADDRESS: temporal.address,
      SMTP_URL: `smtp://127.0.0.1:${sink.port}`,
      MAIL_FROM: 'CRM <crm@example.com>',
      HOST: '127.0.0.1',
      PORT: String(apiPort),
      WORKER_OPS_PORT: String(opsPort),
      PUBLIC_URL: `http://localhost:${apiPort}`,
      LOG_LEVEL: 'warn',
    };

    let started = Date.now();
    const migrateCode = await exited(start(appDir, ['dist/scripts/migrate.js'], env), 120_000);
    if (migrateCode !== 0) throw new Error(`migrate exited ${migrateCode}`);
    log(`node dist/scripts/migrate.js: exit 0 in ${Date.now() - started} ms`);
    // The dev server was started without the search attributes: migrate registered them.
    const described = await temporalSearchAttributes(temporal.address);
    const missing = Object.keys(SEARCH_ATTRIBUTES).filter((name) => !described.includes(name));
    if (missing.length > 0) throw new Error(`migrate did not register ${missing.join(', ')}`);
    log(`  search attributes registered: ${Object.keys(SEARCH_ATTRIBUTES).join(', ')}`);

    const admin = start(
      appDir,
      [
        'dist/scripts/admin.js',
        'create-user',
        '--email',
        'ops@example.com',
        '--name',
        'Ops',
        '--role',
        'admin',
        '--password-stdin',
      ],
      env,
      'a long smoke passphrase\n',
    );
    if ((await exited(admin, 60_000)) !== 0) throw new Error('admin create-user failed');
    log('node dist/scripts/admin.js create-user --role admin --password-stdin: exit 0');

    started = Date.now();
    const api = start(appDir, ['dist/api/main.js'], env);
    children.push(api);
    await ready(`http://127.0.0.1:${apiPort}/readyz`, api, 60_000);
    log(`node dist/api/main.js: /readyz 200 after ${Date.now() - started} ms`);
    const session = await fetch(`http://127.0.0.1:${apiPort}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'ops@example.com', password: 'a long smoke passphrase' }),
    });
    if (!session.ok) throw new Error(`sign-in as the CLI-created admin answered ${session.status}`);
    log(`POST /api/session as the admin the CLI created: ${session.status}`);

    started = Date.now();
    const worker = start(appDir, ['dist/worker/main.js'], env);
    children.push(worker);
    await ready(`http://127.0.0.1:${opsPort}/readyz`, worker, 90_000);
    log(`node dist/worker/main.js: ops /readyz 200 after ${Date.now() - started} ms`);

    await stopWithin('api', api, 30_000);
    await stopWithin('worker', worker, 60_000);
    log('all roles ran');
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    for (const stop of stops) await stop().catch(() => undefined);
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`image-smoke: FAILED: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
