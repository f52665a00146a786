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

/** Schedules an activity as `user`; answers the response. */
function schedule(user: keyof TestEnv['users'], entityId: string, body: Record<string, unknown>) {
  return env.http(env.users[user], 'POST', `/api/entities/${entityId}/activities`, {
    kind: 'visit',
    status: 'scheduled',
    scheduledAt: new Date(Date.now() + 24 * HOUR).toISOString(),
    ...body,
  });
}

const team = (name: string) => `${env.prefix}-${name}`;
type InboxItem = {
  id: string;
  scheduledAt: string;
  kind: string;
  ownerId: string | null;
  ownerTeam: string | null;
};

/** Every page of an inbox query (pages of `limit`); fails on a page that repeats an item. */
async function allPages(user: keyof TestEnv['users'], query: string, limit: number): Promise<InboxItem[]> {
  const seen: InboxItem[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep = query ? '&' : '';
    const q: string = cursor ? `&cursor=${cursor}` : '';
    const page = await env.http(
      env.users[user],
      'GET',
      `/api/inbox/activities?${query}${sep}limit=${limit}${q}`,
    );
    expect(page.status).toBe(200);
    seen.push(...page.body.items);
    cursor = page.body.nextCursor;
    pages++;
  } while (cursor && pages < 100);
  expect(new Set(seen.map((i) => i.id)).size).toBe(seen.length);
  return seen;
}

/** Sorted by when planned, then id, as the inbox promises. */
const byPlan = (a: { at: string; id: string }, b: { at: string; id: string }) =>
  a.at === b.at ? (a.id < b.id ? -1 : 1) : Date.parse(a.at) - Date.parse(b.at);

describe('scheduled activities for a team', () => {
  it('gives an activity to a team as an entity is given: an agent their own team, a supervisor theirs', async () => {
    const alices = await entity(env.users.alice.id);
    const forSales = await schedule('alice', alices, { ownerTeam: team('sales') });
    expect(forSales.status).toBe(201);
    expect(forSales.body).toMatchObject({
      ownerTeam: team('sales'),
      ownerId: null,
      createdBy: env.users.alice.id,
    });
    // An agent may not give work to another team; a supervisor gives it to a team they supervise.
    expect((await schedule('alice', alices, { ownerTeam: team('support') })).status).toBe(403);
    const bySam = await schedule('sam', alices, { ownerTeam: team('support') });
    expect(bySam.status).toBe(201);
    expect(bySam.body.ownerTeam).toBe(team('support'));
    const admins = await schedule('admin', alices, { ownerTeam: team('support') });
    expect(admins.status).toBe(201);

    const pointers = async (res: Promise<{ status: number; body: { errors: { pointer: string }[] } }>) => {
      const r = await res;
      expect(r.status).toBe(400);
      return r.body.errors.map((e) => e.pointer).sort();
    };
    expect(await pointers(schedule('alice', alices, { ownerTeam: `${env.prefix}-nobody` }))).toEqual([
      '/body/ownerTeam',
    ]);
    expect(
      await pointers(schedule('alice', alices, { ownerTeam: team('sales'), ownerId: env.users.alice.id })),
    ).toEqual(['/body/ownerTeam']);
    expect(
      await pointers(
        env.http(env.users.alice, 'POST', `/api/entities/${alices}/activities`, {
          kind: 'call',
          status: 'done',
          ownerTeam: team('sales'),
        }),
      ),
    ).toEqual(['/body/ownerTeam']);
    // Three landed: alice's for sales, sam's and the administrator's for support.
    expect(await count(env, 'entity_activities WHERE entity_id = $1', [alices])).toBe(3);
    expect(
      await count(env, 'entity_activities WHERE entity_id = $1 AND owner_team = $2', [
        alices,
        team('support'),
      ]),
    ).toBe(2);
  });

  it("lets whom it was given to mark it done, though the entity is another team's", async () => {
    // Alice's account; carol (support) stands to it as "other" and may not edit it.
    const alices = await entity(env.users.alice.id);
    const forSupport = await schedule('sam', alices, { ownerTeam: team('support'), durationMinutes: 30 });
    expect(forSupport.status).toBe(201);
    expect(forSupport.body.durationMinutes).toBe(30);
    const forCarol = await schedule('sam', alices, { ownerId: env.users.carol.id });
    expect(forCarol.status).toBe(201);
    const forSales = await schedule('alice', alices, { ownerTeam: team('sales') });
    const done = (user: keyof TestEnv['users'], activityId: string) =>
      env.http(env.users[user], 'PATCH', `/api/entities/${alices}/activities/${activityId}`, {
        status: 'done',
      });
    expect((await done('carol', forSales.body.id)).status).toBe(403);
    expect((await done('dana', forSupport.body.id)).status).toBe(403);
    const bySupport = await done('carol', forSupport.body.id);
    expect(bySupport.status).toBe(200);
    expect(bySupport.body).toMatchObject({ status: 'done', doneBy: env.users.carol.id });
    expect((await done('carol', forCarol.body.id)).status).toBe(200);
    expect(
      await count(env, "entity_activities WHERE id = $1 AND status = 'scheduled'", [forSales.body.id]),
    ).toBe(1);
  });
});

