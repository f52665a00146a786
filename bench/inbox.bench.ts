/**
 * Inbox latency at scale: seeds 1,000,000 tasks (250,000 cases) over 10,000 users and 500 teams with SQL,
 * then times GET /api/inbox through HTTP (auth included) and the very same SQL statements without HTTP,
 * for agents, supervisors and an administrator, over several filters. The API runs in its own process.
 * INBOX_VARIANTS=<regex> times only the variants whose name matches.
 */
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import { issueToken, callerForToken } from '../api/auth';
import { planInbox } from '../api/routes/inbox';
import { TextStats } from '../api/text-stats';
import type { Db } from '../db';
import { startTestEnv } from '../test/support/env';
import { stopProcess } from '../test/support/processes';
import { spawnApi } from './api-process';
import type { BenchResult } from './run';
import { ms, percentile } from './stats';

export const USERS = 10_000;
export const TEAMS = 500;
const CASES = 250_000;
export const TASKS_PER_CASE = 4;
const SAMPLE_AGENTS = 300;
const SAMPLE_SUPERVISORS = 60;

/**
 * The seed's SQL expressions over `generate_series` variables (i: task, k: case), shared with the peers
 * bench (bench/peers/flowable-seed.ts) so that Flowable's inbox holds the very same tasks.
 */
const h = (n: number) => `(abs(hashint4(i * 7 + ${n})::bigint) % 1000)`;
const team = `((k * 7919) % ${TEAMS} + 1)`;
export const seedSql = {
  company: `'Company ' || (k % 50000) || ' ' || (ARRAY['Acme','Globex','Initech','Umbrella','Hooli','Stark','Wayne','Wonka'])[k % 8 + 1]`,
  /** A stable pseudo-random number in [0, 1000) per task and purpose. */
  h,
  team,
  member: `'bu-' || ((${team} - 1) * 20 + 2 + ${h(3)} % 19)`,
  state: `CASE WHEN ${h(1)} < 250 THEN 'open' WHEN ${h(1)} < 950 THEN 'completed' ELSE 'cancelled' END`,
};

/**
 * Seeds users, teams, `cases` cases and their tasks (4 each); indexes are dropped during the load and rebuilt
 * from their definitions.
 */
