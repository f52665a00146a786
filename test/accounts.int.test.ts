/** Invites, forgotten passwords and preferences: the emails people get, the links, what they change. */
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createApp } from '../api/app';
import { listen } from '../api/server';
import type { ReceivedMail } from '../infra/smtp-sink';
import { browserRequest, sessionCookie, type BrowserOptions } from './support/browser';
import { startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv({ worker: false });
});

afterAll(async () => {
  await env?.stop();
});

const WAIT = 10_000;
const id = (name: string) => `${env.prefix}-${name}`;
const emailOf = (name: string) => `${name}.${env.prefix}@example.com`;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const browser = (method: string, url: string, options: BrowserOptions = {}) =>
  browserRequest(env.baseUrl, method, url, options);

async function createUser(name: string, extra: Record<string, unknown> = {}): Promise<void> {
  const res = await env.http(env.users.admin, 'POST', '/api/users', {
    id: id(name),
    name: `${name} ${env.prefix}`,
    email: emailOf(name),
    role: 'agent',
    ...extra,
  });
  expect(res.status).toBe(201);
}

const signIn = (name: string, password: string) =>
  browser('POST', '/api/session', { body: { email: emailOf(name), password } });

async function signedIn(name: string, password: string) {
  const res = await signIn(name, password);
  expect(res.status).toBe(200);
  return { cookie: sessionCookie(res.cookies), csrf: res.body.csrfToken as string };
}

const mailTo = (name: string, subject: string) =>
  env.sink.waitFor((m) => m.to.includes(emailOf(name)) && m.subject === subject, WAIT);

/** The token of the set-password link in a message; the link must appear in both parts. */
function linkToken(mail: ReceivedMail): string {
  const match = /http:\/\/localhost:3000\/set-password\?token=([A-Za-z0-9_-]+)/.exec(mail.text);
  if (!match) throw new Error(`no set-password link in: ${mail.text}`);
  const token = match[1] as string;
  // Attribute values as a browser reads them (Handlebars escapes `=` as &#x3D;).
  const html = mail.html
    .replace(/&#x([0-9a-f]+);/gi, (_m, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&amp;/g, '&');
  expect(html).toContain(`href="http://localhost:3000/set-password?token=${token}"`);
  return token;
}

describe('invites', () => {
  it('emails a one-time link; the password it sets signs the user in; the link works once', async () => {
    await createUser('ines');
    const before = await env.http(env.users.admin, 'GET', `/api/users/${id('ines')}`);
    expect(before.body.hasPassword).toBe(false);
    const sent = await env.http(env.users.admin, 'POST', `/api/users/${id('ines')}/invite`);
    expect(sent.status).toBe(202);
    expect(sent.body).toMatchObject({ userId: id('ines'), email: emailOf('ines') });
    const hours = (new Date(sent.body.expiresAt).getTime() - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(71.9);
    expect(hours).toBeLessThanOrEqual(72);

    const mail = await mailTo('ines', 'You are invited to the CRM');
    expect(mail.text).toContain(`Hello ines ${env.prefix},`);
    expect(mail.text).toContain(`Admin ${env.prefix} invited you to the CRM`);
    const token = linkToken(mail);
    // Only the hash is stored, and the body with the link is kept nowhere in the database.
    const rows = await env.db.query<{ token_hash: string; purpose: string }>(
      'SELECT token_hash, purpose FROM password_tokens WHERE user_id = $1',
      [id('ines')],
    );
    expect(rows).toEqual([{ token_hash: sha256(token), purpose: 'invite' }]);
    const stored = await env.db.query(
      `SELECT id FROM email_outbox WHERE body_text LIKE $1 OR body_html LIKE $1`,
      [`%${token}%`],
    );
    expect(stored).toHaveLength(0);

    const weak = await browser('POST', '/api/password/reset', { body: { token, password: 'short' } });
    expect(weak.status).toBe(400);
    expect(weak.body.type).toMatch(/\/validation-error$/);
    expect(weak.body.errors[0]).toEqual({
      pointer: '/body/password',
      message: 'must have at least 10 characters',
    });
    // The refused attempt did not use the link up.
    const set = await browser('POST', '/api/password/reset', {
      body: { token, password: 'ines-first-password' },
    });
    expect(set.status).toBe(204);
    expect((await signIn('ines', 'ines-first-password')).status).toBe(200);
    const after = await env.http(env.users.admin, 'GET', `/api/users/${id('ines')}`);
    expect(after.body.hasPassword).toBe(true);

    const again = await browser('POST', '/api/password/reset', {
      body: { token, password: 'someone-elses-password' },
    });
    expect(again.status).toBe(400);
    expect(again.body.type).toMatch(/\/password-token-invalid$/);
    expect(again.body.errors[0].pointer).toBe('/body/token');
    expect((await signIn('ines', 'someone-elses-password')).status).toBe(401);
  });

  it('writes to Spanish-speaking users in Spanish', async () => {
    await createUser('jaime', { locale: 'es' });
    expect((await env.http(env.users.admin, 'POST', `/api/users/${id('jaime')}/invite`)).status).toBe(202);
    const mail = await mailTo('jaime', 'Invitación al CRM');
    expect(mail.text).toContain(`Hola jaime ${env.prefix}:`);
    expect(mail.text).toContain('El enlace funciona una sola vez');
    linkToken(mail);
  });

  it('is for administrators, for known users, and needs SMTP', async () => {
    await createUser('kim');
    const agent = await env.http(env.users.alice, 'POST', `/api/users/${id('kim')}/invite`);
    expect(agent.status).toBe(403);
    const unknown = await env.http(env.users.admin, 'POST', `/api/users/${id('nobody')}/invite`);
    expect(unknown.status).toBe(404);

    const app = createApp({
      db: env.db,
      client: env.client,
      taskQueue: env.taskQueue,
      publicUrl: 'http://localhost:3000',
      maxPageSize: 200,
      bodyLimit: '1mb',
      updateTimeoutMs: 1000,
    });
    const server = await listen(app, 0, '127.0.0.1');
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const res = await fetch(`${base}/api/users/${id('kim')}/invite`, {
        method: 'POST',
        headers: { authorization: `Bearer ${env.users.admin.token}` },
      });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { type: string }).type).toMatch(/\/email-unavailable$/);
    } finally {
      await new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections();
      });
    }
    const tokens = await env.db.query('SELECT 1 FROM password_tokens WHERE user_id = $1', [id('kim')]);
    expect(tokens).toHaveLength(0);
  });

  it('refuses an expired link', async () => {
    await createUser('lena');
    expect((await env.http(env.users.admin, 'POST', `/api/users/${id('lena')}/invite`)).status).toBe(202);
    const token = linkToken(await mailTo('lena', 'You are invited to the CRM'));
    await env.db.query(
      `UPDATE password_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = $1`,
      [sha256(token)],
    );
    const res = await browser('POST', '/api/password/reset', {
      body: { token, password: 'lena-password-1' },
    });
    expect(res.status).toBe(400);
    expect(res.body.type).toMatch(/\/password-token-invalid$/);
  });
});

