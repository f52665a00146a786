/** Sign-in for people: sessions, the cookie, CSRF, sign-out, expiry, rate limits, the web app's files. */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { createApp } from '../api/app';
import { listen } from '../api/server';
import { DEFAULT_AUTH } from '../lib/config';
import { browserRequest, sessionCookie, type BrowserOptions } from './support/browser';
import { eventually, startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv({ worker: false });
});

afterAll(async () => {
  await env?.stop();
});

const id = (name: string) => `${env.prefix}-${name}`;
const emailOf = (name: string) => `${name}.${env.prefix}@example.com`;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A request as a browser makes it, to this environment's API unless `base` says otherwise. */
const browser = (method: string, url: string, options: BrowserOptions = {}, base = env.baseUrl) =>
  browserRequest(base, method, url, options);

/** Creates a user with a password through the API, as an administrator. */
async function userWithPassword(name: string, password: string, role = 'agent'): Promise<void> {
  const res = await env.http(env.users.admin, 'POST', '/api/users', {
    id: id(name),
    name: `${name} ${env.prefix}`,
    email: emailOf(name),
    role,
    password,
  });
  expect(res.status).toBe(201);
  expect(res.body.hasPassword).toBe(true);
}

async function signIn(name: string, password: string) {
  const res = await browser('POST', '/api/session', { body: { email: emailOf(name), password } });
  expect(res.status).toBe(200);
  return { cookie: sessionCookie(res.cookies), csrf: res.body.csrfToken as string, res };
}

