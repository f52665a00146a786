/**
 * Activities on an entity outside any case (issue 15): calls and meetings logged as done, visits scheduled and
 * marked done, the cursor-paged list, and access as for editing/reading the entity. Expected orders and pages
 * are computed here from the times the test sent.
 */
import { PROBLEM_BASE } from '../api/problem';
import { count, seedEntity } from './support/crm';
import { startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;
let seq = 0;

beforeAll(async () => {
  env = await startTestEnv({ worker: false });
});

afterAll(async () => {
  await env?.stop();
});

/** A fresh entity looked after by `agentId`. */
async function entity(agentId: string | null): Promise<string> {
  const id = `${env.prefix}-act-${++seq}`;
  await seedEntity(env, { id, code: `${env.prefix}-A${seq}`, name: `Activity account ${seq}`, agentId });
  return id;
}

const HOUR = 3_600_000;

describe('activities on an entity', () => {
  it('logs a call with its outcome, notes and duration, and a meeting at a past time', async () => {
    const id = await entity(env.users.alice.id);
    const before = Date.now();
    const call = await env.http(env.users.alice, 'POST', `/api/entities/${id}/activities`, {
      kind: 'call',
      status: 'done',
      subject: 'Renewal',
      outcome: 'interested',
      notes: 'Call back in May',
      durationMinutes: 12,
    });
    expect(call.status).toBe(201);
    expect(call.headers.get('location')).toBe(`/api/entities/${id}/activities/${call.body.id}`);
    expect(call.body).toMatchObject({
      entityId: id,
      kind: 'call',
      status: 'done',
      subject: 'Renewal',
      outcome: 'interested',
      notes: 'Call back in May',
      durationMinutes: 12,
      scheduledAt: null,
      createdBy: env.users.alice.id,
      doneBy: env.users.alice.id,
    });
    const at = Date.parse(call.body.at);
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(Date.now());

    const occurredAt = new Date(before - 2 * HOUR).toISOString();
    const meeting = await env.http(env.users.bob, 'POST', `/api/entities/${id}/activities`, {
      kind: 'meeting',
      status: 'done',
      occurredAt,
      durationMinutes: 45,
    });
    expect(meeting.status).toBe(201);
    expect(meeting.body.at).toBe(occurredAt);

    const list = await env.http(env.users.carol, 'GET', `/api/entities/${id}/activities`);
    expect(list.status).toBe(200);
    expect(list.body.items.map((a: { id: string }) => a.id)).toEqual([call.body.id, meeting.body.id]);
    expect(list.body.nextCursor).toBeNull();
  });

  it('schedules a visit for someone of the team and marks it done, keeping when it was planned', async () => {
    const id = await entity(env.users.bob.id);
    const scheduledAt = new Date(Date.now() + 48 * HOUR).toISOString();
    const visit = await env.http(env.users.sam, 'POST', `/api/entities/${id}/activities`, {
      kind: 'visit',
      status: 'scheduled',
      subject: 'Site visit',
      scheduledAt,
      ownerId: env.users.bob.id,
    });
    expect(visit.status).toBe(201);
    expect(visit.body).toMatchObject({
      status: 'scheduled',
      at: scheduledAt,
      scheduledAt,
      ownerId: env.users.bob.id,
      createdBy: env.users.sam.id,
      doneBy: null,
    });
    const mine = await env.http(env.users.bob, 'POST', `/api/entities/${id}/activities`, {
      kind: 'call',
      status: 'scheduled',
      scheduledAt,
    });
    expect(mine.body.ownerId).toBe(env.users.bob.id);

    const scheduled = await env.http(env.users.bob, 'GET', `/api/entities/${id}/activities?status=scheduled`);
    expect(scheduled.body.items.map((a: { id: string }) => a.id).sort()).toEqual(
      [visit.body.id, mine.body.id].sort(),
    );

    const occurredAt = new Date(Date.now() - 60_000).toISOString();
    const done = await env.http(env.users.bob, 'PATCH', `/api/entities/${id}/activities/${visit.body.id}`, {
      status: 'done',
      outcome: 'order placed',
      durationMinutes: 90,
      occurredAt,
    });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({
      status: 'done',
      at: occurredAt,
      scheduledAt,
      outcome: 'order placed',
      durationMinutes: 90,
      subject: 'Site visit',
      doneBy: env.users.bob.id,
    });
    const again = await env.http(env.users.bob, 'PATCH', `/api/entities/${id}/activities/${visit.body.id}`, {
      status: 'done',
    });
    expect(again.status).toBe(409);
    expect(again.body.type).toBe(`${PROBLEM_BASE}activity-done`);
    const left = await env.http(env.users.bob, 'GET', `/api/entities/${id}/activities?status=scheduled`);
    expect(left.body.items.map((a: { id: string }) => a.id)).toEqual([mine.body.id]);
  });

  it('pages the list by cursor, latest first, without losing or repeating an activity', async () => {
    const id = await entity(env.users.alice.id);
    const base = Date.now() - 100 * HOUR;
    // Seven calls, two of them at the same instant (the id breaks the tie).
    const offsets = [5, 1, 3, 3, 7, 2, 6];
    const made: { id: string; at: string }[] = [];
    for (const h of offsets) {
      const res = await env.http(env.users.alice, 'POST', `/api/entities/${id}/activities`, {
        kind: 'call',
        status: 'done',
        occurredAt: new Date(base + h * HOUR).toISOString(),
      });
      expect(res.status).toBe(201);
      made.push({ id: res.body.id, at: res.body.at });
    }
    const expected = [...made]
      .sort((a, b) => (a.at === b.at ? (a.id < b.id ? 1 : -1) : Date.parse(b.at) - Date.parse(a.at)))
      .map((a) => a.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : '';
      const page = await env.http(env.users.alice, 'GET', `/api/entities/${id}/activities?limit=3${q}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((a: { id: string }) => a.id));
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(Math.ceil(offsets.length / 3));
    expect(seen).toEqual(expected);
  });

  it('refuses what is not an activity, with a pointer to each error', async () => {
    const id = await entity(env.users.alice.id);
    const post = (body: unknown) => env.http(env.users.alice, 'POST', `/api/entities/${id}/activities`, body);
    const pointers = async (body: unknown) => {
      const res = await post(body);
      expect(res.status).toBe(400);
      return res.body.errors.map((e: { pointer: string }) => e.pointer).sort();
    };
    expect(await pointers({ kind: 'fax', status: 'done' })).toEqual(['/body/kind']);
    expect(await pointers({ kind: 'visit', status: 'scheduled' })).toEqual(['/body/scheduledAt']);
    expect(
      await pointers({
        kind: 'visit',
        status: 'scheduled',
        scheduledAt: new Date(Date.now() - HOUR).toISOString(),
        outcome: 'x',
      }),
    ).toEqual(['/body/outcome', '/body/scheduledAt']);
    expect(
      await pointers({
        kind: 'call',
        status: 'done',
        occurredAt: new Date(Date.now() + 24 * HOUR).toISOString(),
      }),
    ).toEqual(['/body/occurredAt']);
    expect(
      await pointers({
        kind: 'call',
        status: 'done',
        durationMinutes: -1,
        scheduledAt: '2030-01-01T00:00:00Z',
      }),
    ).toEqual(['/body/durationMinutes', '/body/scheduledAt']);
    const list = await env.http(env.users.alice, 'GET', `/api/entities/${id}/activities?status=later`);
    expect(list.status).toBe(400);
    expect(list.body.errors).toEqual([{ pointer: '/query/status', message: 'must be done or scheduled' }]);
    expect(await count(env, 'entity_activities WHERE entity_id = $1', [id])).toBe(0);
  });

  it('allows writes as editing the entity and reads as reading it; nothing lands when refused', async () => {
    const other = await entity(null);
    // Carol (support) stands to an entity of alice's as "other": she reads it but may not edit it.
    const alices = await entity(env.users.alice.id);
    const call = { kind: 'call', status: 'done' };
    expect((await env.http(env.users.carol, 'POST', `/api/entities/${alices}/activities`, call)).status).toBe(
      403,
    );
    expect((await env.http(env.users.carol, 'GET', `/api/entities/${alices}/activities`)).status).toBe(200);
    expect((await env.http(env.users.dana, 'GET', `/api/entities/${alices}/activities`)).status).toBe(403);
    expect((await env.http(env.users.dana, 'POST', `/api/entities/${alices}/activities`, call)).status).toBe(
      403,
    );
    expect(
      (await env.http(env.users.alice, 'GET', `/api/entities/nope-${env.prefix}/activities`)).status,
    ).toBe(404);
    // An agent may schedule only for themselves; a scheduled one of alice's is not carol's to mark done.
    const forBob = await env.http(env.users.alice, 'POST', `/api/entities/${alices}/activities`, {
      kind: 'visit',
      status: 'scheduled',
      scheduledAt: new Date(Date.now() + HOUR).toISOString(),
      ownerId: env.users.bob.id,
    });
    expect(forBob.status).toBe(403);
    const visit = await env.http(env.users.alice, 'POST', `/api/entities/${alices}/activities`, {
      kind: 'visit',
      status: 'scheduled',
      scheduledAt: new Date(Date.now() + HOUR).toISOString(),
    });
    expect(visit.status).toBe(201);
    const byCarol = await env.http(
      env.users.carol,
      'PATCH',
      `/api/entities/${alices}/activities/${visit.body.id}`,
      { status: 'done' },
    );
    expect(byCarol.status).toBe(403);
    // The activity belongs to its entity: named under another one, it is not found.
    const elsewhere = await env.http(
      env.users.admin,
      'PATCH',
      `/api/entities/${other}/activities/${visit.body.id}`,
      { status: 'done' },
    );
    expect(elsewhere.status).toBe(404);
    expect(await count(env, 'entity_activities WHERE entity_id = $1', [alices])).toBe(1);
    expect(
      await count(env, "entity_activities WHERE id = $1 AND status = 'scheduled'", [visit.body.id]),
    ).toBe(1);
  });

  it('goes with its entity when the entity is deleted', async () => {
    const id = await entity(env.users.bob.id);
    await env.http(env.users.bob, 'POST', `/api/entities/${id}/activities`, { kind: 'call', status: 'done' });
    expect((await env.http(env.users.sam, 'DELETE', `/api/entities/${id}`)).status).toBe(204);
    expect(await count(env, 'entity_activities WHERE entity_id = $1', [id])).toBe(0);
  });
});
