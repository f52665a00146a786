import { Type, type Static } from '@sinclair/typebox';
/**
 * Activities on an entity outside any case (crm/activities.ts), and the scheduled ones in their owners' inbox:
 * HTTP, access and mapping only.
 */
import { Router, type Request } from 'express';
import {
  ACTIVITY_KINDS,
  activityCreateSchema,
  activityDoneSchema,
  checkActivityDone,
  checkActivityInput,
  completeActivity,
  inboxActivities,
  inboxActivityView,
  insertActivity,
  listActivities,
  type ActivityFilters,
  type ActivityOwner,
  type ActivityOwners,
} from '../../crm/activities';
import {
  checkActivityTeam,
  checkEntityAgent,
  guardEntity,
  permit,
  permitActivityDone,
} from '../../crm/permissions';
import { callerOf, type Caller } from '../auth';
import type { ApiContext } from '../context';
import { dateTime, idString, nullableDateTime, problemResponses, type OperationSpec } from '../operation';
import { ProblemError } from '../problem';
import { check } from '../validation';
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
    durationMinutes: {
      type: ['integer', 'null'],
      description: 'How long it took (done) or is planned to take (scheduled)',
    },
    ownerId: { ...nullableString, description: 'Who is to do it (scheduled, given to a person)' },
    ownerTeam: { ...nullableString, description: 'The team that is to do it (scheduled, given to a team)' },
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

