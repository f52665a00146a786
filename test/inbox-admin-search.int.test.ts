/**
 * An administrator's text search over all open tasks picks how to find the matches from the words'
 * frequencies (api/text-stats.ts, api/inbox-query.ts): through the text index for every word, or for its
 * uncommon words only, or by walking the open tasks in page order first (for a bounded number of rows).
 * Whichever it picks, the pages are the same.
 */
import { callerForToken, type Caller } from '../api/auth';
import { planInbox } from '../api/routes/inbox';
import { TextStats, type TextFrequency } from '../api/text-stats';
import { startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;
let admin: Caller;
let common: string;
let rare: string;

/** Due dates of the tasks here, before any other test's: a walk in due order meets them first. */
const BASE_DUE = '2001-01-01T00:00:00Z';

beforeAll(async () => {
  env = await startTestEnv({ worker: false });
  admin = (await callerForToken(env.db, env.users.admin.token)) as Caller;
  common = `${env.prefix}common`;
  rare = `${env.prefix}rare`;
  // 300 open tasks with the common word (every 100th also with the rare one), and 60 completed ones.
  await env.db.query(
    `INSERT INTO cases (id, case_type, definition_version, title, status, status_category, created_at, updated_at, version)
     SELECT $1 || '-c' || i, $1 || '-type', 1, 'Case ' || i, 'OPEN', 'open', now(), now(), 1
     FROM generate_series(1, 360) i`,
    [env.prefix],
  );
  await env.db.query(
    `INSERT INTO tasks (id, case_id, action, title, status, priority, due_at, created_at, case_type, case_title,
       case_status, entity_name, version)
     SELECT $1 || '-t' || lpad(i::text, 3, '0'), $1 || '-c' || i, 'call',
            'Call ' || $2 || CASE WHEN i % 100 = 0 THEN ' ' || $3 ELSE '' END,
            CASE WHEN i > 300 THEN 'completed' ELSE 'open' END,
            (ARRAY['low', 'normal', 'high', 'urgent'])[1 + i % 4], $4::timestamptz + (i % 37) * interval '1 hour',
            now(), $1 || '-type', 'Case ' || i, 'OPEN', 'Acme ' || $1, 1
     FROM generate_series(1, 360) i`,
    [env.prefix, common, rare, BASE_DUE],
  );
});

afterAll(async () => {
  await env?.stop();
});

/** The ids of a page and the cursor of the next, with the given word frequencies. */
async function page(query: Record<string, string>, frequency?: TextFrequency) {
  const plan = planInbox(admin, { scope: 'all', limit: '40', ...query }, 200, new Date(), frequency);
  const rows = await env.db.query(plan.page.sql, plan.page.params);
  return {
    sql: plan.page.sql,
    params: plan.page.params,
    ids: rows.slice(0, plan.limit).map((r) => r.id as string),
  };
}

/**
 * Whether a walk's page was completed by its fallback (EXPLAIN ANALYZE: the branch under the one-time filter
 * "the walk found less than a page" ran).
 */
async function fellBack(query: Record<string, string>, frequency: TextFrequency): Promise<boolean> {
  const plan = planInbox(admin, { scope: 'all', ...query }, 200, new Date(), frequency);
  const [row] = await env.db.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${plan.page.sql}`, plan.page.params);
  type PlanNode = Record<string, unknown> & { Plans?: PlanNode[] };
  const ran: boolean[] = [];
  const visit = (node: PlanNode): void => {
    if (String(node['One-Time Filter'] ?? '').includes(' < ')) {
      const branch = node.Plans?.find((child) => child['Parent Relationship'] === 'Outer');
      ran.push(((branch?.['Actual Loops'] as number | undefined) ?? 0) > 0);
    }
    for (const child of node.Plans ?? []) visit(child);
  };
  visit((row?.['QUERY PLAN'] as { Plan: PlanNode }[])[0]?.Plan ?? {});
  expect(ran).toHaveLength(1);
  return ran[0] as boolean;
}

const indexOnly: TextFrequency | undefined = undefined;
const everyWordCommon: TextFrequency = () => ({ atLeast: 1, estimate: 1 });
const rareWordRare: TextFrequency = (word) =>
  word.startsWith(rare) ? { atLeast: 0.001, estimate: 0.001 } : { atLeast: 1, estimate: 1 };

describe("an administrator's text search", () => {
  it.each<[string, () => Record<string, string>]>([
    ['one common word, by due date', () => ({ q: common })],
    ['one common word, by priority', () => ({ q: common, sort: 'priority' })],
    ['one common word, newest first', () => ({ q: common, sort: 'created' })],
    ['a common and a rare word', () => ({ q: `${common} ${rare}` })],
    ['a common word within a case type', () => ({ q: common, caseType: `${env.prefix}-type` })],
    ['prefixes of a word and of the entity name', () => ({ q: `${common.slice(0, -2)} acm` })],
  ])('gives the same page whichever way it finds the matches: %s', async (_name, query) => {
    const expected = await page(query(), indexOnly);
    expect(expected.ids.length).toBeGreaterThan(0);
    for (const frequency of [everyWordCommon, rareWordRare]) {
      expect((await page(query(), frequency)).ids).toEqual(expected.ids);
    }
  });

  it('walks the open tasks when the matches are likely common, and uses the index otherwise', async () => {
    // One common word: the walk surely fills the page.
    expect((await page({ q: common }, everyWordCommon)).sql).toContain('ts_match_vq');
    // Two common words are likely to meet often: walk a bounded number of rows, then use the index.
    expect((await page({ q: `${common} acme` }, everyWordCommon)).sql).toContain('walked');
    const driven = await page({ q: `${common} ${rare}` }, rareWordRare);
    expect(driven.sql).not.toContain('walked');
    // The index is asked for the rare word only; the common one is checked on its rows.
    expect(driven.params).toContain(`${rare}:*`);
    // Due i % 37 hours after the first: task 300 first, then 200, then 100.
    expect(driven.ids).toEqual([`${env.prefix}-t300`, `${env.prefix}-t200`, `${env.prefix}-t100`]);
    // Another filter has its own index to start from: no walk over all open tasks.
    const typed = await page({ q: common, caseType: `${env.prefix}-type` }, everyWordCommon);
    expect(typed.sql).not.toContain('walked');
    // Closed tasks are not what the statistics describe: the plain lookup answers.
    expect((await page({ q: common, state: 'closed' }, everyWordCommon)).sql).not.toContain('walked');
  });

  it('stops a walk that does not fill the page and finds the page through the index', async () => {
    // A page of 2 walks at most 150 rows (twice the rows 3 matches take at a 4 % share). The common word
    // and the entity's name fill it from the first rows (the tasks here are due before any other test's);
    // the rare word is in 3 of these 300 tasks, and the third of them comes after the 150th.
    const query = (q: string) => ({ q, limit: '2' });
    expect(await fellBack(query(`${common} acme`), everyWordCommon)).toBe(false);
    expect(await fellBack(query(`${common} ${rare}`), everyWordCommon)).toBe(true);
    const expected = await page(query(`${common} ${rare}`), indexOnly);
    expect(expected.ids).toEqual([`${env.prefix}-t300`, `${env.prefix}-t200`]);
    expect((await page(query(`${common} ${rare}`), everyWordCommon)).ids).toEqual(expected.ids);
  });

  it("reads the words' frequencies from Postgres's statistics of open tasks", async () => {
    await env.db.query('ANALYZE tasks');
    const stats = new TextStats(env.db);
    expect(stats.frequency(common)).toBeUndefined();
    await stats.refresh();
    const share = stats.frequency(common);
    expect(share?.atLeast).toBeGreaterThan(0);
    expect(share?.estimate).toBeGreaterThanOrEqual(share?.atLeast as number);
    // A shorter prefix matches at least the same words.
    expect(stats.frequency(common.slice(0, -3))?.estimate).toBeGreaterThanOrEqual(share?.estimate as number);
    expect(stats.frequency(`${env.prefix}nosuchword`)).toEqual({ atLeast: 0, estimate: 0 });
  });

  it('answers through HTTP with the statistics loaded', async () => {
    await env.db.query('ANALYZE tasks');
    const first = await env.http(env.users.admin, 'GET', `/api/inbox?scope=all&q=${common}&limit=5`);
    expect(first.status).toBe(200);
    // The API loads the statistics in the background on its first text search; the next page uses them.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const again = await env.http(env.users.admin, 'GET', `/api/inbox?scope=all&q=${common}&limit=5`);
    expect(again.body.items.map((t: { id: string }) => t.id)).toEqual(
      first.body.items.map((t: { id: string }) => t.id),
    );
    const next = await env.http(
      env.users.admin,
      'GET',
      `/api/inbox?scope=all&q=${common}&limit=5&cursor=${encodeURIComponent(again.body.nextCursor)}`,
    );
    expect(next.status).toBe(200);
    expect(next.body.items).toHaveLength(5);
    expect(next.body.items[0].id).not.toBe(again.body.items[4].id);
  });
});