describe('scheduled activities in the inbox', () => {
  it("shows mine and my teams' soonest first, pages them by cursor, and drops them when done or deleted", async () => {
    const bobs = await entity(env.users.bob.id);
    const other = await entity(env.users.carol.id);
    const base = Date.now() + 10 * HOUR;
    // Planned times (hours after base) for alice, for sales, for bob and for support; two at the same instant.
    const plan: [string, Record<string, unknown>, number][] = [
      ['alice', {}, 5],
      ['alice', { kind: 'call', durationMinutes: 15 }, 1],
      ['bob', { ownerTeam: team('sales') }, 3],
      ['bob', { ownerTeam: team('sales') }, 1],
      ['bob', {}, 2],
      ['sam', { ownerTeam: team('support') }, 4],
      ['alice', { kind: 'meeting' }, 3],
    ];
    const made: { id: string; at: string; owner: string }[] = [];
    for (const [user, body, h] of plan) {
      const entityId = user === 'alice' ? await entity(env.users.alice.id) : user === 'sam' ? other : bobs;
      const res = await schedule(user as keyof TestEnv['users'], entityId, {
        ...body,
        scheduledAt: new Date(base + h * HOUR).toISOString(),
      });
      expect(res.status).toBe(201);
      made.push({ id: res.body.id, at: res.body.scheduledAt, owner: res.body.ownerTeam ?? res.body.ownerId });
    }
    const ids = new Set(made.map((m) => m.id));
    const expectFor = (owners: string[]) =>
      made
        .filter((m) => owners.includes(m.owner))
        .sort(byPlan)
        .map((m) => m.id);
    const mineOnly = (items: InboxItem[]) => items.filter((i) => ids.has(i.id)).map((i) => i.id);

    const inbox = await allPages('alice', '', 2);
    // The whole inbox is in plan order (other tests' activities too), and holds mine and sales' here.
    const sorted = [...inbox].sort((a, b) =>
      byPlan({ at: a.scheduledAt, id: a.id }, { at: b.scheduledAt, id: b.id }),
    );
    expect(inbox.map((i) => i.id)).toEqual(sorted.map((i) => i.id));
    expect(mineOnly(inbox)).toEqual(expectFor([env.users.alice.id, team('sales')]));
    expect(inbox.every((i) => i.kind === 'activity')).toBe(true);

    const first = await env.http(env.users.alice, 'GET', '/api/inbox/activities?scope=mine');
    expect(mineOnly(first.body.items)).toEqual(expectFor([env.users.alice.id]));
    const call = first.body.items.find((i: { id: string }) => i.id === made[1]?.id);
    expect(call).toEqual({
      kind: 'activity',
      id: made[1]?.id,
      activityKind: 'call',
      entity: { id: expect.any(String), name: expect.stringMatching(/^Activity account /) },
      subject: null,
      notes: null,
      scheduledAt: new Date(base + HOUR).toISOString(),
      durationMinutes: 15,
      ownerId: env.users.alice.id,
      ownerTeam: null,
      createdBy: env.users.alice.id,
      overdue: false,
    });
    const teams = await allPages('alice', 'scope=team', 50);
    expect(mineOnly(teams)).toEqual(expectFor([team('sales')]));
    expect(mineOnly(await allPages('carol', '', 3))).toEqual(expectFor([team('support')]));
    // A team's queue: given to the team and to its members (sam supervises sales).
    expect(mineOnly(await allPages('sam', `team=${team('sales')}`, 2))).toEqual(
      expectFor([env.users.alice.id, env.users.bob.id, team('sales')]),
    );

    // Done: it leaves the inbox. Entity deleted: its activities leave too.
    const firstSales = made[3] as { id: string };
    expect(
      (
        await env.http(env.users.bob, 'PATCH', `/api/entities/${bobs}/activities/${firstSales.id}`, {
          status: 'done',
        })
      ).status,
    ).toBe(200);
    expect((await env.http(env.users.sam, 'DELETE', `/api/entities/${bobs}`)).status).toBe(204);
    const left = made.filter((m, i) => i !== 3 && !(i >= 2 && i <= 4));
    expect(mineOnly(await allPages('alice', '', 50))).toEqual(
      left
        .filter((m) => [env.users.alice.id, team('sales')].includes(m.owner))
        .sort(byPlan)
        .map((m) => m.id),
    );
  });

  it('marks an activity planned before now as overdue', async () => {
    const id = await entity(env.users.bob.id);
    const res = await schedule('bob', id, { kind: 'call' });
    const past = new Date(Date.now() - 2 * HOUR);
    await env.db.query('UPDATE entity_activities SET at = $2, scheduled_at = $2 WHERE id = $1', [
      res.body.id,
      past,
    ]);
    const inbox = await allPages('bob', 'scope=mine', 50);
    const item = inbox.find((i) => i.id === res.body.id) as InboxItem & { overdue: boolean };
    expect(item).toMatchObject({ scheduledAt: past.toISOString(), overdue: true });
    // Overdue ones come first.
    expect(inbox[0]?.scheduledAt && Date.parse(inbox[0].scheduledAt)).toBeLessThanOrEqual(past.getTime());
  });

  it('is for those who read entities, and refuses unknown parameters and cursors', async () => {
    const dana = await env.http(env.users.dana, 'GET', '/api/inbox/activities');
    expect(dana.status).toBe(403);
    const unknown = await env.http(env.users.alice, 'GET', '/api/inbox/activities?sort=due');
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors.map((e: { pointer: string }) => e.pointer)).toEqual(['/query/sort']);
    const both = await env.http(
      env.users.sam,
      'GET',
      `/api/inbox/activities?scope=mine&team=${team('sales')}`,
    );
    expect(both.status).toBe(400);
    expect(both.body.errors.map((e: { pointer: string }) => e.pointer)).toEqual(['/query/scope']);
    const cursor = Buffer.from(JSON.stringify(['yesterday', 'x'])).toString('base64url');
    const bad = await env.http(env.users.alice, 'GET', `/api/inbox/activities?cursor=${cursor}`);
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { pointer: string }) => e.pointer)).toEqual(['/query/cursor']);
  });
});