/** Query of GET /api/inbox/activities. */
export const inboxActivityQuerySchema = Type.Object(
  {
    scope: Type.Optional(
      Type.Unsafe<'inbox' | 'mine' | 'team'>({
        enum: ['inbox', 'mine', 'team'],
        description:
          'inbox (default): given to me and to my teams; mine: given to me; team: given to the teams I belong to',
      }),
    ),
    team: Type.Optional(
      Type.String({
        ...idString,
        description:
          "A team's queue: the activities given to the team and to its members (instead of `scope`)",
      }),
    ),
    limit: Type.Optional(
      Type.String({
        pattern: '^[0-9]{1,6}$',
        description: "Page size (default 50, at most the server's maximum page size)",
      }),
    ),
    cursor: Type.Optional(Type.String({ maxLength: 1000, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);

type InboxActivityQuery = Static<typeof inboxActivityQuerySchema>;

/** A scheduled activity in the inbox, as `inboxActivityView` shows it. */
export const inboxActivitySchema = {
  type: 'object',
  properties: {
    kind: { const: 'activity', description: 'Tells an activity from a task' },
    id: { type: 'string' },
    activityKind: { enum: [...ACTIVITY_KINDS] },
    entity: {
      type: 'object',
      properties: { id: { type: 'string' }, name: { type: 'string' } },
      required: ['id', 'name'],
    },
    subject: nullableString,
    notes: nullableString,
    scheduledAt: dateTime,
    durationMinutes: { type: ['integer', 'null'], description: 'How long it is planned to take' },
    ownerId: { ...nullableString, description: 'The person it is given to' },
    ownerTeam: { ...nullableString, description: 'The team it is given to' },
    createdBy: { type: 'string' },
    overdue: { type: 'boolean', description: 'Planned before now and not done' },
  },
  required: [
    'kind',
    'id',
    'activityKind',
    'entity',
    'subject',
    'notes',
    'scheduledAt',
    'durationMinutes',
    'ownerId',
    'ownerTeam',
    'createdBy',
    'overdue',
  ],
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
      '`status: "scheduled"` plans one for `scheduledAt` (in the future, `durationMinutes` how long it is planned to take) and `ownerId` (default the caller; naming someone else follows the rules of giving them an entity) or `ownerTeam` (a team the caller belongs to; a supervisor also one they supervise; an administrator any), not both. Answers with a Location header.',
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
    summary: `Marks a scheduled activity done ${writers}, or by whom it was given to`,
    description:
      'Whom it was given to (its `ownerId`, a member of its `ownerTeam`) may mark it done too, whatever their relation to the entity. `at` becomes `occurredAt` (default now); `scheduledAt` keeps when it had been planned. It then leaves the inbox and the calendar feed. 409 activity-done when it is done already.',
    params: { id: 'Entity id', activityId: 'Activity id' },
    body: activityDoneSchema,
    responses: {
      '200': { description: 'The activity, done', schema: activitySchema },
      ...problemResponses(400, 401, 403, 404, 409),
    },
    problems: ['activity-done'],
  },
  {
    method: 'get',
    path: '/api/inbox/activities',
    operationId: 'getInboxActivities',
    tag: 'Inbox',
    summary:
      "The scheduled activities in my inbox (given to me or my teams) or in a team's queue, soonest first (as reading entities)",
    description:
      'The inbox\'s second section, beside the tasks of `GET /api/inbox`: each item has `kind: "activity"`. An activity leaves it when it is marked done or its entity is deleted. Ordered by `scheduledAt` then id (overdue ones first); keyset-paginated: pass `nextCursor` as `cursor` with the same query (null on the last page). Unknown query parameters answer 400.',
    query: inboxActivityQuerySchema,
    responses: {
      '200': {
        description: 'A page of scheduled activities',
        schema: {
          type: 'object',
          properties: { items: { type: 'array', items: inboxActivitySchema }, nextCursor: nullableString },
          required: ['items', 'nextCursor'],
        },
      },
      ...problemResponses(400, 401, 403),
    },
  },
];

/** Whose activities an inbox query asks for. */
function inboxOwners(caller: Caller, query: InboxActivityQuery): ActivityOwners {
  if (query.team !== undefined) {
    if (query.scope !== undefined)
      throw ProblemError.badRequest('Give a scope or a team, not both', [
        { pointer: '/query/scope', message: 'is not used with team' },
      ]);
    return { users: [], teams: [query.team], membersOf: query.team };
  }
  const scope = query.scope ?? 'inbox';
  return {
    users: scope === 'team' ? [] : [caller.userId],
    teams: scope === 'mine' ? [] : caller.teams,
  };
}

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
    const owner: ActivityOwner = { ownerId: null, ownerTeam: null };
    if (input.status === 'scheduled') {
      const worksAccounts = caller.role === 'agent' || caller.role === 'supervisor';
      owner.ownerTeam = input.ownerTeam ?? null;
      owner.ownerId =
        input.ownerId !== undefined
          ? input.ownerId
          : owner.ownerTeam === null && worksAccounts
            ? caller.userId
            : null;
      if (owner.ownerId !== null && owner.ownerId !== caller.userId)
        await checkEntityAgent(ctx.db, caller, owner.ownerId, '/body/ownerId');
      if (owner.ownerTeam !== null)
        await checkActivityTeam(ctx.db, caller, owner.ownerTeam, '/body/ownerTeam');
    }
    const activity = await insertActivity(ctx.db, entityId, input, at, caller.userId, owner);
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
      const relation = await guardEntity(tx, caller, req.params.id, 'read');
      return completeActivity(tx, req.params.id, req.params.activityId, input, at, caller.userId, (owner) =>
        permitActivityDone(caller, relation, owner),
      );
    });
    res.json(activity);
  });

  router.get('/inbox/activities', async (req, res) => {
    const caller = callerOf(req);
    permit(caller, 'entity', 'read');
    const query = check(inboxActivityQuerySchema, { ...req.query }, '/query');
    const owners = inboxOwners(caller, query);
    const limit = pageLimit(req, 50, ctx.maxPageSize);
    const cursor = decodeCursor(req, 2);
    if (cursor && (typeof cursor[0] !== 'string' || Number.isNaN(Date.parse(cursor[0]))))
      throw ProblemError.badRequest('The cursor is not valid', [
        { pointer: '/query/cursor', message: 'is not a cursor this API returned' },
      ]);
    const page = await inboxActivities(ctx.db, owners, {
      limit,
      ...(cursor ? { after: [String(cursor[0]), String(cursor[1])] as [string, string] } : {}),
    });
    const now = Date.now();
    const items = page.items.map((r) => inboxActivityView(r, now));
    const last = items[items.length - 1];
    res.json({ items, nextCursor: page.more && last ? encodeCursor([last.scheduledAt, last.id]) : null });
  });

  return router;
}
