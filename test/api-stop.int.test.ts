/** The production API process (api/main.ts) on SIGTERM: stops accepting, ends open inbox streams, exits 0. */
import type { ChildProcess } from 'node:child_process';
import { canConnect, freePort } from '../infra/ports';
import { startTestEnv, type TestEnv } from './support/env';
import { exited, spawnProcess } from './support/processes';

let env: TestEnv;
const children: ChildProcess[] = [];

beforeAll(async () => {
  env = await startTestEnv({ worker: false });
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await env?.stop();
});

it('exits 0 soon after SIGTERM although an inbox event stream is open', async () => {
  const port = await freePort();
  const child = await spawnProcess(
    'api/main.ts',
    { TEMPORAL_ADDRESS: env.temporalAddress, DATABASE_URL: env.databaseUrl, PORT: String(port) },
    { poll: () => canConnect(port) },
    (c) => children.push(c),
  );
  const stream = await fetch(`http://127.0.0.1:${port}/api/inbox/stream`, {
    headers: { authorization: `Bearer ${env.users.alice.token}` },
  });
  expect(stream.status).toBe(200);
  const reader = stream.body!.getReader();
  let seen = '';
  while (!seen.includes('event: ready')) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += Buffer.from(value).toString();
  }
  expect(seen).toContain('event: ready');

  const code = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  const started = Date.now();
  child.kill('SIGTERM');
  // The stream ends (the browser reconnects to another replica) instead of holding the process.
  let ended = false;
  while (!ended) ended = (await reader.read()).done;
  await exited(child);
  expect(await code).toBe(0);
  expect(Date.now() - started).toBeLessThan(10_000);
  expect(await canConnect(port)).toBe(false);
}, 60_000);
