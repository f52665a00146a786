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
  t.entity_name, t.version, jsonb_array_length(t.comments) AS comment_count`;

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
 * and keeps the matches (about limit / share rows read) instead of fetching every match through the text
 * index and sorting them (share x 250,000 rows at a million tasks). Near this share both take ~10 ms.
 */
const WALK_ABOVE = 0.02;

/**
 * How to find an administrator's open-task text matches, from the words' frequencies:
 * - `walk` for one word that surely starts words of more than WALK_ABOVE of the open tasks, when no other
 *   filter is set. Only for one word: two common words may never meet, and the walk would read every open
 *   task to find that out.
 * - `drive` for several words: look up the rarest in the text index and check the others on those rows.
 *   A prefix common to nearly every task ("company" in "Company 4242") would otherwise make the index
 *   visit every open task.
 * - undefined: the plain text-index lookup (frequencies unknown, closed tasks, one word that is not common).
 */
function adminTextPlan(
  filters: InboxFilters,
  frequency: TextFrequency | undefined,
): { walk: true } | { drive: string } | undefined {
  const { q, state } = filters;
  if (q === undefined || frequency === undefined || state !== 'open') return undefined;
  const words = queryWords(q);
  let rarest: { word: string; atLeast: number; estimate: number } | undefined;
  for (const word of words) {
    const share = frequency(word);
    if (share === undefined) return undefined;
    if (!rarest || share.estimate < rarest.estimate) rarest = { word, ...share };
  }
  if (!rarest) return undefined;
  if (words.length > 1) return { drive: `${rarest.word}:*` };
  // Walking is for the open tasks as a whole: another filter (a team, a case type) can leave few rows to
  // walk past, which only its own index finds quickly.
  const onlyText = Object.keys(filters).every((k) => k === 'scope' || k === 'state' || k === 'q');
  return rarest.atLeast >= WALK_ABOVE && onlyText ? { walk: true } : undefined;
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

/** The text condition of `q`, or null without `q`. */
function textSql(q: string | undefined, p: Params): string | null {
  if (q === undefined) return null;
  const query = prefixTsQuery(q);
  return query === null ? 'false' : `${TEXT_VECTOR} @@ to_tsquery('simple', ${p.add(query)})`;
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
  const adminText = arms === null ? adminTextPlan(q.filters, q.textFrequency) : undefined;
  if (adminText && 'walk' in adminText) {
    // ts_match_vq is @@ as a function call, which no index answers: the planner walks the ordered index of
    // open tasks and keeps the matches until the page is full.
    const query = p.add(prefixTsQuery(q.filters.q as string));
    return {
      sql: plain([...where, `ts_match_vq(${TEXT_VECTOR}, to_tsquery('simple', ${query}))`]),
      params: p.values,
    };
  }
  const text = textSql(q.filters.q, p);
  // A caller's visible set is small, but with ORDER BY ... LIMIT the planner may walk an ordered index of
  // all open tasks and filter row by row. The OFFSET 0 fence makes it fetch the visible rows through their
  // indexes (BitmapOr) and sort only those; the text condition then filters that small set. Without a
  // visibility restriction (administrators), text search goes through the text index (for the rarest word
  // only, when its frequency is known: adminTextPlan), since the planner's estimates for prefix queries
  // are unreliable.
  let sql: string;
  if (arms !== null || text !== null) {
    // Inside the fence: the visible set, or every text match, or the matches of the rarest word. Outside:
    // the text condition whenever the fence does not hold it whole.
    const inner = adminText
      ? [...where, `${TEXT_VECTOR} @@ to_tsquery('simple', ${p.add(adminText.drive)})`]
      : arms !== null
        ? where
        : [...where, text as string];
    const outer = text !== null && (arms !== null || adminText) ? `\n  WHERE ${text}` : '';
    sql = `SELECT * FROM (
    SELECT ${INBOX_COLUMNS}, t.priority_rank, ${keyColumns}
    FROM tasks t
    WHERE ${inner.length > 0 ? inner.join('\n      AND ') : 'true'}
    OFFSET 0) t${outer}
  ORDER BY ${orderBy}
  LIMIT ${limit}`;
  } else {
    sql = plain(where);
  }
  return { sql, params: p.values };
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
