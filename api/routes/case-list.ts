import { Type } from '@sinclair/typebox';
import { Router, type Request } from 'express';
import { publishedCaseTypes } from '../../db/definitions';
import { callerOf, type Caller } from '../auth';
import {
  CASE_SORT_COLUMNS,
  caseListSql,
  type CaseListFilters,
  type CaseSortField,
  type CaseSortOrder,
} from '../case-query';
import type { ApiContext } from '../context';
import { caseViewSchema, idString, problemResponses, type OperationSpec } from '../operation';
import { ProblemError } from '../problem';
import { check } from '../validation';
import { caseView } from '../views';
import { decodeCursor, encodeCursor } from './crm-common';

const list = (item: string, description: string) =>
  Type.Optional(Type.String({ maxLength: 2000, pattern: `^${item}(,${item})*$`, description }));
const instant = (what: string) =>
  Type.Optional(
    Type.String({
      maxLength: 40,
      anyOf: [{ format: 'date' }, { format: 'date-time' }],
      description: `${what}: a date (YYYY-MM-DD, midnight UTC) or an RFC 3339 date-time`,
    }),
  );
const id = (description: string) => Type.Optional(Type.String({ ...idString, description }));
/** A query value out of a fixed list, typed as that list's union. */
const oneOf = <T extends string>(values: readonly T[], description: string) =>
  Type.Optional(Type.Unsafe<T>({ enum: [...values], description }));

/** Query of GET /api/cases. Every value is a string (the query parser does not nest). */
export const caseListQuerySchema = Type.Object(
  {
    type: list('[A-Za-z0-9._-]{1,100}', 'Comma-separated case type ids'),
    status: list('[A-Za-z0-9._-]{1,100}', 'Comma-separated status codes'),
    category: list('(open|won|lost|closed)', 'Comma-separated status categories (open, won, lost, closed)'),
    entity: id("The entity's cases"),
    businessKey: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: "Cases whose business key (the case type's `businessKey` field) is exactly this",
      }),
    ),
    owner: id('Cases owned by this user'),
    team: id("Cases the team works on: owned by a member, or holding a task of the team's or of a member's"),
    createdAfter: instant('Created at or after'),
    createdBefore: instant('Created before'),
    updatedAfter: instant('Last changed at or after'),
    updatedBefore: instant('Last changed before'),
    q: Type.Optional(
      Type.String({
        minLength: 2,
        maxLength: 200,
        description:
          'Words that start words of the case title or entity name (all of them; case-insensitive), or a case id',
      }),
    ),
    sort: oneOf<CaseSortField>(['created', 'updated', 'title'], 'Default created'),
    order: oneOf<CaseSortOrder>(['asc', 'desc'], 'Default desc (asc for title)'),
    limit: Type.Optional(
      Type.String({
        pattern: '^[0-9]{1,9}$',
        description: 'Page size, 1 to the configured maximum (MAX_PAGE_SIZE); default 50',
      }),
    ),
    cursor: Type.Optional(
      Type.String({
        maxLength: 1000,
        pattern: '^[A-Za-z0-9_-]+$',
        description: 'nextCursor of the previous page (same sort and order)',
      }),
    ),
  },
  { additionalProperties: false },
);

export const caseListOperations: OperationSpec[] = [
  {
    method: 'get',
    path: '/api/cases',
    operationId: 'listCases',
    tag: 'Cases',
    summary: 'The cases the caller may see, filtered, sorted and in cursor pages',
    description:
      'A caller sees the cases they own and those holding a task they may see (administrators: every case). ' +
      'Filters combine with AND; lists within one filter with OR. Unknown parameters, malformed values, an ' +
      'unknown case type and a page size above the maximum answer 400 with the pointer /query/<name>. Pass ' +
      'nextCursor back as cursor (null on the last page).',
    query: caseListQuerySchema,
    responses: {
      '200': {
        description: 'One page',
        schema: {
          type: 'object',
          properties: {
            items: { type: 'array', items: caseViewSchema },
            nextCursor: { type: ['string', 'null'] },
          },
          required: ['items', 'nextCursor'],
        },
      },
      ...problemResponses(400, 401),
    },
  },
];

