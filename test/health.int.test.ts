import type { AddressInfo } from 'node:net';
import net from 'node:net';
import type http from 'node:http';
import { createApp } from '../api/app';
import { listen } from '../api/server';
import { createDb, type Db } from '../db';
import { createMailer } from '../lib/mailer';
import { startTestEnv, type TestEnv } from './support/env';

/**
 * Probes and outages as an orchestrator sees them: an API whose Postgres is gone (a real connection to a
 * port nobody listens on) or whose mail relay is gone, beside the test environment's real Temporal.
 */

let env: TestEnv;
const servers: http.Server[] = [];
const closers: (() => unknown)[] = [];

/** A local port that refuses connections: bound once to learn a free number, then released. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function api(options: { db?: Db; smtpPort?: number }): Promise<string> {
  const mailer = createMailer(`smtp://127.0.0.1:${options.smtpPort ?? env.sink.port}`);
  closers.push(() => mailer.close());
  const app = createApp({
    db: options.db ?? env.db,
    client: env.client,
    taskQueue: env.taskQueue,
    publicUrl: 'http://localhost:3000',
    maxPageSize: 200,
    bodyLimit: '1mb',
    updateTimeoutMs: 10_000,
    probes: { smtp: () => mailer.verify() },
  });
  const server = await listen(app, 0, '127.0.0.1');
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  env = await startTestEnv({ worker: false });
});

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  for (const close of closers) await close();
  await env?.stop();
});

const statuses = (checks: Record<string, { status: string }>) =>
  Object.fromEntries(Object.entries(checks).map(([name, c]) => [name, c.status]));

it('all up: /livez, /readyz and /health answer 200', async () => {
  const base = await api({});
  const live = await fetch(`${base}/livez`);
  expect(live.status).toBe(200);
  const ready = await fetch(`${base}/readyz`);
  expect(ready.status).toBe(200);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  expect(statuses(((await ready.json()) as any).checks)).toEqual({
    postgres: 'up',
    temporal: 'up',
    smtp: 'up',
  });
  expect((await fetch(`${base}/health`)).status).toBe(200);
});

it('mail relay down: still ready (SMTP reported, not required), /health says down', async () => {
  const base = await api({ smtpPort: await closedPort() });
  const ready = await fetch(`${base}/readyz`);
  expect(ready.status).toBe(200);
  const body = (await ready.json()) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  expect(body.status).toBe('up');
  expect(body.checks.smtp).toMatchObject({ status: 'down', required: false });
  expect(body.checks.postgres).toMatchObject({ status: 'up', required: true });
  expect((await fetch(`${base}/health`)).status).toBe(503);
  expect((await fetch(`${base}/livez`)).status).toBe(200);
});

describe('Postgres down', () => {
  let base: string;
  beforeAll(async () => {
    const db = createDb(`postgres://crm:crm@127.0.0.1:${await closedPort()}/crm`);
    closers.push(() => db.close());
    base = await api({ db });
  });

  it('alive but not ready: /readyz answers 503 with Retry-After', async () => {
    expect((await fetch(`${base}/livez`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(Number(ready.headers.get('retry-after'))).toBeGreaterThan(0);
    const body = (await ready.json()) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(body.status).toBe('down');
    expect(body.checks.postgres).toMatchObject({ status: 'down', required: true });
    expect(body.checks.temporal.status).toBe('up');
  });

  it('an API call answers 503 database-unavailable with Retry-After, never 500', async () => {
    for (const [method, path, body] of [
      ['GET', '/api/inbox', undefined],
      ['POST', '/api/cases', { caseType: 'opportunity', data: {} }],
    ] as const) {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${env.users.alice.token}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      const problem = (await res.json()) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
      expect(problem.type).toMatch(/\/database-unavailable$/);
      expect(JSON.stringify(problem)).not.toContain(env.users.alice.token);
    }
  });
});
