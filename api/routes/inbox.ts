import { createHash } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { Router } from 'express';
import { inboxItemView } from '../views';
import type { Priority } from '../../engine/types';
import { callerOf, type Caller } from '../auth';
import type { ApiContext } from '../context';
import {
  SORT_KEYS,
  inboxCountsSql,
  inboxPageSql,
  type SortKey,
  type InboxFilters,
  type InboxScope,
  type InboxState,
  type SortField,
  type SortOrder,
} from '../inbox-query';
import { idString, inboxItemSchema, problemResponses, type OperationSpec } from '../operation';
import { decodeCursor as decodeCursorValue, encodeCursor as encodeCursorValue } from '../../lib/cursor';
import { ProblemError } from '../problem';
import { check } from '../validation';
import type { TextFrequency } from '../text-stats';

const list = (item: string, description: string) =>
  Type.Optional(Type.String({ maxLength: 2000, pattern: `^${item}(,${item})*$`, description }));
const instant = Type.Optional(
  Type.String({
    maxLength: 40,
    anyOf: [{ format: 'date' }, { format: 'date-time' }],
    description: 'A date (YYYY-MM-DD, midnight UTC) or an RFC 3339 date-time',
  }),
);
/** A query value out of a fixed list, typed as that list's union. */
const oneOf = <T extends string>(values: readonly T[], description: string) =>
  Type.Optional(Type.Unsafe<T>({ enum: [...values], description }));
const flagValue = (description: string) => oneOf(['true', 'false'], description);

/** Query of GET /api/inbox. Every value is a string (the query parser does not nest). */
export const inboxQuerySchema = Type.Object(
  {
    scope: oneOf<InboxScope>(
      ['inbox', 'mine', 'claimable', 'all'],
      'inbox (default): assigned to me and claimable by my teams; mine; claimable; all: every task I may see (a supervisor: the teams I supervise; an admin: everything)',
    ),
    state: oneOf<InboxState>(
      ['open', 'closed', 'any'],
      'Task state; default open. closed = completed or cancelled',
    ),
    team: Type.Optional(
      Type.String({
        ...idString,
        description: "A team's tasks: its candidate tasks and those assigned to its members",
      }),
    ),
    assignee: Type.Optional(Type.String({ ...idString, description: 'Tasks assigned to this user' })),
    caseType: list('[A-Za-z0-9._-]{1,100}', 'Comma-separated case types'),
    status: list('[A-Za-z0-9._-]{1,100}', 'Comma-separated case status codes'),
    priority: list('(low|normal|high|urgent)', 'Comma-separated priorities'),
    dueBefore: instant,
    dueAfter: instant,
    followUpBefore: instant,
    overdue: flagValue('Open and past its due date (or not)'),
    q: Type.Optional(
      Type.String({
        minLength: 2,
        maxLength: 200,
        description:
          'Words that start words of the task title or entity name (all of them; case-insensitive)',
      }),
    ),
    sort: oneOf<SortField>(['due', 'priority', 'created'], 'Default due (created for state=closed)'),
    order: oneOf<SortOrder>(
      ['asc', 'desc'],
      'Default asc for due, desc for priority and created; tasks without due date always last',
    ),
    limit: Type.Optional(
      Type.String({
        pattern: '^[0-9]{1,9}$',
        description: 'Page size, 1 to the configured maximum; default 50',
      }),
    ),
    cursor: Type.Optional(
      Type.String({
        maxLength: 2000,
        pattern: '^[A-Za-z0-9_-]+$',
        description: 'nextCursor of the previous page',
      }),
    ),
    counts: flagValue('Include badge counts; default true on the first page'),
    tz: Type.Optional(
      Type.String({ maxLength: 64, description: 'IANA time zone for dueToday; default UTC' }),
    ),
  },
  { additionalProperties: false },
);

const countsSchema = {
  type: 'object',
  description: "Badge counts over the caller's open inbox, whatever the filters",
  properties: {
    mine: { type: 'integer' },
    claimable: { type: 'integer' },
    overdue: { type: 'integer' },
    dueToday: { type: 'integer' },
  },
  required: ['mine', 'claimable', 'overdue', 'dueToday'],
};

export const inboxPageSchema = {
  type: 'object',
  properties: {
    items: { type: 'array', items: inboxItemSchema },
    nextCursor: { type: ['string', 'null'] },
    counts: countsSchema,
  },
  required: ['items', 'nextCursor'],
};