describe('signing in', () => {
  it('answers the user and a CSRF token, and sets an HttpOnly SameSite cookie whose id is stored hashed', async () => {
    await userWithPassword('pia', 'correct horse battery');
    const res = await browser('POST', '/api/session', {
      // The address is matched without regard to case.
      body: { email: emailOf('pia').toUpperCase(), password: 'correct horse battery' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      user: {
        id: id('pia'),
        name: `pia ${env.prefix}`,
        email: emailOf('pia'),
        role: 'agent',
        teams: [],
        supervisedTeams: [],
        locale: null,
        timeZone: null,
      },
      csrfToken: expect.stringMatching(/^[A-Za-z0-9_-]{20,}$/),
    });
    const line = res.cookies.find((c) => c.startsWith('crm_session=')) as string;
    const attributes = line
      .split(';')
      .slice(1)
      .map((a) => a.trim().toLowerCase());
    expect(attributes).toEqual(expect.arrayContaining(['httponly', 'samesite=lax', 'path=/']));
    // PUBLIC_URL of the test environment is http: no Secure attribute.
    expect(attributes).not.toContain('secure');
    expect(res.headers.get('cache-control')).toBe('no-store');

    const cookie = sessionCookie(res.cookies);
    const rows = await env.db.query<{ id_hash: string }>('SELECT id_hash FROM sessions WHERE user_id = $1', [
      id('pia'),
    ]);
    expect(rows.map((r) => r.id_hash)).toEqual([sha256(cookie)]);
    const [user] = await env.db.query<{ password_hash: string }>(
      'SELECT password_hash FROM users WHERE id = $1',
      [id('pia')],
    );
    expect(user?.password_hash).toMatch(/^scrypt\$N=32768,r=8,p=1\$/);
    expect(user?.password_hash).not.toContain('correct horse');
  });

  it('gives a wrong password and an unknown email the same 401', async () => {
    await userWithPassword('quin', 'quin-password-1');
    const wrong = await browser('POST', '/api/session', {
      body: { email: emailOf('quin'), password: 'not-the-password' },
    });
    const unknown = await browser('POST', '/api/session', {
      body: { email: emailOf('nobody'), password: 'not-the-password' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.type).toMatch(/\/invalid-credentials$/);
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual(wrong.body);
    expect(wrong.cookies).toEqual([]);
    // A user without a password (the seeded ones) cannot sign in either.
    const noPassword = await browser('POST', '/api/session', {
      body: { email: `alice.${env.prefix}@example.com`, password: 'anything-at-all' },
    });
    expect(noPassword.body).toEqual(wrong.body);
  });

  it('signs in from JSON only, so another site cannot post a form that signs the browser in', async () => {
    await userWithPassword('quentin', 'quentin-password-1');
    const res = await fetch(`${env.baseUrl}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ email: emailOf('quentin'), password: 'quentin-password-1' }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  it('limits failed sign-ins per address and email with 429 and Retry-After; successes do not count', async () => {
    await userWithPassword('rita', 'rita-password-1');
    await userWithPassword('ravi', 'ravi-password-1');
    // Successful sign-ins are not failures: more than the limit of them all pass.
    for (let i = 0; i < 6; i += 1) await signIn('ravi', 'ravi-password-1');
    for (let i = 0; i < 5; i += 1) {
      const res = await browser('POST', '/api/session', {
        body: { email: emailOf('rita'), password: `no-${i}` },
      });
      expect(res.status).toBe(401);
    }
    // The sixth try is refused even with the right password.
    const limited = await browser('POST', '/api/session', {
      body: { email: emailOf('rita'), password: 'rita-password-1' },
    });
    expect(limited.status).toBe(429);
    expect(limited.body.type).toMatch(/\/rate-limited$/);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    expect(limited.cookies).toEqual([]);
    // Another email from the same address is not affected.
    await signIn('ravi', 'ravi-password-1');
  });

  it('refuses inactive users, and a deactivated user loses their session', async () => {
    await userWithPassword('sol', 'sol-password-1');
    const { cookie } = await signIn('sol', 'sol-password-1');
    const off = await env.http(env.users.admin, 'PATCH', `/api/users/${id('sol')}`, { active: false });
    expect(off.status).toBe(200);
    expect((await browser('GET', '/api/session', { cookie })).status).toBe(401);
    const again = await browser('POST', '/api/session', {
      body: { email: emailOf('sol'), password: 'sol-password-1' },
    });
    expect(again.status).toBe(401);
    expect(again.body.type).toMatch(/\/invalid-credentials$/);
  });
});

describe('a signed-in browser', () => {
  it('reads its session and every API route with the cookie alone', async () => {
    await userWithPassword('tom', 'tom-password-1');
    const { cookie, csrf } = await signIn('tom', 'tom-password-1');
    const session = await browser('GET', '/api/session', { cookie });
    expect(session.status).toBe(200);
    expect(session.body.user.id).toBe(id('tom'));
    expect(session.body.csrfToken).toBe(csrf);
    const me = await browser('GET', '/api/users/me', { cookie });
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(id('tom'));
    const inbox = await browser('GET', '/api/inbox', { cookie });
    expect(inbox.status).toBe(200);
    expect(await browser('GET', '/api/session')).toMatchObject({ status: 401 });
  });

  it('opens the inbox stream with the cookie (EventSource sends no headers)', async () => {
    await userWithPassword('uli', 'uli-password-1');
    const { cookie } = await signIn('uli', 'uli-password-1');
    const controller = new AbortController();
    const res = await fetch(`${env.baseUrl}/api/inbox/stream`, {
      headers: { cookie: `crm_session=${cookie}`, accept: 'text/event-stream' },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    controller.abort();
    const refused = await fetch(`${env.baseUrl}/api/inbox/stream`, {
      headers: { accept: 'text/event-stream' },
    });
    expect(refused.status).toBe(401);
    await refused.text();
  });

  it('needs the CSRF token on state-changing requests; bearer tokens need none', async () => {
    await userWithPassword('vera', 'vera-password-1');
    const { cookie, csrf } = await signIn('vera', 'vera-password-1');
    const missing = await browser('POST', '/api/tokens', { cookie, body: { name: 'from the browser' } });
    expect(missing.status).toBe(403);
    expect(missing.body.type).toMatch(/\/csrf-token-invalid$/);
    const wrong = await browser('POST', '/api/tokens', {
      cookie,
      csrf: `${csrf.slice(0, -2)}xx`,
      body: { name: 'from the browser' },
    });
    expect(wrong.status).toBe(403);
    expect(wrong.body.type).toMatch(/\/csrf-token-invalid$/);
    // Another session's token does not fit this one.
    const other = await signIn('vera', 'vera-password-1');
    const foreign = await browser('POST', '/api/tokens', { cookie, csrf: other.csrf, body: { name: 'x' } });
    expect(foreign.status).toBe(403);
    const ok = await browser('POST', '/api/tokens', { cookie, csrf, body: { name: 'from the browser' } });
    expect(ok.status).toBe(201);
    expect(ok.body.userId).toBe(id('vera'));
    // Nothing was created by the refused requests.
    const tokens = await env.db.query('SELECT id FROM api_tokens WHERE user_id = $1', [id('vera')]);
    expect(tokens).toHaveLength(1);

    const bearer = await env.http(env.users.bob, 'POST', '/api/tokens', { name: 'script' });
    expect(bearer.status).toBe(201);
  });

  it('signs out: the cookie is cleared, the session row deleted and the old cookie refused', async () => {
    await userWithPassword('walt', 'walt-password-1');
    const { cookie, csrf } = await signIn('walt', 'walt-password-1');
    const withoutToken = await browser('DELETE', '/api/session', { cookie });
    expect(withoutToken.status).toBe(403);
    expect(withoutToken.body.type).toMatch(/\/csrf-token-invalid$/);
    const out = await browser('DELETE', '/api/session', { cookie, csrf });
    expect(out.status).toBe(204);
    const cleared = out.cookies.find((c) => c.startsWith('crm_session=')) as string;
    expect(cleared).toMatch(/^crm_session=;/);
    expect(cleared).toMatch(/Expires=Thu, 01 Jan 1970/);
    const rows = await env.db.query('SELECT 1 FROM sessions WHERE user_id = $1', [id('walt')]);
    expect(rows).toHaveLength(0);
    expect((await browser('GET', '/api/session', { cookie })).status).toBe(401);
    expect((await browser('GET', '/api/users/me', { cookie })).status).toBe(401);
    // Signing out again is harmless.
    expect((await browser('DELETE', '/api/session', { cookie })).status).toBe(204);
  });

  it('ends a session after 12 hours unused and 7 days after sign-in (the defaults)', async () => {
    await userWithPassword('xia', 'xia-password-1');
    const idle = await signIn('xia', 'xia-password-1');
    const setLastSeen = (minutesAgo: number) =>
      env.db.query(
        `UPDATE sessions SET last_seen_at = now() - make_interval(mins => $2) WHERE id_hash = $1`,
        [sha256(idle.cookie), minutesAgo],
      );
    await setLastSeen(12 * 60 - 5);
    expect((await browser('GET', '/api/session', { cookie: idle.cookie })).status).toBe(200);
    await setLastSeen(12 * 60 + 1);
    const ended = await browser('GET', '/api/session', { cookie: idle.cookie });
    expect(ended.status).toBe(401);
    expect(ended.cookies.some((c) => /^crm_session=;/.test(c))).toBe(true);
    expect((await browser('GET', '/api/inbox', { cookie: idle.cookie })).status).toBe(401);

    const old = await signIn('xia', 'xia-password-1');
    const [row] = await env.db.query<{ hours: number }>(
      `SELECT round(extract(epoch FROM expires_at - created_at) / 3600)::int AS hours FROM sessions WHERE id_hash = $1`,
      [sha256(old.cookie)],
    );
    expect(row?.hours).toBe(7 * 24);
    // In use a minute ago, but past its absolute end.
    await env.db.query(
      `UPDATE sessions SET created_at = now() - interval '8 days', expires_at = now() - interval '1 day',
         last_seen_at = now() - interval '1 minute' WHERE id_hash = $1`,
      [sha256(old.cookie)],
    );
    expect((await browser('GET', '/api/session', { cookie: old.cookie })).status).toBe(401);
    // A day past its end, a row goes when someone next signs in.
    await env.db.query(`UPDATE sessions SET expires_at = now() - interval '25 hours' WHERE id_hash = $1`, [
      sha256(old.cookie),
    ]);
    await signIn('xia', 'xia-password-1');
    await eventually(
      async () =>
        (await env.db.query('SELECT 1 FROM sessions WHERE id_hash = $1', [sha256(old.cookie)])).length === 0,
      5_000,
      'the ended session row to be removed',
    );
  });
});

describe('an API process behind https, with a built web app', () => {
  let base: string;
  let close: () => Promise<void>;
  let dist: string;

  beforeAll(async () => {
    dist = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-web-dist-'));
    fs.mkdirSync(path.join(dist, 'assets'));
    fs.writeFileSync(
      path.join(dist, 'index.html'),
      '<!doctype html><title>CRM app</title><div id="root"></div>',
    );
    fs.writeFileSync(path.join(dist, 'assets', 'index-abc123.js'), 'console.info("app")');
    fs.writeFileSync(path.join(dist, 'manifest.webmanifest'), '{"name":"CRM"}');
    const app = createApp({
      db: env.db,
      client: env.client,
      taskQueue: env.taskQueue,
      publicUrl: 'https://crm.example.com',
      maxPageSize: 200,
      bodyLimit: '1mb',
      updateTimeoutMs: 1000,
      webDistDir: dist,
      auth: { ...DEFAULT_AUTH, sessionIdleMinutes: 30 },
    });
    const server = await listen(app, 0, '127.0.0.1');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
  });

  afterAll(async () => {
    await close?.();
    fs.rmSync(dist, { recursive: true, force: true });
  });

  const html = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

  it('marks the session cookie Secure when PUBLIC_URL is https', async () => {
    await userWithPassword('yan', 'yan-password-1');
    const res = await browser(
      'POST',
      '/api/session',
      {
        body: { email: emailOf('yan'), password: 'yan-password-1' },
      },
      base,
    );
    expect(res.status).toBe(200);
    const line = res.cookies.find((c) => c.startsWith('crm_session=')) as string;
    expect(line.split(';').map((a) => a.trim().toLowerCase())).toEqual(
      expect.arrayContaining(['secure', 'httponly', 'samesite=lax']),
    );
  });

  it('ends sessions after the configured idle time (SESSION_IDLE_MINUTES=30 here)', async () => {
    await userWithPassword('zoe', 'zoe-password-1');
    const res = await browser(
      'POST',
      '/api/session',
      {
        body: { email: emailOf('zoe'), password: 'zoe-password-1' },
      },
      base,
    );
    const cookie = sessionCookie(res.cookies);
    await env.db.query(
      `UPDATE sessions SET last_seen_at = now() - interval '31 minutes' WHERE id_hash = $1`,
      [sha256(cookie)],
    );
    expect((await browser('GET', '/api/session', { cookie }, base)).status).toBe(401);
  });

  it('serves index.html for the app routes a browser opens, and the built files', async () => {
    for (const route of ['/', '/tasks/case-1-T1', '/cases/case-1', '/set-password?token=abc']) {
      const res = await browser('GET', route, { headers: html }, base);
      expect({ route, status: res.status, body: res.body }).toEqual({
        route,
        status: 200,
        body: expect.stringContaining('<title>CRM app</title>'),
      });
      expect(res.headers.get('referrer-policy')).toBe('same-origin');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
    }
    const js = await browser('GET', '/assets/index-abc123.js', {}, base);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect(js.headers.get('cache-control')).toContain('immutable');
    const manifest = await browser('GET', '/manifest.webmanifest', {}, base);
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('cache-control')).toBe('no-cache');
  });

  it('leaves /api, /dev, /docs and requests that do not ask for HTML to the API', async () => {
    const api = await browser('GET', '/api/nothing-here', { headers: html }, base);
    expect(api.status).toBe(401);
    expect(api.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const dev = await browser('GET', '/dev/nothing', { headers: html }, base);
    expect(dev.status).toBe(404);
    expect(dev.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const docs = await browser('GET', '/docs', { headers: html }, base);
    expect(docs.status).toBe(200);
    expect(docs.body).not.toContain('<title>CRM app</title>');
    const json = await browser('GET', '/tasks/x', { headers: { accept: 'application/json' } }, base);
    expect(json.status).toBe(404);
    expect(json.body.type).toMatch(/\/not-found$/);
    const post = await browser('POST', '/tasks/x', { headers: html, body: {} }, base);
    expect(post.status).toBe(404);
  });

  it('says the web app is not built when web/dist has no index.html', async () => {
    fs.rmSync(path.join(dist, 'index.html'));
    try {
      const res = await browser('GET', '/inbox', { headers: html }, base);
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      expect(res.body).toContain('The web app is not built');
    } finally {
      fs.writeFileSync(path.join(dist, 'index.html'), '<!doctype html><title>CRM app</title>');
    }
  });
});
