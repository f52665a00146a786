/**
 * Ctrl-C as our processes answer it (lib/stop-signals.ts), in a real child process with real signals: the
 * first one drains and exits 0; the echoes of the same Ctrl-C (npm and tsx pass it on within
 * milliseconds) are ignored; a second Ctrl-C later forces the exit at once, with 130.
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { exited, spawnProcess } from './support/processes';

const CHILD = path.join(__dirname, 'fixtures', 'stop-signals-child.ts');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function start(drainMs: number): Promise<{ child: ChildProcess; out: () => string }> {
  let out = '';
  const child = await spawnProcess(CHILD, { STOP_DRAIN_MS: String(drainMs) }, { stdout: 'ready' });
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return { child, out: () => out };
}

const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

let children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children) if (running(child)) child.kill('SIGKILL');
  children = [];
});

it('drains on the first Ctrl-C, ignores its echoes, and exits 0 when the drain is over', async () => {
  const { child, out } = await start(1500);
  children.push(child);
  child.kill('SIGINT');
  await sleep(20);
  child.kill('SIGINT'); // npm passing the same Ctrl-C on
  await sleep(20);
  child.kill('SIGINT'); // tsx passing it on
  await exited(child);
  expect(child.exitCode).toBe(0);
  expect(out()).toContain('draining after SIGINT');
  expect(out()).toContain('drained');
});

it('exits at once with 130 on a second Ctrl-C, not waiting for the drain', async () => {
  const { child, out } = await start(60_000);
  children.push(child);
  child.kill('SIGINT');
  await sleep(800); // past the echo window: this is the user pressing Ctrl-C again
  expect(running(child)).toBe(true);
  child.kill('SIGINT');
  await exited(child); // within the test's timeout, long before the 60 s drain
  expect(child.exitCode).toBe(130);
  expect(out()).toContain('draining after SIGINT');
  expect(out()).not.toContain('drained');
});

it('counts SIGTERM after SIGINT as the second signal too', async () => {
  const { child } = await start(60_000);
  children.push(child);
  child.kill('SIGINT');
  await sleep(800);
  child.kill('SIGTERM');
  await exited(child);
  expect(child.exitCode).toBe(130);
});
