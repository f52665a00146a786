/** Case workers in child processes, for tests that kill them (SIGKILL: no clean-up, like a crash). */
import type { ChildProcess } from 'node:child_process';
import { workflowBundle, type TestEnv } from './env';
import { exited, spawnProcess, stopProcess } from './processes';

export { exited };

const children: ChildProcess[] = [];

/** Starts a worker process on the environment's task queue; resolves once it polls. */
export async function spawnWorker(
  env: TestEnv,
  extraEnv: Record<string, string> = {},
): Promise<ChildProcess> {
  const bundle = await workflowBundle();
  return spawnProcess(
    'test/support/worker-process.ts',
    {
      TASK_QUEUE: env.taskQueue,
      SMTP_PORT: String(env.sink.port),
      WORKFLOW_BUNDLE: bundle.codePath,
      ...extraEnv,
    },
    { stdout: 'ready' },
    (child) => children.push(child),
  );
}

/** Kills a worker (SIGKILL) and resolves when it has exited. */
export const kill = (child: ChildProcess): Promise<void> => stopProcess(child, 'SIGKILL');

/** Kills every worker a test file started; call in afterAll. */
export async function killAllWorkers(): Promise<void> {
  await Promise.all(children.map(kill));
}