export const inboxOperations: OperationSpec[] = [
  {
    method: 'get',
    path: '/api/inbox',
    operationId: 'getInbox',
    tag: 'Inbox',
    summary: 'The task inbox: filters, sorting, cursor pages and badge counts',
    description:
      'Unknown query parameters answer 400 with the pointer /query/<name>. Pages are keyset-paginated: pass nextCursor back as cursor with the same filters.',
    query: inboxQuerySchema,
    responses: { '200': { description: 'One page', schema: inboxPageSchema }, ...problemResponses(400, 401) },
  },
];

const cursorSchema = Type.Object(
  {
    v: Type.Unsafe<1>({ const: 1 }),
    /** Sort-key values of the last row, as Postgres text. */
    k: Type.Array(Type.String({ maxLength: 500 }), { minItems: 2, maxItems: 3 }),
    /** Hash of the filters and sort the cursor belongs to. */
    h: Type.String({ maxLength: 20 }),
  },
  { additionalProperties: false },
);
type Cursor = Static<typeof cursorSchema>;

/** What Postgres prints for each kind of sort key; anything else in a cursor was not issued here. */
const KEY_TEXT: Record<SortKey['cast'], RegExp> = {
  timestamptz: /^(-?infinity|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?[+-]\d\d(:\d\d){0,2})$/,
  int: /^-?\d{1,6}$/,
  text: /^.{1,500}$/s,
};

const badCursor = (message: string) =>
  ProblemError.badRequest('The cursor is not valid for this query; start again from the first page', [
    { pointer: '/query/cursor', message },
  ]);

function decodeCursor(text: string, hash: string, keys: SortKey[]): string[] {
  const keyCount = keys.length;
  const parsed = decodeCursorValue(text);
  if (parsed === undefined) throw badCursor('is not a cursor this API issued');
  const cursor = (() => {
    try {
      return check(cursorSchema, parsed, '/query/cursor');
    } catch {
      throw badCursor('is not a cursor this API issued');
    }
  })();
  if (cursor.h !== hash || cursor.k.length !== keyCount) throw badCursor('belongs to other filters or sort');
  if (!cursor.k.every((k, i) => KEY_TEXT[keys[i]?.cast ?? 'text'].test(k))) {
    throw badCursor('is not a cursor this API issued');
  }
  return cursor.k;
}

function encodeCursor(keys: string[], hash: string): string {
  const cursor: Cursor = { v: 1, k: keys, h: hash };
  return encodeCursorValue(cursor);
}

const splitList = (value: string | undefined) => (value === undefined ? undefined : value.split(','));

function toInstant(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value.length === 10 ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(ms))
    throw ProblemError.badRequest(`Invalid ${name}`, [
      { pointer: `/query/${name}`, message: 'is not a valid date' },
    ]);
  return new Date(ms).toISOString();
}

const formats = new Map<string, Intl.DateTimeFormat>();

function zoneFormat(tz: string): Intl.DateTimeFormat {
  let format = formats.get(tz);
  if (!format) {
    try {
      format = new Intl.DateTimeFormat('en-US', {
        timeZone: tz,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      });
    } catch {
      throw ProblemError.badRequest('Unknown time zone', [
        { pointer: '/query/tz', message: 'is not an IANA time zone name' },
      ]);
    }
    if (formats.size < 1000) formats.set(tz, format);
  }
  return format;
}

/** Wall-clock fields of an instant in a zone. */
function wallClock(format: Intl.DateTimeFormat, at: number): number[] {
  const parts = format.formatToParts(new Date(at));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return [get('year'), get('month'), get('day'), get('hour'), get('minute'), get('second')];
}

/** The day last computed per time zone: every inbox's first page asks, and Intl formatting is not cheap. */
const days = new Map<string, readonly [Date, Date]>();

/** Start and end of the calendar day containing `now` in time zone `tz` (DST-aware). */
export function dayBounds(tz: string, now: Date): readonly [Date, Date] {
  const known = days.get(tz);
  if (known && known[0] <= now && now < known[1]) return known;
  const bounds = computeDayBounds(tz, now);
  if (days.size < 1000 || days.has(tz)) days.set(tz, bounds);
  return bounds;
}

function computeDayBounds(tz: string, now: Date): readonly [Date, Date] {
  const format = zoneFormat(tz);
  const offsetAt = (at: number): number => {
    const [y, mo, d, h, mi, s] = wallClock(format, at) as [number, number, number, number, number, number];
    return Date.UTC(y, mo - 1, d, h, mi, s) - Math.floor(at / 1000) * 1000;
  };
  const [y, mo, d] = wallClock(format, now.getTime()) as [number, number, number];
  const localMidnight = (day: number): Date => {
    const guess = Date.UTC(y, mo - 1, day);
    return new Date(guess - offsetAt(guess - offsetAt(guess)));
  };
  return [localMidnight(d), localMidnight(d + 1)];
}

