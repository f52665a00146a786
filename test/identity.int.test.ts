/** Users, teams and API tokens through the API. */
import { startTestEnv, type TestEnv, type TestUser } from './support/env';

let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv({ worker: false });
});

afterAll(async () => {
  await env?.stop();
});

const admin = () => env.users.admin;
const id = (name: string) => `${env.prefix}-${name}`;

describe('users', () => {
  it('tells the caller who they are, with teams and supervised teams', async () => {
    const me = await env.http(env.users.alice, 'GET', '/api/users/me');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      id: env.users.alice.id,
      role: 'agent',
      teams: [{ id: id('sales'), name: 'sales' }],
      supervisedTeams: [],
    });
    const sam = await env.http(env.users.sam, 'GET', '/api/users/me');
    expect(sam.body.supervisedTeams.map((t: { id: string }) => t.id)).toEqual([id('sales'), id('support')]);
  });

  it('lets administrators create, list, change and lock out users', async () => {
    const created = await env.http(admin(), 'POST', '/api/users', {
      id: id('uma'),
      name: 'Uma',
      email: `uma.${env.prefix}@example.com`,
      role: 'agent',
      locale: 'es',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: id('uma'), role: 'agent', locale: 'es', active: true });
    const again = await env.http(admin(), 'POST', '/api/users', {
      id: id('uma'),
      name: 'Uma',
      email: 'u@example.com',
      role: 'agent',
    });
    expect(again.status).toBe(409);
    expect(again.body.type).toMatch(/\/already-exists$/);
    const invalid = await env.http(admin(), 'POST', '/api/users', {
      name: 'X',
      email: 'not-an-address',
      role: 'boss',
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors.map((e: { pointer: string }) => e.pointer)).toEqual(['/body/role']);
    const badEmail = await env.http(admin(), 'POST', '/api/users', {
      name: 'X',
      email: `${'a'.repeat(65)}@example.com`,
      role: 'agent',
    });
    expect(badEmail.body.errors).toEqual([
      { pointer: '/body/email', message: 'the local part (before "@") has at most 64 characters' },
    ]);
    expect(
      (
        await env.http(env.users.sam, 'POST', '/api/users', {
          name: 'X',
          email: 'x@example.com',
          role: 'agent',
        })
      ).status,
    ).toBe(403);

    // Pages of the sales team's members.
    const page1 = await env.http(admin(), 'GET', `/api/users?team=${id('sales')}&limit=1`);
    expect(page1.body.items.map((u: { id: string }) => u.id)).toEqual([env.users.alice.id]);
    const page2 = await env.http(
      admin(),
      'GET',
      `/api/users?team=${id('sales')}&limit=1&cursor=${page1.body.nextCursor}`,
    );
    expect(page2.body.items.map((u: { id: string }) => u.id)).toEqual([env.users.bob.id]);
    expect(page2.body.nextCursor).toBeNull();

    // Agents see themselves only; others are hidden.
    expect((await env.http(env.users.alice, 'GET', `/api/users/${env.users.alice.id}`)).status).toBe(200);
    expect((await env.http(env.users.alice, 'GET', `/api/users/${env.users.bob.id}`)).status).toBe(404);

    const token = await env.http(admin(), 'POST', '/api/tokens', { name: 'uma', userId: id('uma') });
    const uma: TestUser = { id: id('uma'), token: token.body.token };
    expect((await env.http(uma, 'GET', '/api/users/me')).status).toBe(200);
    expect((await env.http(admin(), 'PATCH', `/api/users/${id('uma')}`, { active: false })).body.active).toBe(
      false,
    );
    expect((await env.http(uma, 'GET', '/api/users/me')).status).toBe(401);
    expect(
      (await env.http(admin(), 'PATCH', `/api/users/${id('uma')}`, { active: true, role: 'supervisor' })).body
        .role,
    ).toBe('supervisor');
    expect((await env.http(uma, 'GET', '/api/users/me')).body.role).toBe('supervisor');
  });
});

