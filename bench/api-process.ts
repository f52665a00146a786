/** The API in its own process, as `npm run api` runs it in a deployment, for the benchmarks' HTTP timings. */
import type { ChildProcess } from 'node:child_process';
import { freePort } from '../infra/ports';
import type { TestEnv } from '../test/support/env';
import { spawnProcess } from '../test/support/processes';

/**
 * Starts `api/main.ts` on the env's Postgres, Temporal and task queue, with `extraEnv` (NODE_CLI_ARGS for a
 * profile, say); resolves once /health answers.
 */
export async function spawnApi(
  env: TestEnv,
  extraEnv: Record<string, string> = {},
): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = await spawnProcess(
    'api/main.ts',
    {
      PORT: String(port),
      DATABASE_URL: env.databaseUrl,
      TEMPORAL_ADDRESS: env.temporalAddress,
      TASK_QUEUE: env.taskQueue,
      ...extraEnv,
    },
    { poll: async () => (await fetch(`${url}/health`)).ok },
  );
  return { url, child };
}
