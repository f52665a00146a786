/**
 * SQL for the task inbox: one page of tasks and the badge counts. Shared by `routes/inbox.ts` and the
 * benchmark (which times the same SQL without HTTP).
 *
 * Visibility is the rule of `access.ts` (visibleTaskSql), written as a disjunction of arms that each
 * match one index (migration 010), so Postgres answers with a BitmapOr over small index ranges
 * rather than a scan of the table. Keep the two in step.
 */
import type { Priority } from '../engine/types';
import type { Caller } from './auth';
import type { TextFrequency } from './text-stats';

export type InboxScope = 'inbox' | 'mine' | 'claimable' | 'all';
export type InboxState = 'open' | 'closed' | 'any';
export type SortField = 'due' | 'priority' | 'created';
export type SortOrder = 'asc' | 'desc';

export interface InboxFilters {
  scope: InboxScope;
  state: InboxState;
  team?: string;
  assignee?: string;
  caseType?: string[];
  status?: string[];
  priority?: Priority[];
  /** ISO instants. */
  dueBefore?: string;
  dueAfter?: string;
  followUpBefore?: string;
  overdue?: boolean;
  q?: string;
}

export interface SortKey {
  expr: string;
  dir: 'ASC' | 'DESC';
  cast: 'timestamptz' | 'int' | 'text';
}

/** Sort keys per sort and order; the task id is always last, so the order is total (keyset paging). */
export const SORT_KEYS: Record<SortField, Record<SortOrder, SortKey[]>> = {
  due: {
    // Tasks without a due date come last in both directions.
    asc: [
      { expr: `COALESCE(t.due_at, 'infinity'::timestamptz)`, dir: 'ASC', cast: 'timestamptz' },
      { expr: 't.id', dir: 'ASC', cast: 'text' },
    ],
    desc: [
      { expr: `COALESCE(t.due_at, '-infinity'::timestamptz)`, dir: 'DESC', cast: 'timestamptz' },
      { expr: 't.id', dir: 'DESC', cast: 'text' },
    ],
  },
  priority: {
    // Within a priority, the most urgent due date first.
    desc: [
      { expr: 't.priority_rank', dir: 'DESC', cast: 'int' },
      { expr: `COALESCE(t.due_at, 'infinity'::timestamptz)`, dir: 'ASC', cast: 'timestamptz' },
      { expr: 't.id', dir: 'ASC', cast: 'text' },
    ],
    asc: [
      { expr: 't.priority_rank', dir: 'ASC', cast: 'int' },
      { expr: `COALESCE(t.due_at, 'infinity'::timestamptz)`, dir: 'ASC', cast: 'timestamptz' },
      { expr: 't.id', dir: 'ASC', cast: 'text' },
    ],
  },
  created: {
    desc: [
      { expr: 't.created_at', dir: 'DESC', cast: 'timestamptz' },
      { expr: 't.id', dir: 'DESC', cast: 'text' },
    ],
    asc: [
      { expr: 't.created_at', dir: 'ASC', cast: 'timestamptz' },
      { expr: 't.id', dir: 'ASC', cast: 'text' },
    ],
  },
};

/** Columns of an inbox row: no form data or comments, which the inbox does not show. */
export const INBOX_COLUMNS = `t.id, t.case_id, t.step, t.action, t.title, t.status, t.assignee, t.candidate_teams,
  t.candidate_roles, t.priority, t.due_at, t.follow_up_at, t.created_at, t.claimed_at, t.completed_at,
  t.completed_by, t.outcome, t.delegated_by, t.escalation_level, t.case_type, t.case_title, t.case_status,
  t.entity_name, t.version, t.on_hold_since, jsonb_array_length(t.comments) AS comment_count`;

/** Positional parameters for one statement. */
class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/**
 * `q` as a tsquery: every word (letters and digits) must start a word of the title or entity name.
 * Only word characters reach to_tsquery, so no input can inject tsquery syntax. Null when `q` has no word.
 */
export function prefixTsQuery(text: string): string | null {
  const words = queryWords(text);
  return words.length === 0 ? null : words.map((w) => `${w}:*`).join(' & ');
}

