/** GET /api/delegates: whom the delegate picker offers, searched by name or email, bounded, per caller. */
import { startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;
const ids = (body: { items: { id: string }[] }) => body.items.map((p) => p.id);
const id = (name: string) => `${env.prefix}-${name}`;

beforeAll(async () => {
  env = await startTestEnv({ worker: false });
  // Seeded: sales (alice, bob), support (carol), both supervised by sam; dana designs; admin administers.
  for (const [name, display] of [
    ['percy', `Percy 100% ${'x'}`],
    ['eve', 'Eve Gone'],
  ] as const) {
    const made = await env.http(env.users.admin, 'POST', '/api/users', {
      id: id(name),
      name: `${display} ${env.prefix}`,
      email: `${name}.${env.prefix}@example.com`,
      role: 'agent',
    });
    expect(made.status).toBe(201);
    const joined = await env.http(env.users.admin, 'PUT', `/api/teams/${id('sales')}/members/${id(name)}`);
    expect(joined.status).toBe(204);
  }
  const locked = await env.http(env.users.admin, 'PATCH', `/api/users/${id('eve')}`, { active: false });
  expect(locked.status).toBe(200);
});

afterAll(async () => {
  await env?.stop();
});

describe('GET /api/delegates', () => {
  it("lists an agent's active teammates and their supervisor by name, never the agent", async () => {
    const res = await env.http(env.users.alice, 'GET', '/api/delegates');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      items: [
        { id: id('bob'), name: `Bob ${env.prefix}`, email: `bob.${env.prefix}@example.com` },
        { id: id('percy'), name: `Percy 100% x ${env.prefix}`, email: `percy.${env.prefix}@example.com` },
        { id: id('sam'), name: `Sam ${env.prefix}`, email: `sam.${env.prefix}@example.com` },
      ],
      more: false,
    });
  });

  it('gives a supervisor the members of every team they supervise', async () => {
    const res = await env.http(env.users.sam, 'GET', '/api/delegates');
    expect(ids(res.body)).toEqual([id('alice'), id('bob'), id('carol'), id('percy')]);
  });

  it('searches name and email in any case, wildcards taken literally', async () => {
    expect(ids((await env.http(env.users.alice, 'GET', '/api/delegates?q=BOB.')).body)).toEqual([id('bob')]);
    expect(ids((await env.http(env.users.alice, 'GET', '/api/delegates?q=%25')).body)).toEqual([id('percy')]);
    expect(ids((await env.http(env.users.alice, 'GET', '/api/delegates?q=_')).body)).toEqual([]);
  });

  it('is bounded: limit caps the list and `more` says others match', async () => {
    const page = await env.http(env.users.sam, 'GET', '/api/delegates?limit=2');
    expect(page.body).toMatchObject({ more: true });
    expect(ids(page.body)).toEqual([id('alice'), id('bob')]);
    for (const [query, pointer] of [
      ['limit=51', '/query/limit'],
      ['limit=0', '/query/limit'],
      [`q=${'a'.repeat(101)}`, '/query/q'],
      ['team=x', '/query/team'],
    ]) {
      const bad = await env.http(env.users.sam, 'GET', `/api/delegates?${query}`);
      expect({ query, status: bad.status, type: bad.type }).toEqual({
        query,
        status: 400,
        type: 'application/problem+json; charset=utf-8',
      });
      expect(bad.body.errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
    }
  });

  it('gives administrators everyone who works tasks, a designer without teams no one, strangers a 401', async () => {
    const all = await env.http(env.users.admin, 'GET', `/api/delegates?q=${env.prefix}`);
    expect(ids(all.body)).toEqual([id('alice'), id('bob'), id('carol'), id('percy'), id('sam')]);
    expect((await env.http(env.users.dana, 'GET', '/api/delegates')).body).toEqual({
      items: [],
      more: false,
    });
    expect((await env.http(null, 'GET', '/api/delegates')).status).toBe(401);
  });
});