export interface InboxPlan {
  page: { sql: string; params: unknown[] };
  /** Badge counts, when asked for (by default on the first page). */
  counts?: { sql: string; params: unknown[] };
  limit: number;
  keyCount: number;
  /** Identifies the filters and sort a cursor belongs to. */
  hash: string;
  now: Date;
}

/**
 * Validates the query of GET /api/inbox and returns the SQL to run (exported for the benchmark, which
 * times the same statements without HTTP).
 */
export function planInbox(
  caller: Caller,
  rawQuery: Record<string, unknown>,
  maxPageSize: number,
  now: Date,
  textFrequency?: TextFrequency,
): InboxPlan {
  const query = check(inboxQuerySchema, rawQuery, '/query');
  const limit = query.limit === undefined ? Math.min(50, maxPageSize) : Number(query.limit);
  if (limit < 1 || limit > maxPageSize) {
    throw ProblemError.badRequest(`limit must be between 1 and ${maxPageSize}`, [
      { pointer: '/query/limit', message: `must be between 1 and ${maxPageSize}` },
    ]);
  }
  const filters: InboxFilters = {
    scope: query.scope ?? 'inbox',
    state: query.state ?? 'open',
  };
  if (query.team !== undefined) filters.team = query.team;
  if (query.assignee !== undefined) filters.assignee = query.assignee;
  const caseType = splitList(query.caseType);
  if (caseType) filters.caseType = caseType;
  const status = splitList(query.status);
  if (status) filters.status = status;
  const priority = splitList(query.priority) as Priority[] | undefined;
  if (priority) filters.priority = priority;
  const dueBefore = toInstant(query.dueBefore, 'dueBefore');
  if (dueBefore) filters.dueBefore = dueBefore;
  const dueAfter = toInstant(query.dueAfter, 'dueAfter');
  if (dueAfter) filters.dueAfter = dueAfter;
  const followUpBefore = toInstant(query.followUpBefore, 'followUpBefore');
  if (followUpBefore) filters.followUpBefore = followUpBefore;
  if (query.overdue !== undefined) filters.overdue = query.overdue === 'true';
  if (query.q !== undefined) filters.q = query.q;
  // Closed tasks are browsed newest first; open ones by due date.
  const sort: SortField = query.sort ?? (filters.state === 'closed' ? 'created' : 'due');
  const order: SortOrder = query.order ?? (sort === 'due' ? 'asc' : 'desc');
  const hash = createHash('sha256')
    .update(JSON.stringify([caller.userId, filters, sort, order]))
    .digest('base64url')
    .slice(0, 12);
  const keys = SORT_KEYS[sort][order];
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, hash, keys);
  const wantCounts = query.counts === undefined ? after === undefined : query.counts === 'true';
  const bounds = wantCounts ? dayBounds(query.tz ?? 'UTC', now) : undefined;
  return {
    page: inboxPageSql({
      caller,
      filters,
      sort,
      order,
      limit,
      now,
      ...(after ? { after } : {}),
      ...(textFrequency ? { textFrequency } : {}),
    }),
    ...(bounds ? { counts: inboxCountsSql(caller, now, bounds[0], bounds[1]) } : {}),
    limit,
    keyCount: keys.length,
    hash,
    now,
  };
}

export function inboxRoutes(ctx: ApiContext): Router {
  const router = Router();

  router.get('/inbox', async (req, res) => {
    const plan = planInbox(
      callerOf(req),
      { ...req.query },
      ctx.maxPageSize,
      new Date(),
      ctx.textStats.frequency,
    );
    const [rows, counts] = await ctx.metrics.timeInbox(() =>
      Promise.all([
        ctx.db.query(plan.page.sql, plan.page.params),
        plan.counts ? ctx.db.query(plan.counts.sql, plan.counts.params) : Promise.resolve([]),
      ]),
    );
    const more = rows.length > plan.limit;
    const items = rows.slice(0, plan.limit);
    const last = items[items.length - 1];
    const nextCursor =
      more && last
        ? encodeCursor(
            Array.from({ length: plan.keyCount }, (_, i) => String(last[`k${i}`])),
            plan.hash,
          )
        : null;
    const c = counts[0];
    res.json({
      items: items.map((r) => inboxItemView(r, plan.now.getTime())),
      nextCursor,
      ...(c
        ? {
            counts: {
              mine: Number(c.mine),
              claimable: Number(c.claimable),
              overdue: Number(c.overdue),
              dueToday: Number(c.due_today),
            },
          }
        : {}),
    });
  });

  return router;
}
