/**
 * `npm run admin`: the real CLI as a child process against the test database, checked through the API as a
 * user would: the person it creates signs in, the token it prints authenticates, a revoked or expired token
 * does not, and bad arguments stop it with one line.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { browserRequest, sessionCookie } from './support/browser';
import { ROOT, eventually, startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv({ worker: false });
});

afterAll(async () => {
  await env?.stop();
});

const PUBLIC_URL = 'https://crm.example.test';
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `tsx scripts/admin.ts <args>` with DATABASE_URL of the test database; `stdin` is piped in. */
function admin(args: string[], stdin?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      TSX,
      [path.join(ROOT, 'scripts', 'admin.ts'), ...args],
      {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: env.databaseUrl, PUBLIC_URL, LOG_LEVEL: 'silent' },
        timeout: 60_000,
      },
      (err, stdout, stderr) => {
        const code = err ? (err as { code?: unknown }).code : 0;
        if (typeof code !== 'number') return reject(err ?? new Error('no exit code'));
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(stdin ?? '');
  });
}

const emailOf = (name: string) => `${name}.${env.prefix}@example.com`;
const signIn = (email: string, password: string) =>
  browserRequest(env.baseUrl, 'POST', '/api/session', { body: { email, password } });
const asBearer = (token: string) => env.http({ id: '', token }, 'GET', '/api/users/me');

