import { Type } from '@sinclair/typebox';
import { Router } from 'express';
import { findTask } from '../../cases/task-store';
import { isTeamTask, teamBoard } from '../../cases/team-board';
import { requireTeamAssignee } from '../../crm/teams';
import type { ActorEvent } from '../../engine/state';
import { BUILTIN_ACTION_TYPES, PRIORITIES, type Priority } from '../../engine/types';
import { findTeam, isMemberOfAny, teamExists } from '../../identity/teams';
import { callerOf, type Caller } from '../auth';
import type { ApiContext } from '../context';
import { cachedDefinition } from '../definition-cache';
import { idempotent, type Outcome } from '../idempotency';
import { INBOX_COLUMNS } from '../inbox-query';
import { idString, inboxItemSchema, problemResponses, taskSchema, type OperationSpec } from '../operation';
import { ProblemError, asProblem } from '../problem';
import { check } from '../validation';
import { inboxItemView, taskView } from '../views';
import { loadVisibleCase } from './cases';
import { dayBounds } from './inbox';
import { actOnTask, loadVisibleTask, requireActiveUser } from './tasks';

/** Bulk reassignments sent to workflows at once. */
const REASSIGN_CONCURRENCY = 8;
const MAX_BULK = 100;

export const boardQuerySchema = Type.Object(
  {
    tz: Type.Optional(
      Type.String({ maxLength: 64, description: 'IANA time zone for dueToday; default UTC' }),
    ),
    limit: Type.Optional(
      Type.String({ pattern: '^[0-9]{1,9}$', description: 'Unassigned tasks listed (default 50)' }),
    ),
  },
  { additionalProperties: false },
);

export const reassignSchema = Type.Object(
  {
    taskIds: Type.Array(Type.String(idString), {
      minItems: 1,
      maxItems: MAX_BULK,
      uniqueItems: true,
    }),
    assignee: Type.String(idString),
  },
  { additionalProperties: false },
);

export const adHocTaskSchema = Type.Object(
  {
    title: Type.String({ minLength: 1, maxLength: 300 }),
    action: Type.String({
      ...idString,
      description: 'An action type: call, visit, email, ... or one the case type defines',
    }),
    description: Type.Optional(Type.String({ maxLength: 5000 })),
    assignee: Type.Optional(
      Type.String({ ...idString, description: 'A member of `team` (or of a team the caller supervises)' }),
    ),
    team: Type.Optional(
      Type.String({
        ...idString,
        description: 'A team the caller supervises: its members become candidates',
      }),
    ),
    dueAt: Type.Optional(Type.String({ format: 'date-time' })),
    priority: Type.Optional(Type.Unsafe<Priority>({ enum: PRIORITIES })),
  },
  { anyOf: [{ required: ['assignee'] }, { required: ['team'] }], additionalProperties: false },
);

const countsOf = { type: 'integer' };
export const boardSchema = {
  type: 'object',
  properties: {
    team: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' } } },
    asOf: { type: 'string', format: 'date-time' },
    members: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          name: { type: 'string' },
          pending: countsOf,
          overdue: countsOf,
          dueToday: countsOf,
          nextDueAt: { type: ['string', 'null'], format: 'date-time' },
        },
      },
    },
    unassigned: {
      type: 'object',
      properties: { count: countsOf, overdue: countsOf, items: { type: 'array', items: inboxItemSchema } },
    },
    totals: {
      type: 'object',
      properties: { pending: countsOf, overdue: countsOf, unassigned: countsOf },
    },
  },
};

const reassignResultSchema = {
  type: 'object',
  properties: {
    succeeded: countsOf,
    failed: countsOf,
    results: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          taskId: { type: 'string' },
          status: { type: 'integer', description: 'HTTP status this task alone would have answered' },
          task: taskSchema,
          problem: { type: 'object' },
        },
      },
    },
  },
};