/** iCalendar's UTC form of an instant: 20261204T183000Z. */
const icsTime = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

describe('scheduled activities in the calendar feed', () => {
  it('has one event per activity given to the user, at its plan for its duration, gone when done', async () => {
    const id = await entity(env.users.bob.id);
    const start = Date.parse('2031-03-04T09:30:00Z');
    const meeting = await schedule('bob', id, {
      kind: 'meeting',
      subject: 'Quarterly review',
      notes: 'Bring the price list',
      scheduledAt: new Date(start).toISOString(),
      durationMinutes: 45,
    });
    const call = await schedule('bob', id, {
      kind: 'call',
      scheduledAt: new Date(start + 24 * HOUR).toISOString(),
    });
    const teams = await schedule('bob', id, { ownerTeam: team('sales') });
    const created = await env.http(env.users.bob, 'POST', '/api/users/me/calendar-url');
    expect(created.status).toBe(201);
    const path = new URL(created.body.url).pathname;
    const feed = await env.http(null, 'GET', path);
    expect(feed.status).toBe(200);
    const events = String(feed.body)
      .replace(/\r\n /g, '')
      .split('BEGIN:VEVENT')
      .slice(1)
      .map((e) =>
        Object.fromEntries(
          e
            .split('\r\n')
            .filter((l) => /^[A-Z-]+[:;]/.test(l))
            .map((l) => {
              const at = l.search(/[:;]/);
              return [l.slice(0, at), l.slice(l.indexOf(':') + 1)];
            }),
        ),
      );
    const uid = (activityId: string) => events.find((e) => String(e.UID).startsWith(`${activityId}@`));
    expect(uid(meeting.body.id)).toMatchObject({
      DTSTART: icsTime(start),
      DTEND: icsTime(start + 45 * 60_000),
      SUMMARY: 'Meeting: Quarterly review',
    });
    expect(String(uid(meeting.body.id)?.DESCRIPTION)).toContain('Bring the price list');
    // Without a planned duration: half an hour; titled by the entity.
    expect(uid(call.body.id)).toMatchObject({
      DTSTART: icsTime(start + 24 * HOUR),
      DTEND: icsTime(start + 24 * HOUR + 30 * 60_000),
      SUMMARY: expect.stringMatching(/^Call: Activity account /),
    });
    // A team's activity is not in a member's feed until someone takes it (as a claimable task).
    expect(uid(teams.body.id)).toBeUndefined();

    await env.http(env.users.bob, 'PATCH', `/api/entities/${id}/activities/${meeting.body.id}`, {
      status: 'done',
    });
    const after = String((await env.http(null, 'GET', path)).body);
    expect(after).not.toContain(`UID:${meeting.body.id}@`);
    expect(after).toContain(`UID:${call.body.id}@`);
    await env.http(env.users.bob, 'DELETE', '/api/users/me/calendar-url');
  });
});

