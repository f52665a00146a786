/** Activities on an entity outside any case (crm/activities.ts): HTTP, access and mapping only. */
import { Router, type Request } from 'express';
import {
  ACTIVITY_KINDS,
  activityCreateSchema,
  activityDoneSchema,
  checkActivityDone,
  checkActivityInput,
  completeActivity,
  insertActivity,
  listActivities,
  type ActivityFilters,
} from '../../crm/activities';
import { checkEntityAgent, guardEntity, permit } from '../../crm/permissions';
import { callerOf } from '../auth';
import type { ApiContext } from '../context';
import { dateTime, nullableDateTime, problemResponses, type OperationSpec } from '../operation';
import { ProblemError } from '../problem';
import { decodeCursor, encodeCursor, pageLimit, queryString } from './crm-common';

const nullableString = { type: ['string', 'null'] };

/** An activity as `activityView` shows it. */
export const activitySchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    entityId: { type: 'string' },
    kind: { enum: [...ACTIVITY_KINDS] },
    status: { enum: ['done', 'scheduled'] },
    at: { ...dateTime, description: 'When it happened (done) or is planned (scheduled)' },
    scheduledAt: { ...nullableDateTime, description: 'When it was planned (null for one logged as done)' },
    subject: nullableString,
    outcome: nullableString,
    notes: nullableString,
    durationMinutes: { type: ['integer', 'null'] },
    ownerId: { ...nullableString, description: 'Who is to do it (scheduled)' },
    createdBy: { type: 'string' },
    doneBy: { ...nullableString, description: 'Who logged it or marked it done' },
    createdAt: dateTime,
    updatedAt: dateTime,
  },
  required: ['id', 'entityId', 'kind', 'status', 'at', 'createdBy', 'createdAt', 'updatedAt'],
};

const activityListQuerySchema = {
  type: 'object',
  properties: {
    status: { enum: ['done', 'scheduled'], description: 'Only done or only scheduled activities' },
    kind: { enum: [...ACTIVITY_KINDS] },
    limit: {
      type: 'string',
      pattern: '^[0-9]{1,6}$',
      description: "Page size (default 50, at most the server's maximum page size)",
    },
    cursor: { type: 'string', maxLength: 1000, description: 'nextCursor of the previous page' },
  },
};

const tag = 'CRM: Entities';
const writers =
  "(as editing the entity: agents and supervisors on their own and their teams' entities, administrators on all: docs/permissions.md)";

export const entityActivityOperations: OperationSpec[] = [
  {
    method: 'post',
    path: '/api/entities/:id/activities',
    operationId: 'createEntityActivity',
    tag,
    summary: `Logs a call, meeting, visit or email on the entity, or schedules one ${writers}`,
    description:
      '`status: "done"` logs one that happened (`occurredAt`, default now, not in the future; `outcome`, `notes`, `durationMinutes`). ' +
      '`status: "scheduled"` plans one for `scheduledAt` (in the future) and `ownerId` (default the caller; naming someone else follows the rules of giving them an entity). Answers with a Location header.',
    params: { id: 'Entity id' },
    body: activityCreateSchema,
    responses: {
      '201': { description: 'The activity', schema: activitySchema },
      ...problemResponses(400, 401, 403, 404),
    },
  },
  {
    method: 'get',
    path: '/api/entities/:id/activities',
    operationId: 'listEntityActivities',
    tag,
    summary: "The entity's activities, latest first (as reading the entity)",
    description:
      'Ordered by `at` (when it happened or is planned), latest first, so scheduled ones ahead come first; keyset-paginated: pass `nextCursor` as `cursor` for the next page (null on the last).',
    params: { id: 'Entity id' },
    query: activityListQuerySchema,
    responses: {
      '200': {
        description: 'A page of activities',
        schema: {
          type: 'object',
          properties: { items: { type: 'array', items: activitySchema }, nextCursor: nullableString },
        },
      },
      ...problemResponses(400, 401, 403, 404),
    },
  },
  {
    method: 'patch',
    path: '/api/entities/:id/activities/:activityId',
    operationId: 'completeEntityActivity',
    tag,
    summary: `Marks a scheduled activity done ${writers}`,
    description:
      '`at` becomes `occurredAt` (default now); `scheduledAt` keeps when it had been planned. 409 activity-done when it is done already.',
    params: { id: 'Entity id', activityId: 'Activity id' },
    body: activityDoneSchema,
    responses: {
      '200': { description: 'The activity, done', schema: activitySchema },
      ...problemResponses(400, 401, 403, 404, 409),
    },
    problems: ['activity-done'],
  },
];

function activityFilters(req: Request): ActivityFilters {
  const filters: ActivityFilters = {};
  const status = queryString(req, 'status');
  if (status !== undefined) {
    if (status !== 'done' && status !== 'scheduled')
      throw ProblemError.badRequest('status must be done or scheduled', [
        { pointer: '/query/status', message: 'must be done or scheduled' },
      ]);
    filters.status = status;
  }
  const kind = queryString(req, 'kind');
  if (kind !== undefined) {
    if (!(ACTIVITY_KINDS as readonly string[]).includes(kind))
      throw ProblemError.badRequest(`kind must be one of ${ACTIVITY_KINDS.join(', ')}`, [
        { pointer: '/query/kind', message: `must be one of ${ACTIVITY_KINDS.join(', ')}` },
      ]);
    filters.kind = kind as ActivityFilters['kind'];
  }
  return filters;
}

export function entityActivityRoutes(ctx: ApiContext): Router {
  const router = Router();

  router.post('/entities/:id/activities', async (req, res) => {
    const caller = callerOf(req);
    const entityId = req.params.id;
    await guardEntity(ctx.db, caller, entityId, 'edit');
    const { input, at } = checkActivityInput(req.body ?? {}, '/body');
    let ownerId: string | null = null;
    if (input.status === 'scheduled') {
      const worksAccounts = caller.role === 'agent' || caller.role === 'supervisor';
      ownerId = input.ownerId === undefined ? (worksAccounts ? caller.userId : null) : input.ownerId;
      if (ownerId !== null && ownerId !== caller.userId)
        await checkEntityAgent(ctx.db, caller, ownerId, '/body/ownerId');
    }
    const activity = await insertActivity(ctx.db, entityId, input, at, caller.userId, ownerId);
    res.status(201).location(`/api/entities/${entityId}/activities/${activity.id}`).json(activity);
  });

  router.get('/entities/:id/activities', async (req, res) => {
    const caller = callerOf(req);
    await guardEntity(ctx.db, caller, req.params.id, 'read');
    const limit = pageLimit(req, 50, ctx.maxPageSize);
    const filters = activityFilters(req);
    const cursor = decodeCursor(req, 2);
    const page = await listActivities(ctx.db, req.params.id, filters, {
      limit,
      ...(cursor ? { after: [String(cursor[0]), String(cursor[1])] as [string, string] } : {}),
    });
    const last = page.items[page.items.length - 1];
    res.json({ items: page.items, nextCursor: page.more && last ? encodeCursor([last.at, last.id]) : null });
  });

  router.patch('/entities/:id/activities/:activityId', async (req, res) => {
    const caller = callerOf(req);
    permit(caller, 'entity', 'edit');
    const { input, at } = checkActivityDone(req.body ?? {}, '/body');
    const activity = await ctx.db.transaction(async (tx) => {
      await guardEntity(tx, caller, req.params.id, 'edit');
      return completeActivity(tx, req.params.id, req.params.activityId, input, at, caller.userId);
    });
    res.json(activity);
  });

  return router;
}
