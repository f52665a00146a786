import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Router } from 'express';
import {
  editEndedCaseTask,
  findTask,
  findVisibleTask,
  taskEvents,
  type ClosedTaskEdit,
} from '../../cases/task-store';
import { isActiveUser } from '../../identity/users';
import type { Queryable } from '../../db';
import type { ActorEvent } from '../../engine/state';
import type { Priority } from '../../engine/types';
import type { ActionResult } from '../../workflows/messages';
import { callerOf, type Caller } from '../auth';
import type { ApiContext } from '../context';
import { cachedDefinition } from '../definition-cache';
import { currentTask, taskViewOf } from '../current-task';
import { idempotencyHeader, idempotent, type Outcome } from '../idempotency';
import { idString, problemResponses, taskSchema, type OperationSpec } from '../operation';
import { ProblemError } from '../problem';
import { noQuery } from '../request-guards';
import { taskHistory } from '../task-history';
import { check } from '../validation';
import { taskView } from '../views';
import { readParameter } from './parameters';

const empty = Type.Object({}, { additionalProperties: false, maxProperties: 0 });
const formData = Type.Unsafe<Record<string, unknown>>({
  type: 'object',
  maxProperties: 500,
  description: "Validated against the step's form",
});
const notes = Type.String({ maxLength: 10000 });
const id = Type.Unsafe<string>(idString);
const reason = Type.String({ minLength: 1, maxLength: 500 });
const instantOrNull = (description: string) =>
  Type.Optional(Type.Unsafe<string | null>({ type: ['string', 'null'], format: 'date-time', description }));

/** An action's event for the interpreter, before the route adds the task and the caller. */
type TaskActionEvent = ActorEvent extends infer E
  ? E extends { taskId: string; actor: unknown }
    ? Omit<E, 'taskId' | 'actor'>
    : never
  : never;

/**
 * One task action: its request body as a TypeBox schema, and the event built from a body that passed it
 * (typed by the schema itself, so the two cannot drift).
 */
function action<S extends TSchema>(summary: string, schema: S, event: (body: Static<S>) => TaskActionEvent) {
  return {
    summary,
    schema,
    eventOf: (raw: unknown): TaskActionEvent => event(check(schema, raw, '/body')),
  };
}

/** Request bodies per action; each builds the interpreter event. */
const ACTIONS = {
  claim: action('Claims a task of one of my teams', empty, () => ({ type: 'claim' })),
  unclaim: action('Releases a claimed task back to its candidates', empty, () => ({ type: 'unclaim' })),
  resolve: action('Hands a delegated task back to the user who delegated it', empty, () => ({
    type: 'resolve',
  })),
  assign: action(
    'Assigns or reassigns a task (supervisors, admins); a user outside the candidates is recorded as such',
    Type.Object({ assignee: id }, { additionalProperties: false }),
    (b) => ({ type: 'assign', assignee: b.assignee }),
  ),
  delegate: action(
    'Delegates my task to another user, who resolves it back',
    Type.Object({ to: id }, { additionalProperties: false }),
    (b) => ({ type: 'delegate', to: b.to }),
  ),
  comment: action(
    'Adds a comment',
    Type.Object({ text: Type.String({ minLength: 1, maxLength: 5000 }) }, { additionalProperties: false }),
    (b) => ({ type: 'comment', text: b.text }),
  ),
  reschedule: action(
    'Changes the due date, follow-up date or priority of an open task (supervisors of the task, admins); audited in its history. A follow-up date later than the due date is a 400 at the field that changed',
    Type.Object(
      {
        dueAt: instantOrNull('New due date; null removes it'),
        followUpAt: instantOrNull('New follow-up date; null removes it'),
        priority: Type.Optional(Type.Unsafe<Priority>({ enum: ['low', 'normal', 'high', 'urgent'] })),
      },
      { minProperties: 1, additionalProperties: false },
    ),
    (b) => ({
      type: 'reschedule',
      ...(b.dueAt !== undefined ? { dueAt: b.dueAt === null ? null : Date.parse(b.dueAt) } : {}),
      ...(b.followUpAt !== undefined
        ? { followUpAt: b.followUpAt === null ? null : Date.parse(b.followUpAt) }
        : {}),
      ...(b.priority !== undefined ? { priority: b.priority } : {}),
    }),
  ),
  cancel: action(
    'Cancels an open task (supervisors of the task, admins): it leaves every inbox, the reason is in the timeline, and its path of the case is over (a join goes on without it; a case left with no work ends)',
    Type.Object({ reason }, { additionalProperties: false }),
    (b) => ({ type: 'cancelTask', reason: b.reason }),
  ),
  suspend: action(
    'Puts an open task on hold (supervisors of the task, admins): it cannot be claimed or completed and its timers (escalations, due reminders, boundary timers) pause, keeping the time they had left, until it is resumed',
    Type.Object({ reason: Type.Optional(reason) }, { additionalProperties: false }),
    (b) => ({ type: 'suspendTask', ...(b.reason !== undefined ? { reason: b.reason } : {}) }),
  ),
  resume: action(
    'Takes a task off hold (supervisors of the task, admins): its timers count on from the time they had left, its due date moves by the time held',
    empty,
    () => ({ type: 'resumeTask' }),
  ),
  complete: action(
    "Completes a task with an outcome of its step, form data validated against the step's form",
    Type.Object(
      {
        outcome: Type.String({ minLength: 1, maxLength: 100 }),
        data: Type.Optional(formData),
        notes: Type.Optional(notes),
      },
      { additionalProperties: false },
    ),
    (b) => ({
      type: 'complete',
      outcome: b.outcome,
      ...(b.data !== undefined ? { data: b.data } : {}),
      ...(b.notes !== undefined ? { notes: b.notes } : {}),
    }),
  ),
};

