/**
 * The API caches who a token belongs to. These tests check that the cache never outlives a change:
 * revocations and team changes through the API take effect on the next request, changes made straight in
 * Postgres (another API process, an administrator's SQL) within moments, and a lost notification
 * connection turns caching off until it is back.
 */
import { issueToken } from '../api/auth';
import { CallerCache } from '../api/caller-cache';
import { eventually, startTestEnv, type TestEnv, type TestUser } from './support/env';

let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv({ worker: false });
});

afterAll(async () => {
  await env?.stop();
});

const me = (user: TestUser) => env.http(user, 'GET', '/api/users/me');

/** Runs SQL without firing triggers, so no notification tells the cache (what a broken setup would do). */
async function silently(sql: string, params: unknown[]): Promise<void> {
  await env.db.transaction(async (tx) => {
    await tx.query('SET LOCAL session_replication_role = replica');
    await tx.query(sql, params);
  });
}

describe('the caller cache behind bearer tokens', () => {
  it('refuses a revoked token on the very next request', async () => {
    const user = { id: env.users.carol.id, token: (await issueToken(env.db, env.users.carol.id, 'x')).token };
    expect((await me(user)).status).toBe(200);
    const [{ id }] = (await env.db.query<{ id: string }>(
      `SELECT id FROM api_tokens WHERE user_id = $1 AND name = 'x'`,
      [user.id],
    )) as [{ id: string }];
    expect((await env.http(env.users.admin, 'DELETE', `/api/tokens/${id}`)).status).toBe(204);
    expect((await me(user)).status).toBe(401);
  });

  it('shows a team joined through the API on the next request', async () => {
    expect((await me(env.users.carol)).body.teams.map((t: { id: string }) => t.id)).toEqual([
      `${env.prefix}-support`,
    ]);
    const joined = await env.http(
      env.users.admin,
      'PUT',
      `/api/teams/${env.prefix}-sales/members/${env.users.carol.id}`,
    );
    expect(joined.status).toBe(204);
    expect((await me(env.users.carol)).body.teams.map((t: { id: string }) => t.id)).toEqual([
      `${env.prefix}-sales`,
      `${env.prefix}-support`,
    ]);
    await env.http(env.users.admin, 'DELETE', `/api/teams/${env.prefix}-sales/members/${env.users.carol.id}`);
  });

  it('sees changes made straight in Postgres within moments (the triggers notify every API process)', async () => {
    const user = { id: env.users.dana.id, token: (await issueToken(env.db, env.users.dana.id, 'sql')).token };
    expect((await me(user)).status).toBe(200);
    await env.db.query('UPDATE users SET active = false WHERE id = $1', [user.id]);
    await eventually(async () => (await me(user)).status === 401, 3000, 'the change to refuse the token');
    await env.db.query('UPDATE users SET active = true WHERE id = $1', [user.id]);
    await eventually(async () => (await me(user)).status === 200, 3000, 'the change to accept the token');
    await env.db.query(`UPDATE api_tokens SET revoked_at = now() WHERE user_id = $1 AND name = 'sql'`, [
      user.id,
    ]);
    await eventually(async () => (await me(user)).status === 401, 3000, 'the change to refuse the token');
  });

  it('records when a token was last used', async () => {
    const { token } = await issueToken(env.db, env.users.bob.id, 'used');
    const listed = async () =>
      (
        (await env.http(env.users.bob, 'GET', '/api/tokens')).body.items as {
          name: string;
          lastUsedAt: string | null;
        }[]
      ).find((t) => t.name === 'used');
    expect((await listed())?.lastUsedAt).toBeNull();
    const before = Date.now();
    expect((await me({ id: env.users.bob.id, token })).status).toBe(200);
    await eventually(
      async () => {
        const at = (await listed())?.lastUsedAt;
        return typeof at === 'string' && Date.parse(at) >= before - 1000;
      },
      3000,
      'lastUsedAt to be set',
    );
  });
});

describe('CallerCache', () => {
  let cache: CallerCache;
  let token: string;
  const name = async () => (await cache.resolve(token))?.name;

  beforeAll(async () => {
    token = (await issueToken(env.db, env.users.alice.id, 'cache')).token;
  });

  afterEach(async () => {
    await env.db.query('UPDATE users SET name = $2 WHERE id = $1', [
      env.users.alice.id,
      `Alice ${env.prefix}`,
    ]);
  });

  const rename = (to: string) =>
    silently('UPDATE users SET name = $2 WHERE id = $1', [env.users.alice.id, to]);

  /**
   * Caches the caller named `cached`, renames them to `to` without a notification, and sees the cached
   * name. Other test files change users in the same database, and their notifications rightly empty
   * this cache too: then it tries again.
   */
  async function servedFromMemory(cached: string, to: string): Promise<void> {
    await eventually(
      async () => {
        cache.invalidate();
        if ((await name()) !== cached || cache.size !== 1) return false;
        await rename(to);
        if ((await name()) === cached) return true;
        await rename(cached);
        return false;
      },
      10_000,
      `"${cached}" from the cache after a silent rename`,
    );
  }

  it('answers from memory while nothing changed, and forgets on invalidation and after its time to live', async () => {
    cache = new CallerCache(env.db, { ttlMs: 1500 });
    await servedFromMemory(`Alice ${env.prefix}`, 'Renamed silently');
    cache.invalidate();
    expect(await name()).toBe('Renamed silently');
    await servedFromMemory('Renamed silently', 'Renamed again');
    await new Promise((r) => setTimeout(r, 1600));
    expect(await name()).toBe('Renamed again');
  });

  it('stops caching while its notification connection is down, and starts again once it is back', async () => {
    cache = new CallerCache(env.db);
    await eventually(async () => (await name(), cache.size === 1), 3000, 'a cached caller');
    const killed = await env.db.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = current_database() AND query = 'LISTEN auth_changed'`,
    );
    expect(killed.length).toBeGreaterThan(0);
    await eventually(async () => cache.size === 0, 3000, 'the cache to empty');
    // While disconnected, a silent change shows at once: nothing is served from memory.
    await silently('UPDATE users SET name = $2 WHERE id = $1', [env.users.alice.id, 'While down']);
    expect(await name()).toBe('While down');
    // Reconnected (retries every second): cached again.
    await eventually(async () => (await name(), cache.size === 1), 5000, 'caching to resume');
  });
});