export const supervisorOperations: OperationSpec[] = [
  {
    method: 'get',
    path: '/api/teams/:id/board',
    operationId: 'getTeamBoard',
    tag: 'Supervisor',
    summary: "A team's day: pending and overdue work per member, unassigned work",
    params: { id: 'Team id' },
    query: boardQuerySchema,
    responses: {
      '200': { description: 'The board', schema: boardSchema },
      ...problemResponses(400, 401, 403, 404),
    },
  },
  {
    method: 'post',
    path: '/api/teams/:id/reassign',
    operationId: 'reassignTasks',
    tag: 'Supervisor',
    summary: 'Reassigns up to 100 tasks of the team to one user, each through its case workflow',
    description:
      'The assignee must be a member of the team with the role agent or supervisor (anyone else is a 400 at /body/assignee, before any task changes).',
    params: { id: 'Team id' },
    body: reassignSchema,
    idempotent: true,
    responses: {
      '200': { description: 'One result per task', schema: reassignResultSchema },
      ...problemResponses(400, 401, 403, 404, 422),
    },
  },
  {
    method: 'post',
    path: '/api/cases/:id/tasks',
    operationId: 'addAdHocTask',
    tag: 'Supervisor',
    summary: 'Adds an ad-hoc action to a case, for anyone on a team the caller supervises',
    params: { id: 'Case id' },
    body: adHocTaskSchema,
    idempotent: true,
    responses: {
      '201': { description: 'The new task', schema: taskSchema },
      ...problemResponses(400, 401, 403, 404, 409, 422, 503),
    },
    problems: ['case-ended'],
  },
];

/** The caller must supervise the team (or be an administrator); others get 404 unless they are members. */
async function requireSupervisedTeam(ctx: ApiContext, caller: Caller, teamId: string) {
  const team = await findTeam(ctx.db, teamId);
  const supervises = caller.role === 'admin' || caller.supervisedTeams.includes(teamId);
  if (!team || (!supervises && !caller.teams.includes(teamId))) throw ProblemError.notFound(`Team ${teamId}`);
  if (!supervises) throw ProblemError.forbidden(`Only the supervisor of team ${teamId} may do this`);
  return team;
}

/** Runs `fn` over `items`, at most `limit` at a time, keeping the order of results. */
async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  });
  await Promise.all(workers);
  return results;
}

