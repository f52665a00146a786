import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../test/support/env';

/**
 * Runs a TypeScript entry point in its own Node process (as a deployment runs workers and the API) and
 * resolves once `ready` says so: a line on its stdout, or a check the caller polls.
 */
export function spawnProcess(
  script: string,
  extraEnv: Record<string, string>,
  ready: { stdout: string } | { poll: () => Promise<boolean> },
): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), script], {
    cwd: ROOT,
    env: { ...process.env, ...extraEnv, LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} exited early with ${code}`)));
    if ('stdout' in ready) {
      child.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes(ready.stdout)) resolve(child);
      });
      return;
    }
    child.stdout?.resume();
    const poll = (): void => {
      if (child.exitCode !== null) return;
      ready.poll().then(
        (ok) => (ok ? resolve(child) : setTimeout(poll, 100)),
        () => setTimeout(poll, 100),
      );
    };
    poll();
  });
}

/** Stops a child with SIGTERM and waits for it to exit. */
export const stopProcess = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
