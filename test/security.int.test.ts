/**
 * Security defaults of the API (issue 16): where it listens, its headers, the dev mailbox, what problem
 * bodies echo, rate limits and token expiry. On the real stack: Postgres, Temporal and the SMTP sink.
 */
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import { createApp, type AppDeps } from '../api/app';
import { listen } from '../api/server';
import { freePort } from '../infra/ports';
import { DEFAULT_SECURITY } from '../lib/config';
import { scoped, shippedDefinition, startTestEnv, type TestEnv } from './support/env';
import { spawnProcess, stopProcess } from './support/processes';

let env: TestEnv;
const servers: http.Server[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  env = await startTestEnv({ worker: false });
});

afterAll(async () => {
  for (const child of children) await stopProcess(child);
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await env?.stop();
});

/** An API beside the environment's, with its own settings (and so its own rate-limit counters). */
async function api(overrides: Partial<AppDeps>): Promise<string> {
  const app = createApp({
    db: env.db,
    client: env.client,
    taskQueue: env.taskQueue,
    publicUrl: 'http://localhost:3000',
    maxPageSize: 200,
    bodyLimit: '1mb',
    updateTimeoutMs: 10_000,
    ...overrides,
  });
  const server = await listen(app, 0, '127.0.0.1');
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Whether a TCP connection to host:port is accepted. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** An IPv4 address of this machine other than loopback, if it has one. */
function externalAddress(): string | undefined {
  return Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
}

describe('where the API listens', () => {
  const startApi = async (extra: Record<string, string>) => {
    const port = await freePort();
    const child = await spawnProcess(
      'api/main.ts',
      { TEMPORAL_ADDRESS: env.temporalAddress, DATABASE_URL: env.databaseUrl, PORT: String(port), ...extra },
      { poll: () => accepts('127.0.0.1', port) },
      (c) => children.push(c),
    );
    return { port, child };
  };

  it('npm run api binds 127.0.0.1 only, unless HOST says otherwise', async () => {
    const external = externalAddress();
    expect(external).toBeDefined();
    const local = await startApi({});
    expect(await accepts('127.0.0.1', local.port)).toBe(true);
    expect(await accepts(external as string, local.port)).toBe(false);
    await stopProcess(local.child);

    const open = await startApi({ HOST: '0.0.0.0' });
    expect(await accepts(external as string, open.port)).toBe(true);
    await stopProcess(open.child);
  }, 60_000);
});

describe('headers', () => {
  it('sends nosniff, frame options and a CSP, and HSTS only when PUBLIC_URL is https', async () => {
    const res = await fetch(`${env.baseUrl}/livez`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('upgrade-insecure-requests');
    expect(res.headers.get('strict-transport-security')).toBeNull();

    const secure = await api({ publicUrl: 'https://crm.example.com' });
    const behindTls = await fetch(`${secure}/livez`);
    expect(behindTls.headers.get('strict-transport-security')).toMatch(/^max-age=\d+; includeSubDomains$/);
    expect(behindTls.headers.get('content-security-policy')).toContain('upgrade-insecure-requests');
  });

  it("lets only the app's own origin frame the case diagram, which may load and run nothing", async () => {
    const caseType = await env.publish(scoped(shippedDefinition('opportunity'), env.prefix));
    const res = await env.http(env.users.alice, 'GET', `/api/case-types/${caseType}/diagram`);
    expect(res.status).toBe(200);
    expect(res.type).toContain('text/html');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("frame-ancestors 'self'");
    expect(csp).toContain("default-src 'none'");
  });

  it('marks authenticated reads Cache-Control: no-store', async () => {
    const inbox = await env.http(env.users.alice, 'GET', '/api/inbox');
    expect(inbox.status).toBe(200);
    expect(inbox.headers.get('cache-control')).toBe('no-store');
    const denied = await env.http(null, 'GET', '/api/inbox');
    expect(denied.status).toBe(401);
    expect(denied.headers.get('cache-control')).toBe('no-store');
  });
});

describe('the dev mailbox', () => {
  it('needs an administrator', async () => {
    expect((await env.http(null, 'GET', '/dev/mail')).status).toBe(401);
    const agent = await env.http(env.users.alice, 'GET', '/dev/mail');
    expect(agent.status).toBe(403);
    expect(agent.type).toContain('application/problem+json');
    const admin = await env.http(env.users.admin, 'GET', '/dev/mail');
    expect(admin.status).toBe(200);
    expect(admin.headers.get('cache-control')).toBe('no-store');
    expect(Array.isArray(admin.body.messages)).toBe(true);
  });

  it('is absent without the embedded SMTP sink', async () => {
    const base = await api({});
    const res = await fetch(`${base}/dev/mail`, {
      headers: { authorization: `Bearer ${env.users.admin.token}` },
    });
    expect(res.status).toBe(404);
  });
});

describe('problem bodies', () => {
  const secret = `crm_${'s3cr3t'.repeat(8)}`;

  it('never echo a token sent in the query string', async () => {
    const res = await env.http(null, 'GET', `/api/inbox?access_token=${secret}`);
    expect(res.status).toBe(401);
    expect(JSON.stringify(res.body)).not.toContain(secret);
    expect(res.body.instance).toBe('/api/inbox');
  });

  it('never echo the secret of a calendar feed or an unsubscribe link', async () => {
    const feed = await env.http(null, 'GET', `/calendar/${secret.slice(4)}.ics`);
    expect(feed.status).toBe(404);
    expect(JSON.stringify(feed.body)).not.toContain(secret.slice(4));
    const unsubscribe = await env.http(null, 'GET', `/unsubscribe/${secret}`);
    expect(unsubscribe.status).toBe(400);
    expect(JSON.stringify(unsubscribe.body)).not.toContain(secret);
  });

  it('never echo a password from a malformed sign-in body', async () => {
    const res = await env.http(null, 'POST', '/api/session', `{"email":"a@b.c","password":"${secret}`);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).not.toContain(secret);
  });
});

describe('rate limits', () => {
  it('answer 429 with Retry-After after too many failed authentications from one address', async () => {
    const base = await api({ security: { ...DEFAULT_SECURITY, authFailureMax: 3 } });
    const bad = () => fetch(`${base}/api/inbox`, { headers: { authorization: 'Bearer crm_wrong' } });
    for (let i = 0; i < 3; i += 1) expect((await bad()).status).toBe(401);
    const limited = await bad();
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    const body = (await limited.json()) as { type: string; retryAfter: number };
    expect(body.type).toMatch(/\/rate-limited$/);
    expect(body.retryAfter).toBe(Number(limited.headers.get('retry-after')));
  });

  it('limit expensive routes per caller, not cheap ones', async () => {
    const base = await api({
      security: { ...DEFAULT_SECURITY, expensiveMax: 2, expensiveWindowSeconds: 60 },
    });
    const as = (token: string, url: string) =>
      fetch(`${base}${url}`, { headers: { authorization: `Bearer ${token}` } });
    const sam = env.users.sam.token;
    for (let i = 0; i < 2; i += 1) expect((await as(sam, '/api/reports/open-cases')).status).toBe(200);
    const limited = await as(sam, '/api/reports/open-cases');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await limited.json()) as { type: string }).type).toMatch(/\/rate-limited$/);
    // Another caller has their own budget; cheap reads are not limited.
    expect((await as(env.users.admin.token, '/api/reports/open-cases')).status).toBe(200);
    for (let i = 0; i < 4; i += 1) expect((await as(sam, '/api/inbox')).status).toBe(200);
  });
});