/** The words of `q` that the text search matches (letters and digits, lower case, at most 10). */
function queryWords(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).slice(0, 10);
}

/** The indexed text of a task (migrations 010 and 041). */
const TEXT_VECTOR = `to_tsvector('simple', t.title || ' ' || COALESCE(t.entity_name, ''))`;

/**
 * Share of open tasks above which an administrator's text search walks the open tasks in the page's order
 * and keeps the matches (about limit / share rows read, each checked at ~7 us) instead of fetching every
 * match through the text index and sorting them (share x 250,000 rows at a million tasks, ~1 us each).
 * Measured there: a prefix in 2.2 % of open tasks, index 5-7 ms and walk 19-25 ms; a word in 12.5 %, index
 * 90-100 ms and walk 3-6 ms.
 */
const WALK_ABOVE = 0.04;

/**
 * Words in at least this share of open tasks are not looked up in the text index when rarer words are:
 * a prefix common to nearly every task ("company" in "Company 4242") would make the index visit every open
 * task, while checking it on the rarer words' rows costs little.
 */
const INDEX_BELOW = 0.2;

/**
 * How to find an administrator's open-task text matches, from the words' frequencies:
 * - `index`: the tsquery looked up in the text index (the words under INDEX_BELOW, or else the rarest);
 *   `partial` when it leaves words out, which are then checked on its rows.
 * - `walk`: walk the open tasks in page order, checking the whole query on each, when no other filter is
 *   set (another filter, such as a team or a case type, can leave few rows to walk past, which only its own
 *   index finds quickly):
 *   - `sure` for one word whose commonest matching lexeme alone passes WALK_ABOVE: the walk fills the page
 *     after about limit / share rows;
 *   - `likely` for several words whose shares multiplied, as if independent, pass WALK_ABOVE. Words may
 *     never meet ("hooli acme"), so this walk stops after a bounded number of rows, and the index finds the
 *     page if the walk did not fill it.
 * Undefined for the plain text-index lookup (frequencies unknown, closed tasks).
 */
function adminTextPlan(
  filters: InboxFilters,
  frequency: TextFrequency | undefined,
): { index: string; partial: boolean; walk?: 'sure' | 'likely' } | undefined {
  const { q, state } = filters;
  if (q === undefined || frequency === undefined || state !== 'open') return undefined;
  const words: { word: string; atLeast: number; estimate: number }[] = [];
  for (const word of queryWords(q)) {
    const share = frequency(word);
    if (share === undefined) return undefined;
    words.push({ word, ...share });
  }
  if (words.length === 0) return undefined;
  const rarest = words.reduce((a, b) => (b.estimate < a.estimate ? b : a));
  const uncommon = words.filter((w) => w.estimate < INDEX_BELOW);
  const indexed = uncommon.length > 0 ? uncommon : [rarest];
  const onlyText = Object.keys(filters).every((k) => k === 'scope' || k === 'state' || k === 'q');
  const likely = words.reduce((product, w) => product * w.estimate, 1);
  const walk = !onlyText
    ? undefined
    : words.length === 1 && rarest.atLeast >= WALK_ABOVE
      ? 'sure'
      : words.length > 1 && likely >= WALK_ABOVE
        ? 'likely'
        : undefined;
  return {
    index: indexed.map((w) => `${w.word}:*`).join(' & '),
    partial: indexed.length < words.length,
    ...(walk ? { walk } : {}),
  };
}

/**
 * The arms of "visible to the caller within this scope", each answerable from one index.
 * Returns null when the scope has no restriction (an administrator's `all`).
 */
