import { randomUUID } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { Router } from 'express';
import type { Queryable } from '../../db';
import { entityView } from '../../crm/entities';
import {
  createSegment,
  deleteSegment,
  findSegment,
  listSegments,
  segmentMembers,
  updateSegment,
} from '../../crm/segment-store';
import { segmentErrors, segmentFilterSchema, type SegmentFilter } from '../../crm/segments';
import { permit } from '../../crm/permissions';
import { callerOf } from '../auth';
import type { ApiContext } from '../context';
import { dateTime, problemResponses, type OperationSpec } from '../operation';
import { ProblemError } from '../problem';
import { AnyObject } from '../../cases/content-schema';
import { check } from '../validation';
import { decodeCursor, encodeCursor, pageLimit } from './crm-common';

const segmentSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Type.Unsafe<string | null>({ type: ['string', 'null'], maxLength: 2000 })),
    filter: AnyObject,
  },
  { additionalProperties: false },
);

const previewSchema = Type.Object({ filter: AnyObject }, { additionalProperties: false });

/** The filter's own schema (crm/segments.ts, recursive), typed as the filter it describes. */
const filterSchema = Type.Unsafe<SegmentFilter>(segmentFilterSchema);

/** `?limit=` as `pageLimit` reads it. */
const limitParam = (fallback: number) => ({
  type: 'string',
  pattern: '^[0-9]{1,6}$',
  description: `Page size (default ${fallback}; clamped to 1..the server's maximum page size)`,
});

/** Query of POST /segments/preview (read by `pageLimit`, not validated by a schema). */
export const previewQuerySchema = { type: 'object', properties: { limit: limitParam(20) } };

/** Query of GET /segments/:id/entities (read by `pageLimit` and `decodeCursor`). */
export const segmentEntitiesQuerySchema = {
  type: 'object',
  properties: {
    limit: limitParam(50),
    cursor: { type: 'string', maxLength: 1000, description: 'nextCursor of the previous page' },
  },
};

const nullableString = { type: ['string', 'null'] };

/** A saved segment as `findSegment` (and the list) returns it. */
const storedSegmentSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    description: nullableString,
    filter: { type: 'object', description: 'The segment filter, as saved' },
    createdBy: nullableString,
    createdAt: dateTime,
    updatedAt: dateTime,
  },
  required: ['id', 'name', 'description', 'filter', 'createdBy', 'createdAt', 'updatedAt'],
};

/** An entity as `entityView` shows it. */
const entitySchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    entityType: { enum: ['person', 'company'] },
    kind: { enum: ['EN', 'CL', 'PR'] },
    code: { type: 'string' },
    name: { type: 'string' },
    taxId: nullableString,
    email: nullableString,
    phone: nullableString,
    address: nullableString,
    city: nullableString,
    postalCode: nullableString,
    country: nullableString,
    source: nullableString,
    sector: nullableString,
    zone: nullableString,
    agentId: nullableString,
    externalCode: nullableString,
    custom: { type: 'object' },
    createdAt: dateTime,
    updatedAt: dateTime,
  },
  required: ['id', 'kind', 'code', 'name'],
};

/** What `members` returns: the count of matching entities and a page of them by name. */
const membersProperties = {
  count: { type: 'integer', description: 'How many entities match' },
  items: { type: 'array', items: entitySchema },
  nextCursor: { type: ['string', 'null'] },
};

const FILTER_NOTE =
  'The filter is checked against the segment filter language ({all|any: [...]}, {not}, {field, op, value}, ' +
  '{hasCases}, {actionsDone}, {wonAmount}) and the standard and custom entity fields; every error is reported ' +
  'with a pointer under /body/filter.';

export const segmentOperations: OperationSpec[] = [
  {
    method: 'post',
    path: '/api/segments/preview',
    operationId: 'previewSegment',
    tag: 'CRM: Segments',
    summary: 'Tries a segment filter without saving it: how many entities match, and the first ones by name',
    description: `${FILTER_NOTE} Only the first page is returned (limit); nextCursor only says whether more match.`,
    query: previewQuerySchema,
    body: previewSchema,
    responses: {
      '200': {
        description: 'The count and the first matching entities',
        schema: { type: 'object', properties: membersProperties, required: ['count', 'items', 'nextCursor'] },
      },
      ...problemResponses(400, 401),
    },
  },
  {
    method: 'post',
    path: '/api/segments',
    operationId: 'createSegment',
    tag: 'CRM: Segments',
    summary: 'Saves a named segment filter (supervisors and administrators)',
    description: `${FILTER_NOTE} Names are unique.`,
    body: segmentSchema,
    responses: {
      '201': { description: 'The saved segment (Location: its URL)', schema: storedSegmentSchema },
      ...problemResponses(400, 401, 403, 409),
    },
    problems: ['duplicate-name'],
  },
  {
    method: 'get',
    path: '/api/segments',
    operationId: 'listSegments',
    tag: 'CRM: Segments',
    summary: 'The saved segments, by name',
    description: 'At most 1000 segments; no paging.',
    responses: {
      '200': {
        description: 'Segments',
        schema: {
          type: 'object',
          properties: { items: { type: 'array', items: storedSegmentSchema } },
          required: ['items'],
        },
      },
      ...problemResponses(401),
    },
  },
  {
    method: 'get',
    path: '/api/segments/:id',
    operationId: 'getSegment',
    tag: 'CRM: Segments',
    summary: 'One saved segment',
    params: { id: 'Segment id, or its name' },
    responses: {
      '200': { description: 'The segment', schema: storedSegmentSchema },
      ...problemResponses(401, 404),
    },
  },
  {
    method: 'put',
    path: '/api/segments/:id',
    operationId: 'replaceSegment',
    tag: 'CRM: Segments',
    summary: "Replaces a segment's name, description and filter (supervisors and administrators)",
    description: `${FILTER_NOTE} Names are unique.`,
    params: { id: 'Segment id' },
    body: segmentSchema,
    responses: {
      '200': { description: 'The segment as saved', schema: storedSegmentSchema },
      ...problemResponses(400, 401, 403, 404, 409),
    },
    problems: ['duplicate-name'],
  },
  {
    method: 'delete',
    path: '/api/segments/:id',
    operationId: 'deleteSegment',
    tag: 'CRM: Segments',
    summary: 'Deletes a saved segment (supervisors and administrators)',
    description: 'Campaigns that named the segment keep their targets and no longer name a segment.',
    params: { id: 'Segment id' },
    responses: { '204': { description: 'Deleted' }, ...problemResponses(401, 403, 404) },
  },
  {
    method: 'get',
    path: '/api/segments/:id/entities',
    operationId: 'listSegmentEntities',
    tag: 'CRM: Segments',
    summary: 'The entities of a saved segment, evaluated now, by name',
    description:
      'Paged: pass nextCursor as cursor for the next page; count is the total of matching entities.',
    params: { id: 'Segment id, or its name' },
    query: segmentEntitiesQuerySchema,
    responses: {
      '200': {
        description: 'The segment, the count and a page of its entities',
        schema: {
          type: 'object',
          properties: {
            segment: {
              type: 'object',
              properties: { id: { type: 'string' }, name: { type: 'string' } },
              required: ['id', 'name'],
            },
            ...membersProperties,
          },
          required: ['segment', 'count', 'items', 'nextCursor'],
        },
      },
      ...problemResponses(400, 401, 404),
    },
  },
];