describe('token expiry', () => {
  const day = 86_400_000;

  it('POST /api/tokens takes expiresAt; without it the configured default applies', async () => {
    const until = new Date(Date.now() + 7 * day).toISOString();
    const chosen = await env.http(env.users.bob, 'POST', '/api/tokens', { name: 'week', expiresAt: until });
    expect(chosen.status).toBe(201);
    expect(Date.parse(chosen.body.expiresAt)).toBe(Date.parse(until));

    const before = Date.now();
    const defaulted = await env.http(env.users.bob, 'POST', '/api/tokens', { name: 'default' });
    expect(defaulted.status).toBe(201);
    const expected = before + DEFAULT_SECURITY.tokenDefaultValidDays * day;
    expect(Math.abs(Date.parse(defaulted.body.expiresAt) - expected)).toBeLessThan(60_000);
  });

  it('refuses expiresAt in the past or beyond the maximum, at its pointer', async () => {
    for (const expiresAt of [
      new Date(Date.now() - day).toISOString(),
      new Date(Date.now() + (DEFAULT_SECURITY.tokenMaxValidDays + 1) * day).toISOString(),
    ]) {
      const res = await env.http(env.users.bob, 'POST', '/api/tokens', { name: 'x', expiresAt });
      expect(res.status).toBe(400);
      expect(res.body.errors[0].pointer).toBe('/body/expiresAt');
    }
  });

  it('an expired token answers 401', async () => {
    const base = await api({});
    const created = await env.http(env.users.bob, 'POST', '/api/tokens', {
      name: 'soon',
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
    });
    expect(created.status).toBe(201);
    await env.db.query(`UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, [
      created.body.id,
    ]);
    const res = await fetch(`${base}/api/inbox`, {
      headers: { authorization: `Bearer ${created.body.token}` },
    });
    expect(res.status).toBe(401);
  });
});