function scopeArms(caller: Caller, scope: InboxScope, state: InboxState, p: Params): string[] | null {
  if (scope === 'all' && caller.role === 'admin') return null;
  let me: string | undefined;
  const meParam = (): string => (me ??= p.add(caller.userId));
  const mine = (): string[] =>
    state === 'open'
      ? [`t.assignee = ${meParam()}`]
      : [`t.assignee = ${meParam()}`, `t.completed_by = ${meParam()}`];
  // Claimable means open and unassigned; the team and role arms of visibility (scope all) hold for any state.
  const candidateArms = (openOnly: boolean): string[] => {
    const open = openOnly && state !== 'open' ? `t.status = 'open' AND ` : '';
    return [
      ...(caller.teams.length > 0
        ? [`(${open}t.assignee IS NULL AND t.candidate_teams && ${p.add(caller.teams)}::text[])`]
        : []),
      `(${open}t.assignee IS NULL AND t.candidate_roles <> '{}' AND t.candidate_roles @> ARRAY[${p.add(caller.role)}]::text[])`,
    ];
  };
  const claimable = (): string[] => (state === 'closed' ? [] : candidateArms(true));
  switch (scope) {
    case 'mine':
      return mine();
    case 'claimable':
      return claimable();
    case 'inbox':
      return [...mine(), ...claimable()];
    case 'all': {
      const arms = [...mine(), ...candidateArms(false), `t.delegated_by = ${meParam()}`];
      if (caller.supervisedTeams.length > 0)
        arms.push(`t.candidate_teams && ${p.add(caller.supervisedTeams)}::text[]`);
      if (caller.supervisedUsers.length > 0)
        arms.push(`t.assignee = ANY(${p.add(caller.supervisedUsers)}::text[])`);
      return arms;
    }
    default: {
      const unknown: never = scope;
      throw new Error(`Unknown scope ${String(unknown)}`);
    }
  }
}

function stateSql(state: InboxState): string | null {
  if (state === 'open') return `t.status = 'open'`;
  if (state === 'closed') return `t.status <> 'open'`;
  return null;
}

function filterSql(f: InboxFilters, now: Date, p: Params): string[] {
  const where: string[] = [];
  if (f.team !== undefined) {
    const team = p.add(f.team);
    where.push(`(t.candidate_teams @> ARRAY[${team}]::text[]
      OR t.assignee = ANY(ARRAY(SELECT tm.user_id FROM team_members tm WHERE tm.team_id = ${team})))`);
  }
  if (f.assignee !== undefined) where.push(`t.assignee = ${p.add(f.assignee)}`);
  if (f.caseType) where.push(`t.case_type = ANY(${p.add(f.caseType)}::text[])`);
  if (f.status) where.push(`t.case_status = ANY(${p.add(f.status)}::text[])`);
  if (f.priority) where.push(`t.priority = ANY(${p.add(f.priority)}::text[])`);
  if (f.dueBefore !== undefined) where.push(`t.due_at < ${p.add(f.dueBefore)}::timestamptz`);
  if (f.dueAfter !== undefined) where.push(`t.due_at >= ${p.add(f.dueAfter)}::timestamptz`);
  if (f.followUpBefore !== undefined) where.push(`t.follow_up_at < ${p.add(f.followUpBefore)}::timestamptz`);
  if (f.overdue !== undefined) {
    const at = p.add(now.toISOString());
    where.push(
      f.overdue
        ? `(t.status = 'open' AND t.due_at < ${at}::timestamptz)`
        : `(t.status <> 'open' OR t.due_at IS NULL OR t.due_at >= ${at}::timestamptz)`,
    );
  }
  return where;
}

/**
 * The text condition of `q` (null without `q`), and the same test as a function call, which no index
 * answers (`ts_match_vq` is what `@@` calls).
 */
function textSql(q: string | undefined, p: Params): { sql: string; unindexed: string } | null {
  if (q === undefined) return null;
  const query = prefixTsQuery(q);
  if (query === null) return { sql: 'false', unindexed: 'false' };
  const tsquery = `to_tsquery('simple', ${p.add(query)})`;
  return { sql: `${TEXT_VECTOR} @@ ${tsquery}`, unindexed: `ts_match_vq(${TEXT_VECTOR}, ${tsquery})` };
}

