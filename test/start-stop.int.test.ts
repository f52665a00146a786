/**
 * Stopping `npm start` (scripts/start.ts) as a real process: Ctrl-C drains and stops its servers, a
 * `kill -9` leaves them behind and the next start stops them, a stranger on a port is left alone.
 * The servers are found by scanning /proc for command lines naming this test's data directory, not by
 * the pid files the start script writes, so the check does not trust the code under test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../infra/ports';
import { ROOT } from './support/env';

const READY = 'Press Ctrl-C to stop.';

interface Run {
  child: ChildProcess;
  output: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const runs: Run[] = [];
const dataDirs: string[] = [];
const strangers: ChildProcess[] = [];

async function stackEnv(dataDir: string): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: String(await freePort()),
    TEMPORAL_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
    EMBEDDED_POSTGRES_PORT: String(await freePort()),
    SMTP_SINK_PORT: String(await freePort()),
    TASK_QUEUE: `start-stop-${path.basename(dataDir)}`,
    // No demo users (so the shipped definitions are skipped for want of teams: fatal-only logs).
    SEED_DEMO: 'false',
    LOG_LEVEL: 'fatal',
    // What the jest set-up bundled once, and no web app: the test is about processes, not screens.
    WORKFLOW_BUNDLE_PATH: process.env.TEST_WORKFLOW_BUNDLE ?? '',
    WEB_DIST_DIR: path.join(dataDir, 'no-web'),
  };
  delete env.DATABASE_URL;
  delete env.TEMPORAL_ADDRESS;
  delete env.SMTP_URL;
  return env;
}

/** Runs scripts/start.ts in its own node process (tsx as a loader: signals reach the script itself). */
function start(env: NodeJS.ProcessEnv): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const run = { child, output: () => text, exit };
  runs.push(run);
  return run;
}

async function untilReady(run: Run, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!run.output().includes(READY)) {
    if (run.child.exitCode !== null || run.child.signalCode !== null)
      throw new Error(`start exited early:\n${run.output()}`);
    if (Date.now() > deadline) throw new Error(`start not ready in ${timeoutMs} ms:\n${run.output()}`);
    await sleep(100);
  }
}

/** Live processes whose command line contains `text` (the Temporal dev server and the postmaster). */
function processesNaming(text: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const state = /^State:\s+(\w)/m.exec(fs.readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1];
      if (cmdline.includes(text) && state !== 'Z') found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found.sort((a, b) => a - b);
}

/**
 * Whether the process still runs. A zombie (state Z: ended, not yet reaped by the parent it was handed to
 * after the kill -9 of npm start) has ended, though `kill(pid, 0)` still finds it.
 */
function alive(pid: number): boolean {
  try {
    const state = /^State:\s+(\w)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return state !== undefined && state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

afterAll(async () => {
  for (const run of runs)
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
  for (const child of strangers) child.kill('SIGKILL');
  // Whatever a failed test left: this test's own servers only (their command lines name its directories).
  for (const dir of dataDirs) for (const pid of processesNaming(dir)) process.kill(pid, 'SIGKILL');
  await sleep(200);
  for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('npm start after kill -9, then Ctrl-C', () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let second: Run;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-start-stop-'));
    dataDirs.push(dataDir);
    env = await stackEnv(dataDir);
  });

  it('after a kill -9 its servers keep running, and the next start stops them and comes up', async () => {
    const first = start(env);
    await untilReady(first);
    const servers = processesNaming(dataDir);
    // The Temporal dev server (--db-filename under DATA_DIR) and the postmaster (-D under DATA_DIR).
    expect(servers).toHaveLength(2);
    first.child.kill('SIGKILL');
    await first.exit;
    await sleep(300);
    expect(servers.filter(alive)).toEqual(servers);

    second = start(env);
    await untilReady(second);
    expect(servers.filter(alive)).toEqual([]);
    expect(processesNaming(dataDir)).toHaveLength(2);
    expect(second.output()).not.toMatch(/already in use/);
  }, 240_000);

  it('Ctrl-C (SIGINT passed on again by npm and tsx) drains, stops the servers and exits 0', async () => {
    let dir = dataDir;
    if (second === undefined || second.child.exitCode !== null) {
      // The test before did not leave a running start: run one of its own.
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-start-stop-'));
      dataDirs.push(dir);
      second = start(await stackEnv(dir));
      await untilReady(second);
    }
    const servers = processesNaming(dir);
    expect(servers).toHaveLength(2);
    const stopped = Date.now();
    // One Ctrl-C in a terminal reaches node more than once: from the terminal, then relayed by tsx and npm.
    second.child.kill('SIGINT');
    await sleep(20);
    second.child.kill('SIGINT');
    await sleep(30);
    second.child.kill('SIGINT');
    const { code } = await within(second.exit, 30_000, `no exit 30 s after SIGINT:\n${second.output()}`);
    expect({ code, output: code === 0 ? '' : second.output().slice(-2000) }).toEqual({ code: 0, output: '' });
    expect(Date.now() - stopped).toBeLessThan(30_000);
    expect(second.output()).not.toMatch(/Forced exit/);
    expect(servers.filter(alive)).toEqual([]);
    expect(processesNaming(dir)).toEqual([]);
  }, 150_000);
});

describe('a port held by a process that is not ours', () => {
  it('is not killed, even when a pid file names it, and start fails naming the port and its setting', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-start-foreign-'));
    dataDirs.push(dataDir);
    const env = await stackEnv(dataDir);
    const port = Number(env.TEMPORAL_PORT);
    const stranger = spawn(
      process.execPath,
      [
        '-e',
        `require('node:net').createServer().listen(${port}, '127.0.0.1', () => console.log('listening'))`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    strangers.push(stranger);
    await new Promise<void>((resolve) => stranger.stdout?.once('data', () => resolve()));
    // A pid file naming the stranger, as a crash could leave if the pid was reused since.
    fs.writeFileSync(
      path.join(dataDir, 'temporal.pid'),
      JSON.stringify({ pid: stranger.pid, argv: ['/usr/local/bin/temporal', 'server', 'start-dev'] }),
    );

    const run = start(env);
    const { code } = await within(run.exit, 60_000, `start did not fail:\n${run.output()}`);
    expect(code).not.toBe(0);
    expect(alive(stranger.pid as number)).toBe(true);
    expect(run.output()).toContain(`127.0.0.1:${port}`);
    expect(run.output()).toContain('TEMPORAL_PORT');
    expect(processesNaming(dataDir)).toEqual([]);
  }, 90_000);
});

describe('a second npm start on the same data directory', () => {
  it('fails naming the running one and stops none of its servers', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-start-twice-'));
    dataDirs.push(dataDir);
    const env = await stackEnv(dataDir);
    // A live process (this test's own) recorded as the data directory's running npm start.
    const self = fs.readFileSync('/proc/self/cmdline', 'utf8').split('\0').slice(0, -1);
    fs.writeFileSync(path.join(dataDir, 'start.pid'), JSON.stringify({ pid: process.pid, argv: self }));

    const run = start(env);
    const { code } = await within(run.exit, 60_000, `start did not fail:\n${run.output()}`);
    expect(code).not.toBe(0);
    expect(run.output()).toContain(`Another npm start (pid ${process.pid})`);
    expect(run.output()).toContain('DATA_DIR');
    expect(JSON.parse(fs.readFileSync(path.join(dataDir, 'start.pid'), 'utf8'))).toMatchObject({
      pid: process.pid,
    });
    expect(processesNaming(dataDir)).toEqual([]);
  }, 90_000);
});
