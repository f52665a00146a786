/**
 * Round-robin assignment goes round a team's active members in turn, durably and under concurrent picks;
 * a team's supervisor as assignee.
 */
import { pickAssignee } from '../activities/assignment';
import type { CaseTypeDefinition } from '../engine/types';
import { eventually, startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;
let team: string;
/** The active members, in user id order: the order the turns go in. */
let members: string[];

beforeAll(async () => {
  env = await startTestEnv();
  team = `${env.prefix}-rr`;
  members = ['m1', 'm2', 'm3'].map((m) => `${env.prefix}-${m}`);
  const inactive = `${env.prefix}-m0`;
  await env.db.transaction(async (tx) => {
    for (const id of [inactive, ...members]) {
      await tx.query(`INSERT INTO users (id, name, email, role) VALUES ($1, $1, $2, 'agent')`, [
        id,
        `${id}@example.com`,
      ]);
    }
    await tx.query(`UPDATE users SET active = false WHERE id = $1`, [inactive]);
    await tx.query(`INSERT INTO teams (id, name) VALUES ($1, 'Round robin')`, [team]);
    for (const id of [inactive, ...members]) {
      await tx.query(`INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)`, [team, id]);
    }
  });
});

afterAll(async () => {
  await env?.stop();
});

/** How many picks each member got. */
function tally(picks: (string | null)[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of picks) out[String(p)] = (out[String(p)] ?? 0) + 1;
  return out;
}

it('seven picks go m1, m2, m3, m1, m2, m3, m1 (the inactive member never gets one)', async () => {
  const picks: (string | null)[] = [];
  for (let i = 0; i < 7; i += 1) picks.push(await pickAssignee(env.db, team, 'round-robin', `seq-${i}`));
  const [m1, m2, m3] = members;
  expect(picks).toEqual([m1, m2, m3, m1, m2, m3, m1]);
});

it('four eyes: an excluded member is never picked, and the turns go on among the others', async () => {
  const [m1, m2, m3] = members;
  const picks: (string | null)[] = [];
  for (let i = 0; i < 4; i += 1)
    picks.push(await pickAssignee(env.db, team, 'round-robin', `excl-${i}`, [m2 as string]));
  expect(picks).not.toContain(m2);
  expect(new Set(picks)).toEqual(new Set([m1, m3]));
  expect(await pickAssignee(env.db, team, 'least-busy', undefined, [m1 as string, m2 as string])).toBe(m3);
  expect(await pickAssignee(env.db, team, 'round-robin', 'excl-all', [...members])).toBeNull();
});

it('30 picks at once give each of the 3 members exactly 10', async () => {
  const picks = await Promise.all(
    Array.from({ length: 30 }, (_, i) => pickAssignee(env.db, team, 'round-robin', `burst-${i}`)),
  );
  expect(tally(picks)).toEqual(Object.fromEntries(members.map((m) => [m, 10])));
});

it('a retried pick (same key) answers the same member and does not use up a turn', async () => {
  const first = await pickAssignee(env.db, team, 'round-robin', 'retried');
  const again = await pickAssignee(env.db, team, 'round-robin', 'retried');
  const next = await pickAssignee(env.db, team, 'round-robin', 'after-retry');
  expect(again).toBe(first);
  expect(members.indexOf(next as string)).toBe((members.indexOf(first as string) + 1) % members.length);
});

it('cases assigned by the engine go round the team in the order they were created', async () => {
  const def: CaseTypeDefinition = {
    dslVersion: '1',
    id: `${env.prefix}-rr-case`,
    version: '1',
    name: 'Round robin',
    statuses: [
      { code: 'OPEN', name: 'Open', category: 'open' },
      { code: 'DONE', name: 'Done', category: 'closed' },
    ],
    initialStatus: 'OPEN',
    start: 'call',
    steps: {
      call: {
        type: 'human',
        action: 'call',
        title: 'Call',
        assign: { team, strategy: 'round-robin' },
        outcomes: { done: { status: 'DONE', end: true } },
      },
    },
  };
  const caseType = await env.publish(def);
  const [{ last }] = (await env.db.query<{ last: string }>(
    'SELECT last_user_id AS last FROM round_robin_cursors WHERE team_id = $1',
    [team],
  )) as [{ last: string }];
  const assignees: string[] = [];
  for (let i = 0; i < 4; i += 1) {
    const res = await env.http(env.users.admin, 'POST', '/api/cases', { caseType, data: {} });
    expect(res.status).toBe(201);
    assignees.push(
      await eventually(
        async () => {
          const [row] = await env.db.query<{ assignee: string | null }>(
            'SELECT assignee FROM tasks WHERE case_id = $1',
            [res.body.id],
          );
          return row?.assignee;
        },
        20_000,
        `case ${i + 1} assigned`,
      ),
    );
  }
  const start = members.indexOf(last) + 1;
  expect(assignees).toEqual([0, 1, 2, 3].map((i) => members[(start + i) % members.length]));
});

it("a step assigned to a team's supervisor goes to that supervisor; a team without one leaves it to supervisors", async () => {
  const boss = env.users.sam.id;
  const orphans = `${env.prefix}-orphans`;
  await env.db.query('UPDATE teams SET supervisor_id = $2 WHERE id = $1', [team, boss]);
  await env.db.query(`INSERT INTO teams (id, name) VALUES ($1, 'No supervisor')`, [orphans]);
  const def = (id: string, of: string): CaseTypeDefinition => ({
    dslVersion: '1',
    id,
    version: '1',
    name: 'Supervisor review',
    statuses: [
      { code: 'OPEN', name: 'Open', category: 'open' },
      { code: 'DONE', name: 'Done', category: 'closed' },
    ],
    initialStatus: 'OPEN',
    start: 'review',
    steps: {
      review: {
        type: 'human',
        action: 'task',
        title: 'Review',
        assign: { supervisorOf: of },
        outcomes: { done: { status: 'DONE', end: true } },
      },
    },
  });
  const taskOf = async (caseType: string, check: (row: Record<string, unknown>) => boolean) => {
    const res = await env.http(env.users.admin, 'POST', '/api/cases', { caseType, data: {} });
    expect(res.status).toBe(201);
    return eventually(
      async () => {
        const [row] = await env.db.query<Record<string, unknown>>(
          'SELECT id, assignee, candidate_roles FROM tasks WHERE case_id = $1',
          [res.body.id],
        );
        return row && check(row) ? row : undefined;
      },
      20_000,
      `task of ${caseType}`,
    );
  };
  const reviewed = await taskOf(
    await env.publish(def(`${env.prefix}-sup`, team)),
    (r) => r.assignee !== null,
  );
  expect(reviewed.assignee).toBe(boss);
  const listed = await eventually(
    async () => {
      const res = await env.http(env.users.sam, 'GET', '/api/inbox');
      return (res.body.items as { id: string; assignee: string | null }[]).find((t) => t.id === reviewed.id);
    },
    20_000,
    "the task in the supervisor's inbox",
  );
  expect(listed.assignee).toBe(boss);

  const left = await taskOf(await env.publish(def(`${env.prefix}-nosup`, orphans)), () => true);
  expect([left.assignee, left.candidate_roles]).toEqual([null, ['supervisor']]);
});

it('four eyes with round-robin: the engine never picks whoever did the step the task is checked apart from', async () => {
  const sales = `${env.prefix}-sales`;
  const def = {
    dslVersion: '1',
    id: `${env.prefix}-rr-four-eyes`,
    version: '1',
    name: 'Four eyes, round robin',
    statuses: [
      { code: 'OPEN', name: 'Open', category: 'open' },
      { code: 'DONE', name: 'Done', category: 'closed' },
    ],
    initialStatus: 'OPEN',
    start: 'prepare',
    steps: {
      prepare: {
        type: 'human',
        action: 'prepare',
        title: 'Prepare',
        assign: { team: sales },
        outcomes: { done: { next: 'approve' } },
      },
      approve: {
        type: 'human',
        action: 'approve',
        title: 'Approve',
        assign: { team: sales, strategy: 'round-robin' },
        separateFrom: ['prepare'],
        outcomes: { ok: { status: 'DONE', end: true } },
      },
    },
  } as unknown as CaseTypeDefinition;
  const caseType = await env.publish(def);
  const alice = env.users.alice;
  const assignees: (string | null)[] = [];
  // As many cases as the team has members: a rotation that ignored four eyes would reach alice in one of them.
  const [{ n }] = (await env.db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM team_members WHERE team_id = $1',
    [sales],
  )) as [{ n: number }];
  for (let i = 0; i < n + 1; i += 1) {
    const res = await env.http(alice, 'POST', '/api/cases', { caseType, data: {} });
    expect(res.status).toBe(201);
    const prepare = res.body.tasks[0].id as string;
    const done = await env.http(alice, 'POST', `/api/tasks/${prepare}/complete`, { outcome: 'done' });
    expect(done.status).toBe(200);
    assignees.push(
      await eventually(
        async () => {
          const [row] = await env.db.query<{ assignee: string | null }>(
            "SELECT assignee FROM tasks WHERE case_id = $1 AND step = 'approve'",
            [res.body.id],
          );
          return row?.assignee;
        },
        20_000,
        `approval ${i + 1} assigned`,
      ),
    );
  }
  expect(assignees).not.toContain(alice.id);
});