const TIMESTAMP_TEXT = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?[+-]\d\d(:\d\d){0,2}$/;

const bad = (name: string, message: string, detail = `Invalid ${name}`) =>
  ProblemError.badRequest(detail, [{ pointer: `/query/${name}`, message }]);

function toInstant(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value.length === 10 ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(ms)) throw bad(name, 'is not a valid date');
  return new Date(ms).toISOString();
}

/** The last row of the previous page, from a cursor this route issued for the same sort and order. */
function cursorAfter(req: Request, sort: CaseSortField, order: CaseSortOrder): [string, string] | undefined {
  const values = decodeCursor(req, 3);
  if (values === undefined) return undefined;
  const [tag, key, id] = values;
  const wrong = (message: string) =>
    bad('cursor', message, 'The cursor is not valid for this query; start again from the first page');
  if (typeof key !== 'string' || typeof id !== 'string' || key.length > 1000 || id.length > 200)
    throw wrong('is not a cursor this API returned');
  if (tag !== `${sort}:${order}`) throw wrong('belongs to another sort or order');
  if (CASE_SORT_COLUMNS[sort].cast === 'timestamptz' && !TIMESTAMP_TEXT.test(key))
    throw wrong('is not a cursor this API returned');
  return [key, id];
}

/** Validates the query of GET /api/cases (400 with a pointer per bad value) into the page to fetch. */
async function planCaseList(ctx: ApiContext, caller: Caller, req: Request) {
  const query = check(caseListQuerySchema, { ...req.query }, '/query');
  const limit = query.limit === undefined ? Math.min(50, ctx.maxPageSize) : Number(query.limit);
  if (limit < 1 || limit > ctx.maxPageSize) throw bad('limit', `must be between 1 and ${ctx.maxPageSize}`);
  const filters: CaseListFilters = {};
  if (query.type !== undefined) {
    const types = [...new Set(query.type.split(','))];
    const known = await publishedCaseTypes(ctx.db, types);
    const unknown = types.filter((t) => !known.has(t));
    if (unknown.length > 0)
      throw bad('type', `names no published case type: ${unknown.join(', ')}`, 'Unknown case type');
    filters.caseType = types;
  }
  if (query.status !== undefined) filters.status = query.status.split(',');
  if (query.category !== undefined) filters.category = query.category.split(',');
  if (query.entity !== undefined) filters.entityId = query.entity;
  if (query.businessKey !== undefined) filters.businessKey = query.businessKey;
  if (query.owner !== undefined) filters.ownerId = query.owner;
  if (query.team !== undefined) filters.team = query.team;
  for (const name of ['createdAfter', 'createdBefore', 'updatedAfter', 'updatedBefore'] as const) {
    const at = toInstant(query[name], name);
    if (at !== undefined) filters[name] = at;
  }
  if (query.q !== undefined) filters.q = query.q;
  const sort: CaseSortField = query.sort ?? 'created';
  const order: CaseSortOrder = query.order ?? (sort === 'title' ? 'asc' : 'desc');
  const after = cursorAfter(req, sort, order);
  return { filters, sort, order, limit, ...(after ? { after } : {}) };
}

export function caseListRoutes(ctx: ApiContext): Router {
  const router = Router();

  router.get('/cases', async (req, res) => {
    const caller = callerOf(req);
    const plan = await planCaseList(ctx, caller, req);
    const { sql, params } = caseListSql({ caller, ...plan });
    const rows = await ctx.db.query(sql, params);
    const items = rows.slice(0, plan.limit);
    const last = items[items.length - 1];
    const nextCursor =
      rows.length > plan.limit && last
        ? encodeCursor([`${plan.sort}:${plan.order}`, String(last.k0), String(last.id)])
        : null;
    res.json({ items: items.map(caseView), nextCursor });
  });

  return router;
}