describe('teams', () => {
  it('lets administrators create teams, set supervisors and members; members see their team', async () => {
    const bad = await env.http(admin(), 'POST', '/api/teams', {
      id: id('ops'),
      name: 'Ops',
      supervisorId: env.users.alice.id,
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([
      { pointer: '/body/supervisorId', message: 'is not an active supervisor or administrator' },
    ]);
    const created = await env.http(admin(), 'POST', '/api/teams', { id: id('ops'), name: 'Ops' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: id('ops'), supervisor: null, members: [] });
    expect(
      (await env.http(admin(), 'PUT', `/api/teams/${id('ops')}/members/${env.users.carol.id}`)).status,
    ).toBe(204);
    expect(
      (await env.http(admin(), 'PUT', `/api/teams/${id('ops')}/members/${env.users.carol.id}`)).status,
    ).toBe(204);
    expect((await env.http(admin(), 'PUT', `/api/teams/${id('ops')}/members/nobody`)).status).toBe(404);
    const supervised = await env.http(admin(), 'PUT', `/api/teams/${id('ops')}/supervisor`, {
      userId: env.users.sam.id,
    });
    expect(supervised.body).toMatchObject({
      supervisor: { id: env.users.sam.id },
      members: [{ id: env.users.carol.id }],
    });

    // The change applies to the next request of those concerned.
    const sam = await env.http(env.users.sam, 'GET', '/api/users/me');
    expect(sam.body.supervisedTeams.map((t: { id: string }) => t.id)).toContain(id('ops'));
    expect((await env.http(env.users.carol, 'GET', `/api/teams/${id('ops')}`)).status).toBe(200);
    expect((await env.http(env.users.alice, 'GET', `/api/teams/${id('ops')}`)).status).toBe(404);
    const aliceTeams = await env.http(env.users.alice, 'GET', '/api/teams');
    expect(aliceTeams.body.items.map((t: { id: string }) => t.id)).toEqual([id('sales')]);

    expect(
      (await env.http(admin(), 'DELETE', `/api/teams/${id('ops')}/members/${env.users.carol.id}`)).status,
    ).toBe(204);
    expect((await env.http(env.users.carol, 'GET', `/api/teams/${id('ops')}`)).status).toBe(404);
    expect((await env.http(env.users.sam, 'POST', '/api/teams', { name: 'Mine' })).status).toBe(403);
  });
});

describe('tokens', () => {
  it('issues several tokens per user, shows each once, lists them without secrets and revokes them', async () => {
    const first = await env.http(env.users.bob, 'POST', '/api/tokens', { name: 'laptop' });
    const second = await env.http(env.users.bob, 'POST', '/api/tokens', { name: 'phone' });
    expect(first.status).toBe(201);
    expect(first.body.token).toMatch(/^crm_/);
    const laptop: TestUser = { id: env.users.bob.id, token: first.body.token };
    const phone: TestUser = { id: env.users.bob.id, token: second.body.token };
    expect((await env.http(laptop, 'GET', '/api/users/me')).status).toBe(200);
    expect((await env.http(phone, 'GET', '/api/users/me')).status).toBe(200);

    const list = await env.http(env.users.bob, 'GET', '/api/tokens');
    expect(list.body.items.map((t: { name: string }) => t.name)).toEqual(['test', 'laptop', 'phone']);
    expect(JSON.stringify(list.body)).not.toContain('crm_');

    expect((await env.http(env.users.alice, 'DELETE', `/api/tokens/${first.body.id}`)).status).toBe(404);
    expect((await env.http(phone, 'DELETE', `/api/tokens/${first.body.id}`)).status).toBe(204);
    const revoked = await env.http(laptop, 'GET', '/api/users/me');
    expect(revoked.status).toBe(401);
    expect(revoked.type).toContain('application/problem+json');
    expect((await env.http(phone, 'GET', '/api/users/me')).status).toBe(200);
    const after = await env.http(env.users.bob, 'GET', '/api/tokens');
    expect(after.body.items.find((t: { id: string }) => t.id === first.body.id).revokedAt).not.toBeNull();
  });

  it('lets only administrators issue or list tokens for someone else', async () => {
    expect(
      (await env.http(env.users.alice, 'POST', '/api/tokens', { name: 'x', userId: env.users.bob.id }))
        .status,
    ).toBe(403);
    expect((await env.http(env.users.alice, 'GET', `/api/tokens?userId=${env.users.bob.id}`)).status).toBe(
      403,
    );
    const issued = await env.http(admin(), 'POST', '/api/tokens', {
      name: 'support',
      userId: env.users.carol.id,
    });
    expect(issued.status).toBe(201);
    expect(issued.body.userId).toBe(env.users.carol.id);
    const carols = await env.http(admin(), 'GET', `/api/tokens?userId=${env.users.carol.id}`);
    expect(carols.body.items.map((t: { name: string }) => t.name)).toContain('support');
    expect((await env.http(admin(), 'DELETE', `/api/tokens/${issued.body.id}`)).status).toBe(204);
  });
});