describe('forgotten passwords', () => {
  it('answers 202 alike for known and unknown addresses, and emails only the known one', async () => {
    await createUser('mara', { password: 'mara-old-password' });
    const unknown = await browser('POST', '/api/password/forgot', { body: { email: emailOf('ghost') } });
    const known = await browser('POST', '/api/password/forgot', {
      body: { email: emailOf('mara').toUpperCase() },
    });
    expect(known.status).toBe(202);
    expect(unknown.status).toBe(202);
    expect(known.body).toBe('');
    expect(unknown.body).toBe('');
    const mail = await mailTo('mara', 'Set a new CRM password');
    expect(mail.text).toContain(`Someone asked to set a new password for ${emailOf('mara')}`);
    const token = linkToken(mail);
    const [row] = await env.db.query<{ minutes: number }>(
      `SELECT round(extract(epoch FROM expires_at - created_at) / 60)::int AS minutes FROM password_tokens
       WHERE token_hash = $1 AND purpose = 'reset'`,
      [sha256(token)],
    );
    expect(row?.minutes).toBe(60);
    // The unknown address was asked first; by now its email would have arrived.
    expect(env.sink.messages().filter((m) => m.envelopeTo.includes(emailOf('ghost')))).toEqual([]);
  });

  it("sets the new password, ends the user's other sessions and keeps the one that changed it", async () => {
    await createUser('nico', { password: 'nico-old-password' });
    const phone = await signedIn('nico', 'nico-old-password');
    const laptop = await signedIn('nico', 'nico-old-password');
    await createUser('otto', { password: 'otto-password-1' });
    const someoneElse = await signedIn('otto', 'otto-password-1');
    expect((await browser('POST', '/api/password/forgot', { body: { email: emailOf('nico') } })).status).toBe(
      202,
    );
    const token = linkToken(await mailTo('nico', 'Set a new CRM password'));

    const reset = await browser('POST', '/api/password/reset', {
      cookie: laptop.cookie,
      body: { token, password: 'nico-new-password' },
    });
    expect(reset.status).toBe(204);
    expect((await browser('GET', '/api/session', { cookie: phone.cookie })).status).toBe(401);
    expect((await browser('GET', '/api/session', { cookie: laptop.cookie })).status).toBe(200);
    expect((await browser('GET', '/api/session', { cookie: someoneElse.cookie })).status).toBe(200);
    expect((await signIn('nico', 'nico-old-password')).status).toBe(401);
    expect((await signIn('nico', 'nico-new-password')).status).toBe(200);
  });

  it('an older link stops working once a newer one set the password', async () => {
    await createUser('olga', { password: 'olga-old-password' });
    await browser('POST', '/api/password/forgot', { body: { email: emailOf('olga') } });
    const first = linkToken(await mailTo('olga', 'Set a new CRM password'));
    env.sink.clear();
    await browser('POST', '/api/password/forgot', { body: { email: emailOf('olga') } });
    const second = linkToken(await mailTo('olga', 'Set a new CRM password'));
    expect(second).not.toBe(first);
    const used = await browser('POST', '/api/password/reset', {
      body: { token: second, password: 'olga-new-password' },
    });
    expect(used.status).toBe(204);
    const stale = await browser('POST', '/api/password/reset', {
      body: { token: first, password: 'olga-other-password' },
    });
    expect(stale.status).toBe(400);
    expect(stale.body.type).toMatch(/\/password-token-invalid$/);
  });

  it('limits requests per address with 429 and Retry-After', async () => {
    const email = emailOf('flood');
    for (let i = 0; i < 5; i += 1) {
      expect((await browser('POST', '/api/password/forgot', { body: { email } })).status).toBe(202);
    }
    const limited = await browser('POST', '/api/password/forgot', { body: { email } });
    expect(limited.status).toBe(429);
    expect(limited.body.type).toMatch(/\/rate-limited$/);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('preferences', () => {
  it('stores the language and time zone the user picks; the session shows them', async () => {
    await createUser('pablo', { password: 'pablo-password-1' });
    const { cookie, csrf } = await signedIn('pablo', 'pablo-password-1');
    const noToken = await browser('PATCH', '/api/users/me', { cookie, body: { locale: 'es' } });
    expect(noToken.status).toBe(403);
    const set = await browser('PATCH', '/api/users/me', {
      cookie,
      csrf,
      body: { locale: 'es', timeZone: 'Europe/Madrid' },
    });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ id: id('pablo'), locale: 'es', timeZone: 'Europe/Madrid', teams: [] });
    const session = await browser('GET', '/api/session', { cookie });
    expect(session.body.user).toMatchObject({ locale: 'es', timeZone: 'Europe/Madrid' });
    // The chosen language is also the language of the user's emails.
    const me = await browser('GET', '/api/users/me', { cookie });
    expect(me.body.locale).toBe('es');

    const cleared = await browser('PATCH', '/api/users/me', { cookie, csrf, body: { locale: null } });
    expect(cleared.body).toMatchObject({ locale: null, timeZone: 'Europe/Madrid' });
    const badZone = await browser('PATCH', '/api/users/me', {
      cookie,
      csrf,
      body: { timeZone: 'Mars/Olympus' },
    });
    expect(badZone.status).toBe(400);
    expect(badZone.body.errors[0].pointer).toBe('/body/timeZone');
    const badLocale = await browser('PATCH', '/api/users/me', { cookie, csrf, body: { locale: 'fr' } });
    expect(badLocale.status).toBe(400);
    expect(badLocale.body.errors[0].pointer).toBe('/body/locale');
  });

  it('works with a bearer token too, and leaves PATCH /api/users/:id to administrators', async () => {
    const res = await env.http(env.users.carol, 'PATCH', '/api/users/me', {
      timeZone: 'America/Mexico_City',
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: env.users.carol.id, timeZone: 'America/Mexico_City', locale: null });
    const other = await env.http(env.users.carol, 'PATCH', `/api/users/${env.users.bob.id}`, { name: 'X' });
    expect(other.status).toBe(403);
  });
});