/** Rows strictly after `after` (the sort-key values of the last row seen, id last) in the sort order. */
function keysetSql(keys: SortKey[], after: string[], p: Params): string {
  const values = keys.map((k, i) => `${p.add(after[i])}::${k.cast}`);
  const sameDir = keys.every((k) => k.dir === keys[0]?.dir);
  if (sameDir) {
    // A row comparison lets the ordered index start right after the cursor.
    const op = keys[0]?.dir === 'ASC' ? '>' : '<';
    return `(${keys.map((k) => k.expr).join(', ')}) ${op} (${values.join(', ')})`;
  }
  const arms = keys.map((k, i) => {
    const equal = keys.slice(0, i).map((prev, j) => `${prev.expr} = ${values[j]}`);
    return [...equal, `${k.expr} ${k.dir === 'ASC' ? '>' : '<'} ${values[i]}`].join(' AND ');
  });
  return `(${arms.map((a) => `(${a})`).join(' OR ')})`;
}

export interface InboxPageQuery {
  caller: Caller;
  filters: InboxFilters;
  sort: SortField;
  order: SortOrder;
  /** Rows to return; the statement fetches one more to know whether a next page exists. */
  limit: number;
  after?: string[];
  now: Date;
  /** Word frequencies among open tasks (TextStats), for administrators' text search. */
  textFrequency?: TextFrequency;
}

/** One page of the inbox. Each row also carries its sort-key values as text (`k0`, `k1`, ...) for the cursor. */
export function inboxPageSql(q: InboxPageQuery): { sql: string; params: unknown[] } {
  const p = new Params();
  const keys = SORT_KEYS[q.sort][q.order];
  const where: string[] = [];
  const state = stateSql(q.filters.state);
  if (state) where.push(state);
  const arms = scopeArms(q.caller, q.filters.scope, q.filters.state, p);
  if (arms) where.push(arms.length > 0 ? `(${arms.join('\n    OR ')})` : 'false');
  where.push(...filterSql(q.filters, q.now, p));
  if (q.after) where.push(keysetSql(keys, q.after, p));
  const keyColumns = keys.map((k, i) => `(${k.expr})::text AS k${i}`).join(', ');
  const orderBy = keys.map((k) => `${k.expr} ${k.dir}`).join(', ');
  const limit = p.add(q.limit + 1);
  const plain = (conditions: string[]): string => `SELECT ${INBOX_COLUMNS}, ${keyColumns}
  FROM tasks t
  WHERE ${conditions.length > 0 ? conditions.join('\n    AND ') : 'true'}
  ORDER BY ${orderBy}
  LIMIT ${limit}`;
  const text = textSql(q.filters.q, p);
  if (arms === null && text === null) return { sql: plain(where), params: p.values };
  if (arms !== null) {
    // A caller's visible set is small, but with ORDER BY ... LIMIT the planner may walk an ordered index of
    // all open tasks and filter row by row. The OFFSET 0 fence makes it fetch the visible rows through their
    // indexes (BitmapOr) and sort only those; the text condition then filters that small set.
    return {
      sql: `SELECT * FROM (
    SELECT ${INBOX_COLUMNS}, t.priority_rank, ${keyColumns}
    FROM tasks t
    WHERE ${where.join('\n      AND ')}
    OFFSET 0) t${text !== null ? `\n  WHERE ${text.sql}` : ''}
  ORDER BY ${orderBy}
  LIMIT ${limit}`,
      params: p.values,
    };
  }
  const page = { where, text: text as NonNullable<typeof text>, keys, limit, orderBy, keyColumns, plain };
  return { sql: adminTextSql(q, page, p), params: p.values };
}

/**
 * An administrator's text search over all tasks (no visibility restriction). The planner's estimates for
 * prefix queries are unreliable, so the statement fixes the plan (adminTextPlan): the text index behind an
 * OFFSET 0 fence, or a walk in page order (bounded, with the index behind it, unless the walk surely fills
 * the page). Through the index, only the page's ids are sorted out of the matches, and the page's columns
 * are read for those ids alone.
 */
