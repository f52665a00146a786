/** Child Node processes running TypeScript entry points: workers and the API, as a deployment runs them. */
import { spawn, type ChildProcess } from 'node:child_process';
import { ROOT } from './env';

/**
 * Runs `script` in its own Node process and resolves once `ready` says so: a text on its stdout, or a
 * check the caller polls. tsx is a loader in that very process, so a signal reaches the script itself,
 * not a wrapper around it (SIGKILL tests rely on it).
 */
export function spawnProcess(
  script: string,
  extraEnv: Record<string, string>,
  ready: { stdout: string } | { poll: () => Promise<boolean> },
  /** Told of the process at once, before it is ready (to clean it up even if it never gets there). */
  onSpawn?: (child: ChildProcess) => void,
): Promise<ChildProcess> {
  // NODE_CLI_ARGS: flags for node's own command line, space-separated, for those NODE_OPTIONS refuses
  // (`--cpu-prof` among them).
  const { NODE_CLI_ARGS: cliArgs, ...env } = extraEnv;
  const nodeArgs = cliArgs ? cliArgs.split(' ').filter(Boolean) : [];
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'error', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  onSpawn?.(child);
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

/** Resolves when the process exits on its own. */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Sends `signal` (unless the process is already gone) and resolves when it has exited. */
export function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const done = exited(child);
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  return done;
}