type ActionName = keyof typeof ACTIONS;

/** Body of PATCH /api/tasks/:id: what may change on a completed task (never the outcome). */
export const editClosedSchema = Type.Object(
  { data: Type.Optional(formData), notes: Type.Optional(notes) },
  { minProperties: 1, additionalProperties: false },
);

export const EDIT_CLOSED_PARAMETER = 'allowEditClosedTasks';

const historySchema = {
  type: 'object',
  properties: {
    taskId: { type: 'string' },
    entries: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          seq: { type: 'integer' },
          at: { type: 'string', format: 'date-time' },
          kind: {
            type: 'string',
            description: 'task.created, task.claimed, task.assigned, task.completed, task.edited, ...',
          },
          actor: {
            type: 'object',
            properties: { id: { type: 'string' }, name: { type: ['string', 'null'] } },
          },
          text: { type: 'string', description: 'A readable sentence' },
          detail: { type: 'object' },
        },
      },
    },
  },
};

const taskResponse = { description: 'The task after the action', schema: taskSchema };

export const taskOperations: OperationSpec[] = [
  {
    method: 'get',
    path: '/api/tasks/:id',
    operationId: 'getTask',
    tag: 'Tasks',
    summary: 'A task with its raw timeline entries',
    params: { id: 'Task id' },
    responses: { '200': { description: 'The task', schema: taskSchema }, ...problemResponses(401, 404) },
  },
  {
    method: 'get',
    path: '/api/tasks/:id/history',
    operationId: 'getTaskHistory',
    tag: 'Tasks',
    summary: 'Readable history of a task: created, assigned, claimed, completed, edited, ...',
    params: { id: 'Task id' },
    responses: {
      '200': { description: 'History, oldest first', schema: historySchema },
      ...problemResponses(401, 404),
    },
  },
  ...(Object.keys(ACTIONS) as ActionName[]).map((action): OperationSpec => ({
    method: 'post',
    path: `/api/tasks/:id/${action}`,
    operationId: `${action}Task`,
    tag: 'Tasks',
    summary: ACTIONS[action].summary,
    description:
      'Sent to the case workflow as a Temporal Update. A lost race answers 409 with the current task in `task`.',
    params: { id: 'Task id' },
    body: ACTIONS[action].schema,
    idempotent: true,
    responses: { '200': taskResponse, ...problemResponses(400, 401, 403, 404, 409, 422, 503) },
    problems: [
      'task-not-open',
      'task-already-claimed',
      'task-claimed-by-other',
      'not-a-candidate',
      'separation-of-duties',
      'case-suspended',
      'task-suspended',
      'not-suspended',
      'case-ended',
    ],
  })),
  {
    method: 'patch',
    path: '/api/tasks/:id',
    operationId: 'editClosedTask',
    tag: 'Tasks',
    summary: 'Edits the form data or notes of a completed task (parameter allowEditClosedTasks); audited',
    params: { id: 'Task id' },
    body: editClosedSchema,
    idempotent: true,
    responses: { '200': taskResponse, ...problemResponses(400, 401, 403, 404, 409, 422, 503) },
    problems: ['edit-closed-tasks-disabled', 'task-not-closed'],
  },
];

