/** Case workers in child processes, for tests that kill them (SIGKILL: no clean-up, like a crash). */
import { spawn, type ChildProcess } from 'node:child_process';
import { ROOT, workflowBundle, type TestEnv } from './env';

const children: ChildProcess[] = [];

/** Starts a worker process on the environment's task queue; resolves once it polls. */
export async function spawnWorker(
  env: TestEnv,
  extraEnv: Record<string, string> = {},
): Promise<ChildProcess> {
  const bundle = await workflowBundle();
  const child = spawn(
    process.execPath,
    // tsx as a loader in this very process: SIGKILL must hit the worker itself, not a wrapper around it.
    ['--import', 'tsx', 'test/support/worker-process.ts'],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        TASK_QUEUE: env.taskQueue,
        SMTP_PORT: String(env.sink.port),
        WORKFLOW_BUNDLE: bundle.codePath,
        LOG_LEVEL: 'error',
        ...extraEnv,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited early with ${code}`)));
  });
  return child;
}

/** Resolves when the process has exited (killing it first unless it is already gone). */
export function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Resolves when the process exits on its own. */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Kills every worker a test file started; call in afterAll. */
export async function killAllWorkers(): Promise<void> {
  await Promise.all(children.map(kill));
}
