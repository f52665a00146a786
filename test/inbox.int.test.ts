/**
 * The inbox read path: filters, sorting, keyset pages and badge counts over a read model seeded directly
 * (deterministic due dates and priorities), then live updates and the calendar feed over real cases.
 */
import http from 'node:http';
import { dayBounds } from '../api/routes/inbox';
import { eventually, scoped, shippedDefinition, startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;
let p: string;
const DAY = 86_400_000;
const now = Date.now();
const [, todayEnd] = dayBounds('UTC', new Date(now));
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

interface SeedTask {
  id: string;
  caseKey: 'A' | 'B';
  title: string;
  status?: 'open' | 'completed' | 'cancelled';
  assignee?: string | null;
  teams?: string[];
  priority?: 'low' | 'normal' | 'high' | 'urgent';
  due?: number | null;
  followUp?: number | null;
  created: number;
  completedBy?: string | null;
  action?: string;
}

/** Ids are short names; the seeded row id is `${prefix}-${name}`. */
const TASKS: (prefix: string, users: TestEnv['users']) => SeedTask[] = (x, u) => [
  {
    id: 'overdue',
    caseKey: 'A',
    title: 'Call ACME about forklifts',
    assignee: u.alice.id,
    priority: 'high',
    due: now - DAY,
    created: now - 10 * DAY,
  },
  {
    id: 'today',
    caseKey: 'A',
    title: 'Prepare the quote',
    assignee: u.alice.id,
    due: now + (todayEnd.getTime() - now) / 2,
    created: now - 9 * DAY,
  },
  {
    id: 'visit',
    caseKey: 'B',
    title: 'Visit Globex',
    teams: [`${x}-sales`],
    priority: 'urgent',
    due: now + 2 * DAY,
    created: now - 8 * DAY,
  },
  {
    id: 'offer',
    caseKey: 'A',
    title: 'Send the 100% discount_offer',
    teams: [`${x}-sales`],
    priority: 'low',
    due: null,
    created: now - 7 * DAY,
  },
  {
    id: 'support',
    caseKey: 'B',
    title: 'Fix the printer',
    teams: [`${x}-support`],
    due: now + DAY,
    created: now - 6 * DAY,
  },
  {
    id: 'bobs',
    caseKey: 'A',
    title: "Bob's call",
    assignee: u.bob.id,
    teams: [`${x}-sales`],
    due: now + 3 * DAY,
    created: now - 5 * DAY,
  },
  {
    id: 'done',
    caseKey: 'B',
    title: 'Done long ago',
    status: 'completed',
    assignee: u.alice.id,
    completedBy: u.alice.id,
    due: now - 5 * DAY,
    created: now - 20 * DAY,
  },
  {
    id: 'later',
    caseKey: 'A',
    title: 'Follow up later',
    assignee: u.alice.id,
    due: now + 5 * DAY,
    followUp: now + DAY,
    created: now - 4 * DAY,
  },
];

async function seed(): Promise<void> {
  const cases = {
    A: {
      id: `${p}-case-A`,
      type: `${p}-typeA`,
      status: 'S1',
      title: `ACME ${p}: forklifts`,
      entity: `ACME ${p}`,
    },
    B: {
      id: `${p}-case-B`,
      type: `${p}-typeB`,
      status: 'S2',
      title: `Globex ${p}: printers`,
      entity: `Globex ${p}`,
    },
  };
  await env.db.transaction(async (tx) => {
    for (const c of Object.values(cases)) {
      await tx.query(
        `INSERT INTO cases (id, case_type, definition_version, title, status, status_category, entity_name, created_at, updated_at, version)
         VALUES ($1, $2, 1, $3, $4, 'open', $5, now(), now(), 1)`,
        [c.id, c.type, c.title, c.status, c.entity],
      );
    }
    for (const t of TASKS(p, env.users)) {
      const c = cases[t.caseKey];
      await tx.query(
        `INSERT INTO tasks (id, case_id, step, action, title, status, assignee, candidate_teams, priority, due_at,
           follow_up_at, created_at, completed_at, completed_by, case_type, case_title, case_status, entity_name, version)
         VALUES ($1, $2, 'work', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 1)`,
        [
          `${p}-${t.id}`,
          c.id,
          t.action ?? 'call',
          t.title,
          t.status ?? 'open',
          t.assignee ?? null,
          t.teams ?? [],
          t.priority ?? 'normal',
          iso(t.due ?? null),
          iso(t.followUp ?? null),
          iso(t.created),
          t.status === 'completed' ? iso(now - 4 * DAY) : null,
          t.completedBy ?? null,
          c.type,
          c.title,
          c.status,
          c.entity,
        ],
      );
    }
  });
}

beforeAll(async () => {
  env = await startTestEnv();
  p = env.prefix;
  await seed();
});

afterAll(async () => {
  await env?.stop();
});

/** GET /api/inbox as a user; returns the short names of the items (seeded ids without the prefix). */
async function inbox(user = env.users.alice, query = '') {
  const res = await env.http(user, 'GET', `/api/inbox${query ? `?${query}` : ''}`);
  expect(res.status).toBe(200);
  const names = (res.body.items as { id: string }[])
    .map((t) => t.id)
    .filter((id) => id.startsWith(`${p}-`))
    .map((id) => id.slice(p.length + 1));
  return { names, body: res.body };
}

describe('inbox filters', () => {
  it('shows my tasks and my teams unclaimed ones, by due date (no due date last), with badges', async () => {
    const { names, body } = await inbox();
    expect(names).toEqual(['overdue', 'today', 'visit', 'later', 'offer']);
    expect(body.counts).toEqual({ mine: 3, claimable: 2, overdue: 1, dueToday: 1 });
    const first = body.items[0];
    expect(first).toMatchObject({
      title: 'Call ACME about forklifts',
      assignee: env.users.alice.id,
      overdue: true,
      priority: 'high',
      entityName: `ACME ${p}`,
      case: { id: `${p}-case-A`, type: `${p}-typeA`, title: `ACME ${p}: forklifts`, status: 'S1' },
    });
    expect(body.nextCursor).toBeNull();
  });

  it('shows each task as the task page does, without its long parts, with a comment count', async () => {
    const { body } = await inbox(env.users.alice, 'state=any&scope=mine');
    expect(body.items.length).toBeGreaterThan(2);
    for (const item of body.items) {
      const task = await env.http(env.users.alice, 'GET', `/api/tasks/${item.id}`);
      const {
        description: _d,
        formData: _f,
        notes: _n,
        comments,
        history: _h,
        ...summary
      } = task.body as Record<string, unknown>;
      expect(item).toEqual({ ...summary, commentCount: (comments as unknown[]).length });
    }
  });

  it.each([
    ['scope=mine', ['overdue', 'today', 'later']],
    ['scope=claimable', ['visit', 'offer']],
    ['state=closed', ['done']],
    ['scope=mine&state=any', ['done', 'overdue', 'today', 'later']],
    [`caseType=${'$P'}-typeB`, ['visit']],
    ['status=S1', ['overdue', 'today', 'later', 'offer']],
    ['priority=urgent,high', ['overdue', 'visit']],
    ['overdue=true', ['overdue']],
    ['overdue=false', ['today', 'visit', 'later', 'offer']],
    ['dueBefore=$IN3D', ['overdue', 'today', 'visit']],
    ['dueAfter=$TOMORROW', ['visit', 'later']],
    ['followUpBefore=$IN3D', ['later']],
    ['q=globex', ['visit']],
    ['q=forklift', ['overdue']],
    ['q=forkl%20acm', ['overdue']],
    ['q=orklift', []],
    [`q=ACME%20${'$P'}`, ['overdue', 'today', 'later', 'offer']],
    ['q=100%25', ['offer']],
    ['q=_offer', ['offer']],
    ['q=e_q', []],
    ['q=%25%25', []],
    ["q=' OR 1=1 --", []],
    [`team=${'$P'}-sales`, ['overdue', 'today', 'visit', 'later', 'offer']],
    [`team=${'$P'}-support`, []],
  ])('filters with %s', async (query, expected) => {
    const resolved = query
      .replace(/\$P/g, p)
      .replace('$IN3D', iso(now + 3 * DAY) as string)
      .replace('$TOMORROW', iso(todayEnd.getTime()) as string);
    const { names } = await inbox(env.users.alice, resolved);
    expect(names).toEqual(expected);
  });

  it('never shows other teams or other agents tasks to an agent, even with scope=all', async () => {
    const { names } = await inbox(env.users.alice, 'scope=all&state=any');
    expect(names).not.toContain('support');
    expect(names).not.toContain('bobs');
    expect(names).toContain('done');
  });

  it("shows a supervisor their teams' work and an admin everything", async () => {
    const sup = await inbox(env.users.sam, `scope=all&caseType=${p}-typeA,${p}-typeB`);
    expect(sup.names.sort()).toEqual(['bobs', 'later', 'offer', 'overdue', 'support', 'today', 'visit']);
    const admin = await inbox(env.users.admin, `scope=all&caseType=${p}-typeA,${p}-typeB&state=any`);
    expect(admin.names).toHaveLength(8);
    const member = await inbox(env.users.sam, `scope=all&assignee=${env.users.bob.id}`);
    expect(member.names).toEqual(['bobs']);
  });

  it('sorts by priority and by creation, both ways', async () => {
    expect((await inbox(env.users.alice, 'sort=priority')).names).toEqual([
      'visit',
      'overdue',
      'today',
      'later',
      'offer',
    ]);
    expect((await inbox(env.users.alice, 'sort=priority&order=asc')).names).toEqual([
      'offer',
      'today',
      'later',
      'overdue',
      'visit',
    ]);
    expect((await inbox(env.users.alice, 'sort=created&order=asc')).names).toEqual([
      'overdue',
      'today',
      'visit',
      'offer',
      'later',
    ]);
    expect((await inbox(env.users.alice, 'sort=due&order=desc')).names).toEqual([
      'later',
      'visit',
      'today',
      'overdue',
      'offer',
    ]);
  });

  it('counts due-today in the caller time zone', async () => {
    const { body } = await inbox(env.users.alice, 'tz=Pacific/Kiritimati');
    const [start, end] = dayBounds('Pacific/Kiritimati', new Date());
    const due = TASKS(p, env.users).filter(
      (t) =>
        t.assignee === env.users.alice.id &&
        t.status === undefined &&
        t.due! >= start.getTime() &&
        t.due! < end.getTime(),
    );
    expect(body.counts.dueToday).toBe(due.length);
  });
});

describe('inbox pages', () => {
  it.each(['sort=due', 'sort=due&order=desc', 'sort=priority', 'sort=priority&order=asc', 'sort=created'])(
    'walks every page with the cursor (%s)',
    async (sort) => {
      const all = (await inbox(env.users.sam, `scope=all&${sort}&caseType=${p}-typeA,${p}-typeB`)).names;
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: { names: string[]; body: { nextCursor: string | null; counts?: unknown } } = await inbox(
          env.users.sam,
          `scope=all&${sort}&caseType=${p}-typeA,${p}-typeB&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        );
        if (cursor) expect(res.body.counts).toBeUndefined();
        seen.push(...res.names);
        cursor = res.body.nextCursor;
        pages += 1;
      } while (cursor && pages < 10);
      expect(seen).toEqual(all);
      expect(pages).toBe(Math.ceil(all.length / 2));
    },
  );

  it('refuses a cursor from other filters, a forged cursor and sizes out of bounds', async () => {
    const first = await inbox(env.users.alice, 'limit=1');
    const other = await env.http(
      env.users.alice,
      'GET',
      `/api/inbox?limit=1&sort=created&cursor=${first.body.nextCursor}`,
    );
    expect(other.status).toBe(400);
    expect(other.body.errors).toEqual([
      { pointer: '/query/cursor', message: 'belongs to other filters or sort' },
    ]);
    const forged = Buffer.from(JSON.stringify({ v: 1, k: ['not a date', 'x'], h: 'abc' })).toString(
      'base64url',
    );
    for (const cursor of ['zzz', forged, 'eyJ2IjoxfQ']) {
      const res = await env.http(env.users.alice, 'GET', `/api/inbox?cursor=${cursor}`);
      expect(res.status).toBe(400);
      expect(res.body.errors[0].pointer).toBe('/query/cursor');
    }
    for (const limit of ['0', '201', '999999999']) {
      const res = await env.http(env.users.alice, 'GET', `/api/inbox?limit=${limit}`);
      expect(res.status).toBe(400);
      expect(res.body.errors[0].pointer).toBe('/query/limit');
    }
  });

  it('answers 400 with a pointer for each unknown or malformed parameter', async () => {
    const res = await env.http(
      env.users.alice,
      'GET',
      '/api/inbox?foo=1&sort=size&dueBefore=yesterday&tz=Mars/Base',
    );
    expect(res.status).toBe(400);
    expect(res.type).toContain('application/problem+json');
    const pointers = (res.body.errors as { pointer: string }[]).map((e) => e.pointer);
    expect(pointers).toEqual(expect.arrayContaining(['/query/foo', '/query/sort', '/query/dueBefore']));
    const tz = await env.http(env.users.alice, 'GET', '/api/inbox?tz=Mars/Base');
    expect(tz.status).toBe(400);
    expect(tz.body.errors).toEqual([{ pointer: '/query/tz', message: 'is not an IANA time zone name' }]);
  });
});

/** Reads an SSE stream until `until` returns true for the collected events. */
function readStream(user: { token: string }): {
  events: { event: string; data: Record<string, unknown> }[];
  ready: Promise<void>;
  close: () => void;
} {
  const events: { event: string; data: Record<string, unknown> }[] = [];
  let resolveReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (resolveReady = resolve));
  const req = http.get(
    `${env.baseUrl}/api/inbox/stream`,
    { headers: { authorization: `Bearer ${user.token}` } },
    (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) {
            events.push({ event, data: JSON.parse(data) });
            if (event === 'ready') resolveReady();
          }
        }
      });
      res.on('error', () => undefined);
    },
  );
  req.on('error', () => undefined);
  return { events, ready, close: () => req.destroy() };
}

describe('live updates and calendar over real cases', () => {
  let caseType: string;
  beforeAll(async () => {
    caseType = await env.publish(scoped(shippedDefinition('opportunity'), env.prefix));
  });

  async function startCase() {
    const res = await env.http(env.users.alice, 'POST', '/api/cases', {
      caseType,
      entityId: `${env.prefix}-acme`,
      data: { subject: 'Live', amount: 1 },
    });
    expect(res.status).toBe(201);
    return res.body;
  }

  it('pushes a change to every stream whose inbox it touches, and only to those', async () => {
    const bob = readStream(env.users.bob);
    const carol = readStream(env.users.carol);
    try {
      await Promise.all([bob.ready, carol.ready]);
      const started = await startCase();
      const taskId = started.tasks[0].id;
      await eventually(
        async () => bob.events.some((e) => e.event === 'task' && e.data.taskId === taskId),
        10_000,
        'bob sees the new task',
      );
      const claimed = await env.http(env.users.alice, 'POST', `/api/tasks/${taskId}/claim`, {});
      expect(claimed.status).toBe(200);
      await eventually(
        async () =>
          bob.events.some(
            (e) => e.event === 'task' && e.data.taskId === taskId && e.data.assignee === env.users.alice.id,
          ),
        10_000,
        'bob sees the claim',
      );
      // Carol (support) sees an ad-hoc task for her team, and saw nothing of the sales task before it.
      const added = await env.http(env.users.sam, 'POST', `/api/cases/${started.id}/tasks`, {
        title: 'Check the support contract',
        action: 'task',
        team: `${env.prefix}-support`,
      });
      expect(added.status).toBe(201);
      await eventually(
        async () => carol.events.some((e) => e.event === 'task'),
        10_000,
        'carol sees her team task',
      );
      expect(carol.events.filter((e) => e.event === 'task').map((e) => e.data.taskId)).toEqual([
        added.body.id,
      ]);
    } finally {
      bob.close();
      carol.close();
    }
  });

  it('serves my dated open tasks at a secret iCal URL that rotates', async () => {
    const started = await startCase();
    const taskId = started.tasks[0].id;
    expect((await env.http(env.users.alice, 'POST', `/api/tasks/${taskId}/claim`, {})).status).toBe(200);
    const status = await env.http(env.users.alice, 'GET', '/api/users/me/calendar-url');
    expect(status.body.enabled).toBe(false);
    const created = await env.http(env.users.alice, 'POST', '/api/users/me/calendar-url');
    expect(created.status).toBe(201);
    const path = new URL(created.body.url).pathname;
    const feed = await env.http(null, 'GET', path);
    expect(feed.status).toBe(200);
    expect(feed.type).toContain('text/calendar');
    expect(feed.body).toContain('BEGIN:VCALENDAR');
    expect(feed.body).toContain(`UID:${taskId}@`);
    expect(feed.body).toContain(`SUMMARY:Call ACME ${env.prefix} to identify needs`);
    // Seeded tasks of case types without a stored definition still count built-in dated actions.
    expect(feed.body).toContain('SUMMARY:Call ACME about forklifts');
    expect((await env.http(env.users.alice, 'GET', '/api/users/me/calendar-url')).body.enabled).toBe(true);

    const rotated = await env.http(env.users.alice, 'POST', '/api/users/me/calendar-url');
    expect((await env.http(null, 'GET', path)).status).toBe(404);
    expect((await env.http(null, 'GET', new URL(rotated.body.url).pathname)).status).toBe(200);
    expect((await env.http(env.users.alice, 'DELETE', '/api/users/me/calendar-url')).status).toBe(204);
    const gone = await env.http(null, 'GET', new URL(rotated.body.url).pathname);
    expect(gone.status).toBe(404);
    expect(gone.type).toContain('application/problem+json');
    expect((await env.http(null, 'GET', '/calendar/short.ics')).status).toBe(404);
  });
});