/** Loads a task the caller may see, or answers 404 (unknown and foreign tasks look the same). */
export async function loadVisibleTask(ctx: ApiContext, caller: Caller, taskId: string, forAction = false) {
  const row = await findVisibleTask(ctx.db, caller, taskId, forAction);
  if (!row) throw ProblemError.notFound(`Task ${taskId}`);
  return row;
}

/** Checks that a user exists and is active; a 400 pointing at `pointer` otherwise. */
export async function requireActiveUser(db: Queryable, userId: string, pointer: string): Promise<void> {
  if (!(await isActiveUser(db, userId)))
    throw ProblemError.badRequest('Unknown user', [{ pointer, message: 'is not an active user' }]);
}

/** An instant of the read model (a timestamptz column) in epoch ms, or null. */
const instantOf = (value: unknown): number | null =>
  value === null || value === undefined ? null : new Date(value as string | Date).getTime();

/**
 * A follow-up date is when to look at a task again before it is due: one later than the due date (as the
 * change leaves them) is refused at the field the request changed.
 */
function checkSchedule(
  row: Record<string, unknown>,
  change: { dueAt?: number | null; followUpAt?: number | null },
): void {
  const due = change.dueAt !== undefined ? change.dueAt : instantOf(row.due_at);
  const followUp = change.followUpAt !== undefined ? change.followUpAt : instantOf(row.follow_up_at);
  if (due === null || followUp === null || followUp <= due) return;
  const pointer = change.followUpAt !== undefined ? '/body/followUpAt' : '/body/dueAt';
  throw ProblemError.badRequest('The follow-up date is after the due date', [
    {
      pointer,
      message:
        pointer === '/body/followUpAt'
          ? `must not be later than the due date (${new Date(due).toISOString()})`
          : `must not be earlier than the follow-up date (${new Date(followUp).toISOString()})`,
    },
  ]);
}

/** Validates form data against the form of the task's step, if it has one. */
async function checkForm(
  ctx: ApiContext,
  row: Record<string, unknown>,
  data: unknown,
  pointer: string,
): Promise<void> {
  if (!row.step) return;
  const stored = await cachedDefinition(ctx.db, row.case_type as string, row.definition_version as number);
  const step = stored?.definition.steps[row.step as string];
  if (step?.type === 'human' && step.form) check(step.form, data ?? {}, pointer, 'form data');
}

/**
 * Sends an action to the case workflow. A 409 carries the task as it is now, so the client can refresh
 * without another call.
 */
export async function actOnTask(
  ctx: ApiContext,
  row: Record<string, unknown>,
  event: ActorEvent,
  updateId: string | undefined,
): Promise<Outcome> {
  const caseId = row.case_id as string;
  const taskId = row.id as string;
  let result: ActionResult;
  try {
    result = await ctx.gateway.act(caseId, event, updateId);
  } catch (err) {
    if (err instanceof ProblemError && err.status === 409) {
      const current = await currentTask(ctx, caseId, taskId);
      if (current) err.extensions.task = current;
    }
    throw err;
  }
  // The update answers with the task as this action left it: no need to read it back.
  if (result.task) {
    const info = {
      caseId,
      caseType: row.case_type as string,
      title: row.case_title as string,
      status: result.case.status,
      entityName: (row.entity_name as string | null) ?? null,
    };
    return { status: 200, body: taskViewOf(info, result.task) };
  }
  const updated = await findTask(ctx.db, taskId);
  return { status: 200, body: taskView(updated ?? row) };
}