describe('the calendar feed of someone who reads no entity', () => {
  it('shows a designer no activity, though one names her (she may not read the entity)', async () => {
    const id = await entity(env.users.bob.id);
    const activityId = `${id}-for-dana`;
    await env.db.query(
      `INSERT INTO entity_activities (id, entity_id, kind, status, at, scheduled_at, owner_id, created_by)
       VALUES ($1, $2, 'visit', 'scheduled', now() + interval '1 day', now() + interval '1 day', $3, $3)`,
      [activityId, id, env.users.dana.id],
    );
    const created = await env.http(env.users.dana, 'POST', '/api/users/me/calendar-url');
    expect(created.status).toBe(201);
    const feed = await env.http(null, 'GET', new URL(created.body.url).pathname);
    expect(feed.status).toBe(200);
    expect(String(feed.body)).toContain('BEGIN:VCALENDAR');
    expect(String(feed.body)).not.toContain(activityId);
    // The same row given to bob is in his feed: the role, not the row, kept it out.
    await env.db.query('UPDATE entity_activities SET owner_id = $2 WHERE id = $1', [
      activityId,
      env.users.bob.id,
    ]);
    const bobs = await env.http(env.users.bob, 'POST', '/api/users/me/calendar-url');
    expect(String((await env.http(null, 'GET', new URL(bobs.body.url).pathname)).body)).toContain(
      `UID:${activityId}@`,
    );
  });
});

describe('activities in the entity timeline', () => {
  it("merges the entity's activities with its cases' events by time, for whoever reads the entity", async () => {
    const id = await entity(env.users.alice.id);
    const caseId = `${env.prefix}-tl-case-${seq}`;
    const t0 = Date.now() - 50 * HOUR;
    await env.db.query(
      `INSERT INTO cases (id, case_type, definition_version, title, status, status_category, entity_id, entity_name,
         owner_id, data, created_at, updated_at, version)
       VALUES ($1, 'timeline-test', 1, 'Deal', 'NEW', 'open', $2, 'x', $3, '{}', now(), now(), 1)`,
      [caseId, id, env.users.alice.id],
    );
    // Case events at t0 + 10 h and two at t0 + 30 h; calls done at t0 + 20 h and t0 + 40 h; a visit ahead of now.
    for (const [s, h, kind] of [
      [1, 10, 'case.started'],
      [2, 30, 'status.changed'],
      [3, 30, 'data.changed'],
    ] as const)
      await env.db.query(
        `INSERT INTO case_events (case_id, seq, at, kind, actor, detail) VALUES ($1, $2, $3, $4, $5, '{}')`,
        [caseId, s, new Date(t0 + h * HOUR), kind, env.users.alice.id],
      );
    const log = async (h: number) => {
      const res = await env.http(env.users.bob, 'POST', `/api/entities/${id}/activities`, {
        kind: 'call',
        status: 'done',
        occurredAt: new Date(t0 + h * HOUR).toISOString(),
      });
      expect(res.status).toBe(201);
      return res.body.id as string;
    };
    const call20 = await log(20);
    const call40 = await log(40);
    const visit = await schedule('alice', id, {});
    expect(visit.status).toBe(201);

    const label = (i: { case: { id: string } | null; seq: number | null; activity?: { id: string } }) =>
      i.activity ? i.activity.id : `${i.case?.id}#${i.seq}`;
    const expected = [visit.body.id, call40, `${caseId}#3`, `${caseId}#2`, call20, `${caseId}#1`];
    const timeline = await env.http(env.users.alice, 'GET', `/api/entities/${id}/timeline`);
    expect(timeline.status).toBe(200);
    expect(timeline.body.items.map(label)).toEqual(expected);
    expect(timeline.body.items[0]).toMatchObject({
      case: null,
      seq: null,
      kind: 'activity.scheduled',
      actor: env.users.alice.id,
      taskId: null,
      detail: null,
      activity: { id: visit.body.id, status: 'scheduled', scheduledAt: visit.body.scheduledAt },
    });
    expect(timeline.body.items[1]).toMatchObject({ kind: 'activity.done', actor: env.users.bob.id });
    // The same limit pages the merged list.
    const three = await env.http(env.users.alice, 'GET', `/api/entities/${id}/timeline?limit=3`);
    expect(three.body.items.map(label)).toEqual(expected.slice(0, 3));
    // Carol reads the entity but not alice's case: she sees its activities only. Dana reads no entity.
    const carol = await env.http(env.users.carol, 'GET', `/api/entities/${id}/timeline`);
    expect(carol.body.items.map(label)).toEqual([visit.body.id, call40, call20]);
    expect((await env.http(env.users.dana, 'GET', `/api/entities/${id}/timeline`)).status).toBe(403);
  });
});