describe('npm run admin', () => {
  it('creates an administrator whose password from stdin signs in to the web app', async () => {
    const password = 'first admin password';
    const created = await admin(
      [
        'create-user',
        '--email',
        emailOf('root'),
        '--name',
        'Root Admin',
        '--role',
        'admin',
        '--id',
        `${env.prefix}-root`,
        '--team',
        `${env.prefix}-sales`,
        `${env.prefix}-support`,
        '--password-stdin',
      ],
      `${password}\n`,
    );
    expect(created).toMatchObject({ code: 0, stderr: '' });
    expect(created.stdout).toContain(`Created user ${env.prefix}-root (${emailOf('root')}, admin`);

    const session = await signIn(emailOf('root'), password);
    expect(session.status).toBe(200);
    expect(session.body.user).toMatchObject({ id: `${env.prefix}-root`, name: 'Root Admin', role: 'admin' });
    expect(session.body.user.teams.map((t: { id: string }) => t.id)).toEqual([
      `${env.prefix}-sales`,
      `${env.prefix}-support`,
    ]);
    // Stored as a scrypt hash, never in clear.
    const [row] = await env.db.query<{ password_hash: string }>(
      'SELECT password_hash FROM users WHERE id = $1',
      [`${env.prefix}-root`],
    );
    expect(row?.password_hash).toMatch(/^scrypt\$/);
    expect(row?.password_hash).not.toContain(password);

    // The administrator can use the API right away: list users through the session.
    const users = await browserRequest(env.baseUrl, 'GET', `/api/users/${env.prefix}-root`, {
      cookie: sessionCookie(session.cookies),
    });
    expect(users.status).toBe(200);

    const listed = await admin(['list-users']);
    expect(listed.code).toBe(0);
    const line = listed.stdout.split('\n').find((l) => l.startsWith(`${env.prefix}-root `));
    expect(line?.split(/\s{2,}/)).toEqual([
      `${env.prefix}-root`,
      emailOf('root'),
      'Root Admin',
      'admin',
      `${env.prefix}-sales,${env.prefix}-support`,
      'yes',
    ]);
    expect(listed.stdout.split('\n')[0]?.split(/\s+/)).toEqual([
      'ID',
      'EMAIL',
      'NAME',
      'ROLE',
      'TEAMS',
      'ACTIVE',
    ]);
  });

  it('refuses an address another user has, whatever its case, and creates nothing', async () => {
    const again = await admin([
      'create-user',
      '--email',
      emailOf('alice').toUpperCase(),
      '--name',
      'Second Alice',
      '--role',
      'agent',
    ]);
    expect(again.code).toBe(1);
    expect(again.stdout).toBe('');
    expect(again.stderr).toBe(
      `admin: A user with the email ${emailOf('alice').toUpperCase()} already exists (${env.users.alice.id})\n`,
    );
    const [count] = await env.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM users WHERE lower(email) = lower($1)',
      [emailOf('alice')],
    );
    expect(count?.n).toBe(1);
  });

  it('prints a one-time link to set the password when none is given', async () => {
    const created = await admin([
      'create-user',
      '--email',
      emailOf('ivy'),
      '--name',
      'Ivy',
      '--role',
      'agent',
    ]);
    expect(created.code).toBe(0);
    const link = /^(\S+\/set-password\?token=(\S+))$/m.exec(created.stdout);
    expect(link?.[1]?.startsWith(`${PUBLIC_URL}/set-password?token=`)).toBe(true);
    const token = decodeURIComponent(link?.[2] ?? '');
    expect((await signIn(emailOf('ivy'), 'ivy password 1')).status).toBe(401);

    const set = await browserRequest(env.baseUrl, 'POST', '/api/password/reset', {
      body: { token, password: 'ivy password 1' },
    });
    expect(set.status).toBe(204);
    expect((await signIn(emailOf('ivy'), 'ivy password 1')).status).toBe(200);
    const reused = await browserRequest(env.baseUrl, 'POST', '/api/password/reset', {
      body: { token, password: 'ivy password 2' },
    });
    expect(reused.status).toBe(400);
  });

  it('resets a password from stdin and ends the sessions signed in with the old one', async () => {
    await admin(
      ['create-user', '--email', emailOf('jo'), '--name', 'Jo', '--role', 'supervisor', '--password-stdin'],
      'old password 123',
    );
    const before = await signIn(emailOf('jo'), 'old password 123');
    expect(before.status).toBe(200);

    const reset = await admin(
      ['reset-password', '--email', emailOf('jo'), '--password-stdin'],
      'new password 456\n',
    );
    expect(reset.code).toBe(0);
    expect((await signIn(emailOf('jo'), 'old password 123')).status).toBe(401);
    expect((await signIn(emailOf('jo'), 'new password 456')).status).toBe(200);
    const old = await browserRequest(env.baseUrl, 'GET', '/api/session', {
      cookie: sessionCookie(before.cookies),
    });
    expect(old.status).toBe(401);

    const link = await admin(['reset-password', '--email', emailOf('jo')]);
    expect(link.code).toBe(0);
    expect(link.stdout).toContain(`${PUBLIC_URL}/set-password?token=`);
  });

  it('prints a token once that authenticates as the user until it is revoked', async () => {
    const created = await admin(['create-token', '--email', emailOf('carol'), '--name', 'ci deploy']);
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^crm_[A-Za-z0-9_-]{43}$/);
    const tokenId = /Token (tok_[0-9a-f]+) "ci deploy"/.exec(created.stderr)?.[1] as string;
    expect(tokenId).toBeDefined();

    const me = await asBearer(token);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: env.users.carol.id, role: 'agent' });
    // Only the SHA-256 is stored.
    const stored = await env.db.query<{ token_hash: string }>(
      'SELECT token_hash FROM api_tokens WHERE id = $1',
      [tokenId],
    );
    expect(stored).toHaveLength(1);
    expect(stored[0]?.token_hash).not.toContain(token);

    const listed = await admin(['list-tokens', '--email', emailOf('carol')]);
    const row = listed.stdout.split('\n').find((l) => l.startsWith(tokenId));
    expect(row).toMatch(/\bci deploy\b.*\bnever\s+active$/);
    expect(listed.stdout).not.toContain(token);

    const revoked = await admin(['revoke-token', '--id', tokenId]);
    expect(revoked).toMatchObject({ code: 0, stdout: `Token ${tokenId} is revoked.\n` });
    const refused = await eventually(
      async () => {
        const res = await asBearer(token);
        return res.status === 401 && res;
      },
      10_000,
      'the revoked token to be refused',
    );
    expect(refused.body.type).toMatch(/\/unauthorized$/);
    expect(JSON.stringify(refused.body)).not.toContain(token);
    const after = await admin(['list-tokens', '--email', emailOf('carol')]);
    expect(after.stdout.split('\n').find((l) => l.startsWith(tokenId))).toMatch(/revoked$/);

    const unknown = await admin(['revoke-token', '--id', 'tok_nope']);
    expect(unknown).toMatchObject({ code: 1, stderr: 'admin: no token has the id tok_nope\n' });
  });

  it('gives tokens an end: --expires-in sets it, and a token past it answers 401', async () => {
    const before = Date.now();
    const created = await admin(['create-token', '--email', emailOf('bob'), '--expires-in', '90d']);
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    const tokenId = /Token (tok_[0-9a-f]+)/.exec(created.stderr)?.[1] as string;
    const [row] = await env.db.query<{ expires_at: string }>(
      'SELECT expires_at FROM api_tokens WHERE id = $1',
      [tokenId],
    );
    const ninetyDays = 90 * 24 * 3600 * 1000;
    expect(Date.parse(row?.expires_at ?? '')).toBeGreaterThanOrEqual(before + ninetyDays - 1000);
    expect(Date.parse(row?.expires_at ?? '')).toBeLessThanOrEqual(Date.now() + ninetyDays + 1000);
    expect((await asBearer(token)).status).toBe(200);

    // Its end moved into the past (the API has the caller cached by now).
    await env.db.query("UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1", [
      tokenId,
    ]);
    const refused = await eventually(
      async () => {
        const res = await asBearer(token);
        return res.status === 401 && res;
      },
      10_000,
      'the expired token to be refused',
    );
    expect(refused.body.detail).toBe('The API token is unknown, revoked or expired');
    const listed = await admin(['list-tokens']);
    expect(listed.stdout.split('\n').find((l) => l.startsWith(tokenId))).toMatch(/expired$/);
  });

  it('stops answering for a short-lived token once its time is up, cached or not', async () => {
    const created = await admin(['create-token', '--email', emailOf('dana'), '--expires-in', '3s']);
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    const tokenId = /Token (tok_[0-9a-f]+)/.exec(created.stderr)?.[1] as string;
    const [row] = await env.db.query<{ expires_at: string }>(
      'SELECT expires_at FROM api_tokens WHERE id = $1',
      [tokenId],
    );
    const end = Date.parse(row?.expires_at ?? '');
    expect((await asBearer(token)).status).toBe(200);
    const refused = await eventually(async () => (await asBearer(token)).status === 401, 15_000, 'expiry');
    expect(refused).toBe(true);
    expect(Date.now()).toBeGreaterThanOrEqual(end - 1000);
  });

  it.each([
    [['frobnicate'], 2, 'admin: unknown command "frobnicate" (npm run admin -- --help)'],
    [['create-user', '--email', 'x@example.com', '--name', 'X'], 2, 'admin: create-user needs --role'],
    [
      ['create-user', '--email', 'x@example.com', '--name', 'X', '--role', 'boss'],
      2,
      'admin: unknown role "boss": use agent, supervisor, designer, admin',
    ],
    [
      ['create-user', '--email', 'not-an-address', '--name', 'X', '--role', 'agent'],
      2,
      'admin: --email "not-an-address" is not an email address',
    ],
    [['create-token', '--email'], 2, 'admin: --email needs a value'],
    [
      ['create-token', '--email', 'x@example.com', '--expires-in', 'soon'],
      2,
      'admin: --expires-in "soon" is not a duration like 90d, 12h, 30m or 45s',
    ],
    [['revoke-token', '--token', 'x'], 2, 'admin: revoke-token has no option --token'],
    [
      ['reset-password', '--email', 'nobody@example.com'],
      1,
      'admin: No user has the email nobody@example.com',
    ],
  ])('refuses %j with exit status %i and one line', async (args, code, message) => {
    const result = await admin(args);
    expect(result.code).toBe(code);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')).toHaveLength(2);
    expect(result.stderr.startsWith(message)).toBe(true);
  });

  it('refuses a password too short, read from stdin, before touching the database', async () => {
    const result = await admin(
      ['create-user', '--email', emailOf('kim'), '--name', 'Kim', '--role', 'agent', '--password-stdin'],
      'short\n',
    );
    expect(result).toMatchObject({
      code: 2,
      stderr: 'admin: the password must have at least 10 characters\n',
    });
    expect(await env.db.query('SELECT id FROM users WHERE email = $1', [emailOf('kim')])).toEqual([]);
  });

  it('prints its usage with --help', async () => {
    const help = await admin(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npm run admin -- <command>/);
    for (const command of [
      'create-user',
      'list-users',
      'reset-password',
      'create-token',
      'list-tokens',
      'revoke-token',
    ])
      expect(help.stdout).toContain(command);
  });
});