export function supervisorRoutes(ctx: ApiContext): Router {
  const router = Router();

  router.get('/teams/:id/board', async (req, res) => {
    const caller = callerOf(req);
    const query = check(boardQuerySchema, { ...req.query }, '/query');
    const limit = Number(query.limit ?? 50);
    if (limit > ctx.maxPageSize) {
      throw ProblemError.badRequest('Invalid limit', [
        { pointer: '/query/limit', message: `must be at most ${ctx.maxPageSize}` },
      ]);
    }
    const team = await requireSupervisedTeam(ctx, caller, req.params.id);
    const now = new Date();
    const [start, end] = dayBounds(query.tz ?? 'UTC', now);
    const { members, unassigned, unassignedCount } = await teamBoard(
      ctx.db,
      team.id,
      { now: now.toISOString(), dayStart: start.toISOString(), dayEnd: end.toISOString() },
      limit,
      INBOX_COLUMNS,
    );
    res.json({
      team,
      asOf: now.toISOString(),
      members: members.map((m) => ({
        id: m.id,
        name: m.name,
        pending: m.pending,
        overdue: m.overdue,
        dueToday: m.due_today,
        nextDueAt: m.next_due,
      })),
      unassigned: {
        count: unassignedCount.count,
        overdue: unassignedCount.overdue,
        items: unassigned.map((r) => inboxItemView(r, now.getTime())),
      },
      totals: {
        pending: members.reduce((sum, m) => sum + m.pending, 0),
        overdue: members.reduce((sum, m) => sum + m.overdue, 0) + unassignedCount.overdue,
        unassigned: unassignedCount.count,
      },
    });
  });

  router.post('/teams/:id/reassign', async (req, res) => {
    const caller = callerOf(req);
    const body = check(reassignSchema, req.body ?? {}, '/body');
    const team = await requireSupervisedTeam(ctx, caller, req.params.id);
    await requireActiveUser(ctx.db, body.assignee, '/body/assignee');
    await requireTeamAssignee(ctx.db, team.id, body.assignee, '/body/assignee');
    await idempotent(ctx.db, req, res, caller, async (key) => {
      const results = await mapLimited(body.taskIds, REASSIGN_CONCURRENCY, async (taskId) => {
        try {
          const row = await loadVisibleTask(ctx, caller, taskId);
          if (!(await isTeamTask(ctx.db, taskId, team.id)))
            throw ProblemError.notFound(`Task ${taskId} in team ${team.id}`);
          const event: ActorEvent = { type: 'assign', taskId, assignee: body.assignee, actor: caller };
          const done = await actOnTask(
            ctx,
            row,
            event,
            key === undefined ? undefined : `${caller.userId}:${taskId}:reassign:${key}`,
          );
          return { taskId, status: done.status, task: done.body };
        } catch (err) {
          const problem = asProblem(err);
          if (!problem || problem.status >= 500) throw err;
          return {
            taskId,
            status: problem.status,
            problem: {
              type: problem.slug,
              title: problem.title,
              detail: problem.message,
              ...problem.extensions,
            },
          };
        }
      });
      const succeeded = results.filter((r) => r.status === 200).length;
      return {
        status: 200,
        body: { succeeded, failed: results.length - succeeded, results },
      } satisfies Outcome;
    });
  });

  router.post('/cases/:id/tasks', async (req, res) => {
    const caller = callerOf(req);
    const body = check(adHocTaskSchema, req.body ?? {}, '/body');
    const row = await loadVisibleCase(ctx, caller, req.params.id);
    if (caller.role !== 'admin' && caller.role !== 'supervisor')
      throw ProblemError.forbidden('Only supervisors and administrators add actions to a case');
    if (body.team !== undefined && caller.role !== 'admin' && !caller.supervisedTeams.includes(body.team))
      throw ProblemError.forbidden(`You do not supervise team ${body.team}`);
    if (body.assignee !== undefined) {
      await requireActiveUser(ctx.db, body.assignee, '/body/assignee');
      const teams = body.team !== undefined ? [body.team] : caller.supervisedTeams;
      if (caller.role !== 'admin' || body.team !== undefined) {
        if (!(await isMemberOfAny(ctx.db, body.assignee, teams)))
          throw ProblemError.badRequest('The assignee must be on the team', [
            {
              pointer: '/body/assignee',
              message: `is not a member of ${body.team ?? 'a team you supervise'}`,
            },
          ]);
      }
    }
    if (body.team !== undefined) {
      if (!(await teamExists(ctx.db, body.team)))
        throw ProblemError.badRequest('Unknown team', [{ pointer: '/body/team', message: 'is not a team' }]);
    }
    const stored = await cachedDefinition(ctx.db, row.case_type as string, row.definition_version as number);
    const actionTypes = [...BUILTIN_ACTION_TYPES, ...(stored?.definition.actionTypes ?? [])].map(
      (a) => a.code,
    );
    if (!actionTypes.includes(body.action)) {
      throw ProblemError.badRequest('Unknown action type', [
        { pointer: '/body/action', message: `must be one of: ${actionTypes.join(', ')}` },
      ]);
    }
    const event: ActorEvent = {
      type: 'addTask',
      title: body.title,
      action: body.action,
      actor: caller,
      ...(body.assignee !== undefined ? { assignee: body.assignee } : {}),
      ...(body.team !== undefined ? { team: body.team } : {}),
      ...(body.description !== undefined ? { description: body.description } : {}),
      ...(body.priority !== undefined ? { priority: body.priority } : {}),
      ...(body.dueAt !== undefined ? { dueAt: Date.parse(body.dueAt) } : {}),
    };
    const caseId = row.id as string;
    await idempotent(ctx.db, req, res, caller, async (key) => {
      const result = await ctx.gateway.act(
        caseId,
        event,
        key === undefined ? undefined : `${caller.userId}:${caseId}:add-task:${key}`,
      );
      const createdId = result.task?.id;
      const created = createdId ? await findTask(ctx.db, createdId) : undefined;
      if (!created) throw new Error(`The ad-hoc task of case ${caseId} was not projected`);
      res.location(`/api/tasks/${created.id as string}`);
      return { status: 201, body: taskView(created) };
    });
  });

  return router;
}