export async function seed(db: Db, cases = CASES): Promise<Record<string, number>> {
  const timings: Record<string, number> = {};
  const time = async (name: string, sql: string) => {
    const started = performance.now();
    await db.query(sql);
    timings[name] = Math.round(performance.now() - started);
  };
  const indexes = await db.query<{ indexname: string; indexdef: string }>(
    `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'tasks' AND indexname <> 'tasks_pkey'`,
  );
  await db.query('ALTER TABLE tasks DISABLE TRIGGER USER');
  for (const index of indexes) await db.query(`DROP INDEX ${index.indexname}`);
  await time(
    'users',
    `INSERT INTO users (id, name, email, role)
     SELECT 'bu-' || i, 'User ' || i, 'user' || i || '@bench.example.com',
            CASE WHEN i % 20 = 1 THEN 'supervisor' ELSE 'agent' END
     FROM generate_series(1, ${USERS}) i`,
  );
  await time(
    'teams',
    `INSERT INTO teams (id, name, supervisor_id)
     SELECT 'bt-' || j, 'Team ' || j, 'bu-' || ((j - 1) * 20 + 1) FROM generate_series(1, ${TEAMS}) j;
     INSERT INTO team_members (team_id, user_id)
     SELECT 'bt-' || ((i - 1) / 20 + 1), 'bu-' || i FROM generate_series(1, ${USERS}) i WHERE i % 20 <> 1
     UNION ALL
     SELECT 'bt-' || (((i - 1) / 20 + 250) % ${TEAMS} + 1), 'bu-' || i FROM generate_series(1, ${USERS}) i WHERE i % 10 = 0`,
  );
  const { company, member } = seedSql;
  await time(
    'cases',
    `INSERT INTO cases (id, case_type, definition_version, title, status, status_category, entity_name, created_at, updated_at, version)
     SELECT 'bc-' || k, 'bench-type-' || (k % 5), 1, ${company} || ': deal ' || k, 'S' || (k % 5), 'open',
            ${company}, now() - (k % 365) * interval '1 day', now(), 1
     FROM generate_series(1, ${cases}) k`,
  );
  await time(
    'tasks',
    `INSERT INTO tasks (id, case_id, step, action, title, status, assignee, candidate_teams, priority, due_at, follow_up_at,
       created_at, completed_at, completed_by, outcome, case_type, case_title, case_status, entity_name, version)
     SELECT 'bk-' || i, 'bc-' || k, 'step' || (i % 4),
       (ARRAY['call','visit','email','send-documents','presentation'])[i % 5 + 1],
       (ARRAY['Call','Visit','Email','Send documents to','Present to'])[i % 5 + 1] || ' ' || ${company},
       state,
       CASE WHEN state = 'open' AND ${h(2)} < 600 THEN ${member} WHEN state = 'completed' THEN ${member} END,
       ARRAY['bt-' || ${team}],
       (ARRAY['low','normal','normal','normal','high','urgent'])[${h(4)} % 6 + 1],
       CASE WHEN ${h(5)} < 100 THEN NULL ELSE now() + ((${h(6)} % 40) - 10) * interval '1 day' + ${h(7)} * interval '86 seconds' END,
       CASE WHEN ${h(8)} < 200 THEN now() + (${h(9)} % 10) * interval '1 day' END,
       now() - (${h(10)} % 365) * interval '1 day',
       CASE WHEN state = 'completed' THEN now() - (${h(11)} % 300) * interval '1 day' END,
       CASE WHEN state = 'completed' THEN ${member} END,
       CASE WHEN state = 'completed' THEN 'done' END,
       'bench-type-' || (k % 5), ${company} || ': deal ' || k, 'S' || (k % 5), ${company}, 1
     FROM (SELECT i, (i - 1) / ${TASKS_PER_CASE} + 1 AS k,
             ${seedSql.state} AS state
           FROM generate_series(1, ${cases * TASKS_PER_CASE}) i) s`,
  );
  await db.query(`SET maintenance_work_mem = '512MB'`);
  const started = performance.now();
  for (const index of indexes) await db.query(index.indexdef);
  timings.indexes = Math.round(performance.now() - started);
  await db.query('ALTER TABLE tasks ENABLE TRIGGER USER');
  await time('vacuum analyze', 'VACUUM ANALYZE tasks');
  await db.query('ANALYZE cases; ANALYZE users; ANALYZE team_members; ANALYZE teams');
  // Write the load's dirty pages out now rather than in a checkpoint in the middle of the timings, and
  // load the tasks and their indexes into shared buffers, where a server that has been serving holds them
  // (the bulk load and the index builds read through small ring buffers and leave them mostly outside).
  await time('checkpoint', 'CHECKPOINT');
  await db.query('CREATE EXTENSION IF NOT EXISTS pg_prewarm');
  await time(
    'prewarm',
    `SELECT pg_prewarm(c.oid::regclass) FROM pg_class c
     WHERE c.oid = 'tasks'::regclass OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = 'tasks'::regclass)`,
  );
  return timings;
}

interface Variant {
  name: string;
  who: 'agent' | 'supervisor' | 'admin';
  query: Record<string, string>;
  /** Requests per variant. */
  n: number;
  /** Follow the first page's cursor and time the second page. */
  secondPage?: boolean;
}