/** Validates a filter (structure, then fields, operators and values); 400 with pointers under `pointer`. */
export function checkFilter(filter: unknown, pointer: string): SegmentFilter {
  const checked = check(filterSchema, filter, pointer, 'segment filter');
  const errors = segmentErrors(checked, pointer);
  if (errors.length > 0)
    throw ProblemError.badRequest(`The segment filter has ${errors.length} error(s)`, errors);
  return checked;
}

/** Counts the entities of a filter and returns a page of them, by name. */
async function members(db: Queryable, filter: SegmentFilter, limit: number, cursor?: unknown[]) {
  const { count, rows } = await segmentMembers(db, filter, limit + 1, cursor);
  const items = rows.slice(0, limit).map(entityView);
  const last = items[items.length - 1];
  return {
    count,
    items,
    nextCursor: rows.length > limit && last ? encodeCursor([last.name, last.id]) : null,
  };
}

export function segmentRoutes(ctx: ApiContext): Router {
  const router = Router();

  /** Tries a filter without saving it: how many entities match, and the first ones. */
  router.post('/segments/preview', async (req, res) => {
    permit(callerOf(req), 'segment', 'read');
    const body = check(previewSchema, req.body ?? {}, '/body');
    const filter = checkFilter(body.filter, '/body/filter');
    res.json(await members(ctx.db, filter, pageLimit(req, 20, ctx.maxPageSize)));
  });

  router.post('/segments', async (req, res) => {
    const caller = callerOf(req);
    permit(caller, 'segment', 'write');
    const body = check(segmentSchema, req.body ?? {}, '/body');
    const filter = checkFilter(body.filter, '/body/filter');
    const id = `seg-${randomUUID()}`;
    await createSegment(ctx.db, id, { ...body, filter }, caller.userId);
    const saved = await findSegment(ctx.db, id);
    res.status(201).location(`/api/segments/${id}`).json(saved);
  });

  router.get('/segments', async (req, res) => {
    permit(callerOf(req), 'segment', 'read');
    res.json({ items: await listSegments(ctx.db) });
  });

  router.get('/segments/:id', async (req, res) => {
    permit(callerOf(req), 'segment', 'read');
    const segment = await findSegment(ctx.db, req.params.id);
    if (!segment) throw ProblemError.notFound(`Segment ${req.params.id}`);
    res.json(segment);
  });

  router.put('/segments/:id', async (req, res) => {
    permit(callerOf(req), 'segment', 'write');
    const body = check(segmentSchema, req.body ?? {}, '/body');
    const filter = checkFilter(body.filter, '/body/filter');
    const updated = await updateSegment(ctx.db, req.params.id, { ...body, filter });
    if (!updated) throw ProblemError.notFound(`Segment ${req.params.id}`);
    res.json(await findSegment(ctx.db, req.params.id));
  });

  router.delete('/segments/:id', async (req, res) => {
    permit(callerOf(req), 'segment', 'write');
    if (!(await deleteSegment(ctx.db, req.params.id)))
      throw ProblemError.notFound(`Segment ${req.params.id}`);
    res.status(204).end();
  });

  /** The entities of a saved segment, evaluated now. */
  router.get('/segments/:id/entities', async (req, res) => {
    permit(callerOf(req), 'segment', 'read');
    permit(callerOf(req), 'entity', 'list');
    const segment = await findSegment(ctx.db, req.params.id);
    if (!segment) throw ProblemError.notFound(`Segment ${req.params.id}`);
    res.json({
      segment: { id: segment.id, name: segment.name },
      ...(await members(ctx.db, segment.filter, pageLimit(req, 50, ctx.maxPageSize), decodeCursor(req, 2))),
    });
  });

  return router;
}