function adminTextSql(
  q: InboxPageQuery,
  /** The page's conditions, text condition, sort keys, LIMIT parameter, ORDER BY, key columns. */
  page: {
    where: string[];
    text: { sql: string; unindexed: string };
    keys: SortKey[];
    limit: string;
    orderBy: string;
    keyColumns: string;
    /** The page straight from the ordered index of these conditions. */
    plain: (conditions: string[]) => string;
  },
  p: Params,
): string {
  const { where, keys, limit, orderBy, keyColumns } = page;
  const text = page.text.sql;
  const plan = adminTextPlan(q.filters, q.textFrequency);
  // With the text condition as a function call, the planner walks the ordered index of open tasks and
  // keeps the matches until the page is full.
  if (plan?.walk === 'sure') return page.plain([...where, page.text.unindexed]);
  const sortColumns = keys.map((k, i) => `${k.expr} AS s${i}`).join(', ');
  const sortedBy = keys.map((k, i) => `t.s${i} ${k.dir}`).join(', ');
  const rows = (ids: string, only: string) => `SELECT ${INBOX_COLUMNS}, t.priority_rank, ${keyColumns}
    FROM tasks t
    WHERE t.id IN (${ids})${only}`;
  // Inside the fence: the matches of the indexed words. Outside: the whole query, when the fence does not
  // hold it whole.
  const indexed = plan?.partial ? `${TEXT_VECTOR} @@ to_tsquery('simple', ${p.add(plan.index)})` : text;
  const byIndex = `SELECT t.id FROM (
      SELECT t.id, t.title, t.entity_name, ${sortColumns}
      FROM tasks t
      WHERE ${[...where, indexed].join('\n        AND ')}
      OFFSET 0) t${plan?.partial ? `\n    WHERE ${text}` : ''}
    ORDER BY ${sortedBy}
    LIMIT ${limit}`;
  if (!plan?.walk) return `${rows(byIndex, '')}\n  ORDER BY ${orderBy}`;
  // The walk reads at most twice the rows a page needs at the WALK_ABOVE share. The text condition sits
  // outside the walk's LIMIT, so no index can answer it: the planner walks the ordered index of open tasks.
  const bound = p.add(Math.ceil((2 * (q.limit + 1)) / WALK_ABOVE));
  return `WITH walked AS MATERIALIZED (
    SELECT t.id FROM (
      SELECT t.id, t.title, t.entity_name, ${sortColumns}
      FROM tasks t
      WHERE ${where.join('\n        AND ')}
      ORDER BY ${orderBy}
      LIMIT ${bound}) t
    WHERE ${text}
    ORDER BY ${sortedBy}
    LIMIT ${limit})
  SELECT * FROM (
    ${rows('SELECT id FROM walked', `\n      AND (SELECT count(*) FROM walked) = ${limit}`)}
    UNION ALL
    ${rows(byIndex, `\n      AND (SELECT count(*) FROM walked) < ${limit}`)}) t
  ORDER BY ${orderBy}`;
}

/**
 * Badge counts over the caller's open inbox (mine and claimable), whatever the page's filters:
 * assigned to me, claimable, overdue, due in [dayStart, dayEnd).
 */
export function inboxCountsSql(
  caller: Caller,
  now: Date,
  dayStart: Date,
  dayEnd: Date,
): { sql: string; params: unknown[] } {
  const p = new Params();
  const arms = scopeArms(caller, 'inbox', 'open', p) as string[];
  const me = p.add(caller.userId);
  const at = p.add(now.toISOString());
  const start = p.add(dayStart.toISOString());
  const end = p.add(dayEnd.toISOString());
  const sql = `SELECT count(*) FILTER (WHERE t.assignee = ${me}) AS mine,
    count(*) FILTER (WHERE t.assignee IS NULL) AS claimable,
    count(*) FILTER (WHERE t.due_at < ${at}::timestamptz) AS overdue,
    count(*) FILTER (WHERE t.due_at >= ${start}::timestamptz AND t.due_at < ${end}::timestamptz) AS due_today
  FROM tasks t
  WHERE t.status = 'open' AND (${arms.join('\n    OR ')})`;
  return { sql, params: p.values };
}