const VARIANTS: Variant[] = [
  { name: 'agent inbox (default: mine + claimable, due, 50, counts)', who: 'agent', query: {}, n: 2000 },
  { name: 'agent inbox page 2 (cursor)', who: 'agent', query: {}, n: 1000, secondPage: true },
  {
    name: 'agent high+urgent, not overdue, by priority',
    who: 'agent',
    query: { priority: 'high,urgent', overdue: 'false', sort: 'priority' },
    n: 1000,
  },
  { name: 'agent text search', who: 'agent', query: { q: 'hooli' }, n: 1000 },
  {
    name: 'agent closed tasks, newest first',
    who: 'agent',
    query: { state: 'closed', sort: 'created' },
    n: 1000,
  },
  {
    name: 'agent claimable, due this week',
    who: 'agent',
    query: { scope: 'claimable', dueBefore: 'IN7D' },
    n: 1000,
  },
  { name: 'supervisor all team work', who: 'supervisor', query: { scope: 'all' }, n: 1000 },
  {
    name: 'supervisor overdue of the team by priority',
    who: 'supervisor',
    query: { scope: 'all', overdue: 'true', sort: 'priority' },
    n: 1000,
  },
  { name: 'admin all open tasks by due', who: 'admin', query: { scope: 'all' }, n: 1000 },
  {
    name: 'admin all open tasks by priority',
    who: 'admin',
    query: { scope: 'all', sort: 'priority' },
    n: 1000,
  },
  {
    name: 'admin text search (selective)',
    who: 'admin',
    query: { scope: 'all', q: 'Company 4242 ' },
    n: 1000,
  },
  { name: 'admin one team', who: 'admin', query: { scope: 'all', team: 'bt-77' }, n: 1000 },
  {
    name: 'admin text search (unselective: 1 in 8 tasks)',
    who: 'admin',
    query: { scope: 'all', q: 'hooli' },
    n: 1000,
  },
  {
    // "42" starts 1,111 of the 50,000 company numbers: about 2 % of the tasks, below the share at which the
    // search walks the tasks in due order rather than sorting the text index's matches.
    name: 'admin text search (prefix in 2 % of tasks)',
    who: 'admin',
    query: { scope: 'all', q: '42' },
    n: 1000,
  },
  {
    // A company's name with a word every task holds: the two likely meet often, so the search walks.
    name: 'admin text search (two words, 1 in 8 tasks)',
    who: 'admin',
    query: { scope: 'all', q: 'hooli company' },
    n: 1000,
  },
  {
    // Two words in 1 task of 8 each that never meet: the text index intersects their matches.
    name: 'admin text search (two words that never meet)',
    who: 'admin',
    query: { scope: 'all', q: 'hooli acme' },
    n: 300,
  },
  {
    name: 'admin closed tasks, newest first',
    who: 'admin',
    query: { scope: 'all', state: 'closed' },
    n: 1000,
  },
];

const pick = <T>(list: T[], i: number): T => list[(i * 7919) % list.length] as T;