/**
 * Applies an edit of a completed task of a case whose workflow has ended, straight to the read model,
 * with the same audit entry the interpreter writes (`task.edited`, before and after).
 */
async function editEndedCase(
  ctx: ApiContext,
  caller: Caller,
  taskId: string,
  caseId: string,
  edit: ClosedTaskEdit,
): Promise<Outcome> {
  const updated = await editEndedCaseTask(ctx.db, { caseId, taskId, actor: caller.userId, edit });
  return { status: 200, body: taskView(updated) };
}

export function taskRoutes(ctx: ApiContext): Router {
  const router = Router();

  router.get('/tasks/:id', async (req, res) => {
    noQuery(req);
    const caller = callerOf(req);
    const row = await loadVisibleTask(ctx, caller, req.params.id);
    const history = await taskEvents(ctx.db, row.case_id as string, row.id as string);
    res.json({ ...taskView(row), history });
  });

  router.get('/tasks/:id/history', async (req, res) => {
    noQuery(req);
    const caller = callerOf(req);
    const row = await loadVisibleTask(ctx, caller, req.params.id);
    res.json({ taskId: row.id, entries: await taskHistory(ctx.db, row.case_id as string, row.id as string) });
  });

  for (const action of Object.keys(ACTIONS) as ActionName[]) {
    router.post(`/tasks/:id/${action}`, async (req, res) => {
      const caller = callerOf(req);
      const spec = ACTIONS[action];
      const body = spec.eventOf(req.body ?? {});
      idempotencyHeader(req);
      const row = await loadVisibleTask(ctx, caller, req.params.id, true);
      const event: ActorEvent = { ...body, taskId: row.id as string, actor: caller };
      if (event.type === 'assign') await requireActiveUser(ctx.db, event.assignee, '/body/assignee');
      if (event.type === 'delegate') await requireActiveUser(ctx.db, event.to, '/body/to');
      if (event.type === 'complete') await checkForm(ctx, row, event.data, '/body/data');
      if (event.type === 'reschedule') checkSchedule(row, event);
      await idempotent(ctx.db, req, res, caller, (key) =>
        actOnTask(
          ctx,
          row,
          event,
          key === undefined ? undefined : `${caller.userId}:${row.id}:${action}:${key}`,
        ),
      );
    });
  }

  router.patch('/tasks/:id', async (req, res) => {
    const caller = callerOf(req);
    const edit = check(editClosedSchema, req.body ?? {}, '/body');
    idempotencyHeader(req);
    const row = await loadVisibleTask(ctx, caller, req.params.id);
    const allowed = await readParameter<boolean>(ctx.db, EDIT_CLOSED_PARAMETER);
    if (allowed !== true) {
      throw new ProblemError(
        409,
        'edit-closed-tasks-disabled',
        'Editing closed tasks is disabled',
        `Completed tasks cannot be edited while the parameter ${EDIT_CLOSED_PARAMETER} is off`,
        { parameter: EDIT_CLOSED_PARAMETER },
      );
    }
    if (row.status !== 'completed') {
      throw new ProblemError(
        409,
        'task-not-closed',
        'task not closed',
        `Task ${row.id} is ${row.status}, not completed`,
        {
          code: 'TASK_NOT_CLOSED',
          task: taskView(row),
        },
      );
    }
    if (edit.data !== undefined) await checkForm(ctx, row, edit.data, '/body/data');
    const event: ActorEvent = {
      type: 'editClosed',
      taskId: row.id as string,
      actor: caller,
      ...(edit.data !== undefined ? { data: edit.data } : {}),
      ...(edit.notes !== undefined ? { notes: edit.notes } : {}),
    };
    await idempotent(ctx.db, req, res, caller, async (key) => {
      try {
        return await actOnTask(
          ctx,
          row,
          event,
          key === undefined ? undefined : `${caller.userId}:${row.id}:edit:${key}`,
        );
      } catch (err) {
        // The gateway's "case ended" without an engine code means the workflow is gone: edit the read model.
        if (err instanceof ProblemError && err.slug === 'case-ended' && err.extensions.code === undefined) {
          return editEndedCase(ctx, caller, row.id as string, row.case_id as string, edit);
        }
        throw err;
      }
    });
  });

  return router;
}