/** Inbox latency through HTTP and as raw SQL at 1,000,000 tasks. */
export default async function inboxBench(): Promise<BenchResult> {
  const env = await startTestEnv({ worker: false });
  let api: ChildProcess | undefined;
  try {
    // The API runs in its own process, as `npm run api` runs it in a deployment; this process only sends
    // requests and times the same SQL straight against Postgres.
    const spawned = await spawnApi(env);
    api = spawned.child;
    const apiUrl = spawned.url;
    const seedStarted = performance.now();
    const timings = await seed(env.db);
    const seedMs = performance.now() - seedStarted;
    const [{ tasks, open }] = (await env.db.query<{ tasks: number; open: number }>(
      `SELECT count(*)::int AS tasks, count(*) FILTER (WHERE status = 'open')::int AS open FROM tasks WHERE id LIKE 'bk-%'`,
    )) as [{ tasks: number; open: number }];

    const tokens = { agent: [] as string[], supervisor: [] as string[], admin: [env.users.admin.token] };
    for (let i = 0; i < SAMPLE_AGENTS; i++) {
      const n = ((i * 7919) % USERS) + 1;
      const id = `bu-${n % 20 === 1 ? n + 1 : n}`;
      tokens.agent.push((await issueToken(env.db, id, 'bench')).token);
    }
    for (let i = 0; i < SAMPLE_SUPERVISORS; i++) {
      tokens.supervisor.push((await issueToken(env.db, `bu-${((i * 37) % TEAMS) * 20 + 1}`, 'bench')).token);
    }

    // Every sample user has used the API before (an agent keeps an inbox open all day).
    for (const token of [...tokens.agent, ...tokens.supervisor, ...tokens.admin]) {
      const res = await get(apiUrl, '/api/users/me', token);
      if (res.status !== 200) throw new Error(`sign-in of a sample user: ${res.status}`);
    }

    const figures: Record<string, number | string> = {
      tasks,
      'open tasks': open,
      users: USERS,
      teams: TEAMS,
      'seed s (insert + index build)': ms(seedMs / 1000),
    };
    const notes: string[] = [`seed phases (ms): ${JSON.stringify(timings)}`];
    const resolve = (q: Record<string, string>): Record<string, string> =>
      Object.fromEntries(
        Object.entries(q).map(([k, v]) => [
          k,
          v === 'IN7D' ? new Date(Date.now() + 7 * 86_400_000).toISOString() : v,
        ]),
      );

    // The API process reads the same statistics (its own TextStats) on its first text search.
    const textStats = new TextStats(env.db);
    await textStats.refresh();
    const only = process.env.INBOX_VARIANTS ? new RegExp(process.env.INBOX_VARIANTS, 'i') : undefined;
    for (const variant of VARIANTS.filter((v) => !only || only.test(v.name))) {
      const users = tokens[variant.who];
      const query = resolve(variant.query);
      const url = async (token: string): Promise<string> => {
        const params = new URLSearchParams(query);
        if (variant.secondPage) {
          const first = await get(apiUrl, `/api/inbox?${params}`, token);
          if (first.body.nextCursor) params.set('cursor', first.body.nextCursor);
        }
        return `/api/inbox?${params}`;
      };
      for (let i = 0; i < 30; i++) await get(apiUrl, await url(pick(users, i)), pick(users, i));
      const http: number[] = [];
      const requests: { token: string; path: string }[] = [];
      let items = 0;
      for (let i = 0; i < variant.n; i++) {
        const token = pick(users, i + 1000);
        const path = await url(token);
        const res = await get(apiUrl, path, token);
        http.push(res.ms);
        if (res.status !== 200) throw new Error(`${variant.name}: ${res.status} ${JSON.stringify(res.body)}`);
        items += res.body.items.length;
        requests.push({ token, path });
      }
      // The same statements, straight to Postgres (page and counts in sequence, as one number each).
      const pageSql: number[] = [];
      const countsSql: number[] = [];
      for (const { token, path } of requests) {
        const caller = await callerForToken(env.db, token);
        if (!caller) throw new Error('unknown bench token');
        const plan = planInbox(
          caller,
          Object.fromEntries(new URL(path, apiUrl).searchParams),
          200,
          new Date(),
          textStats.frequency,
        );
        let started = performance.now();
        await env.db.query(plan.page.sql, plan.page.params);
        pageSql.push(performance.now() - started);
        if (plan.counts) {
          started = performance.now();
          await env.db.query(plan.counts.sql, plan.counts.params);
          countsSql.push(performance.now() - started);
        }
      }
      figures[`${variant.name}: HTTP p50 / p99 ms`] =
        `${ms(percentile(http, 50))} / ${ms(percentile(http, 99))}`;
      figures[`${variant.name}: SQL page p50 / p99 ms`] =
        `${ms(percentile(pageSql, 50))} / ${ms(percentile(pageSql, 99))}`;
      if (countsSql.length > 0)
        figures[`${variant.name}: SQL counts p50 / p99 ms`] =
          `${ms(percentile(countsSql, 50))} / ${ms(percentile(countsSql, 99))}`;
      notes.push(
        `${variant.name}: ${variant.n} requests, ${Math.round(items / variant.n)} items per page on average`,
      );
    }

    // The plans of the default agent inbox, the supervisor's team view and admin text search, for the record.
    const plans: [string, string | undefined, Record<string, string>][] = [
      ['default agent inbox', tokens.agent[0], {}],
      ['supervisor all team work', tokens.supervisor[0], { scope: 'all' }],
      ['admin text search (selective)', tokens.admin[0], { scope: 'all', q: 'Company 4242 ' }],
      ['admin text search (1 in 8 tasks)', tokens.admin[0], { scope: 'all', q: 'hooli' }],
      ['admin text search (prefix in 2 % of tasks)', tokens.admin[0], { scope: 'all', q: '42' }],
      ['admin text search (two words, 1 in 8 tasks)', tokens.admin[0], { scope: 'all', q: 'hooli company' }],
    ];
    for (const [name, token, query] of plans) {
      const caller = token ? await callerForToken(env.db, token) : undefined;
      if (!caller) continue;
      const plan = planInbox(caller, query, 200, new Date(), textStats.frequency);
      const explain = await env.db.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${plan.page.sql}`,
        plan.page.params,
      );
      notes.push(
        `plan of the ${name}: ${explain
          .map((r) => r['QUERY PLAN'].trim())
          .filter((l) => /Scan|BitmapOr|Sort|Limit|One-Time|Buffers|Planning|Execution/.test(l))
          .join(' | ')}`,
      );
    }
    return { name: 'inbox at 1,000,000 tasks', figures, notes };
  } finally {
    if (api) await stopProcess(api);
    await env.stop();
  }
}

/**
 * The load generator's client: node:http over one kept-alive connection. `ms` runs from sending the request
 * to receiving the last byte of the body; the body is then parsed (and checked by the caller) outside it.
 * (Undici's fetch added about a millisecond of its own per request, and more at the tail.)
 */
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function get(
  baseUrl: string,
  path: string,
  token: string,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<{ status: number; body: any; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      baseUrl + path,
      { agent, headers: { authorization: `Bearer ${token}` } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const ms = performance.now() - started;
          try {
            resolve({
              status: res.statusCode ?? 0,
              body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
              ms,
            });
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}
