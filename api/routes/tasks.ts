import { Router, type Request } from 'express';
import { definitionVersion } from '../../db/definitions';
import type { ActorEvent } from '../../engine/state';
import { callerOf, type Caller } from '../auth';
import { visibleTaskSql } from '../access';
import type { ApiContext } from '../context';
import { ProblemError } from '../problem';
import { check } from '../validation';
import { TASK_COLUMNS, taskView } from '../views';

const empty = { type: 'object', additionalProperties: false, maxProperties: 0 };
const userRef = { type: 'string', minLength: 1, maxLength: 100 };

/** Request bodies per action; each builds the interpreter event. */
const ACTIONS = {
  claim: { schema: empty, event: () => ({ type: 'claim' }) },
  unclaim: { schema: empty, event: () => ({ type: 'unclaim' }) },
  resolve: { schema: empty, event: () => ({ type: 'resolve' }) },
  assign: {
    schema: {
      type: 'object',
      properties: { assignee: userRef },
      required: ['assignee'],
      additionalProperties: false,
    },
    event: (b: { assignee: string }) => ({ type: 'assign', assignee: b.assignee }),
  },
  delegate: {
    schema: { type: 'object', properties: { to: userRef }, required: ['to'], additionalProperties: false },
    event: (b: { to: string }) => ({ type: 'delegate', to: b.to }),
  },
  comment: {
    schema: {
      type: 'object',
      properties: { text: { type: 'string', minLength: 1, maxLength: 5000 } },
      required: ['text'],
      additionalProperties: false,
    },
    event: (b: { text: string }) => ({ type: 'comment', text: b.text }),
  },
  complete: {
    schema: {
      type: 'object',
      properties: {
        outcome: { type: 'string', minLength: 1, maxLength: 100 },
        data: { type: 'object' },
        notes: { type: 'string', maxLength: 10000 },
      },
      required: ['outcome'],
      additionalProperties: false,
    },
    event: (b: { outcome: string; data?: Record<string, unknown>; notes?: string }) => ({
      type: 'complete',
      outcome: b.outcome,
      ...(b.data !== undefined ? { data: b.data } : {}),
      ...(b.notes !== undefined ? { notes: b.notes } : {}),
    }),
  },
} as const;

type ActionName = keyof typeof ACTIONS;

/** Loads a task the caller may see, or answers 404 (unknown and foreign tasks look the same). */
export async function loadVisibleTask(ctx: ApiContext, caller: Caller, taskId: string, forAction = false) {
  const params: unknown[] = [taskId];
  const rows = await ctx.db.query(
    `SELECT ${TASK_COLUMNS}, c.definition_version FROM tasks t JOIN cases c ON c.id = t.case_id
     WHERE t.id = $1 AND ${visibleTaskSql(caller, params, 't', { forAction })}`,
    params,
  );
  if (!rows[0]) throw ProblemError.notFound(`Task ${taskId}`);
  return rows[0];
}

/** The Idempotency-Key header, scoped to the caller so two users' keys never collide. */
export function idempotencyKey(req: Request, caller: Caller, scope: string): string | undefined {
  const key = req.get('idempotency-key');
  if (key === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,200}$/.test(key)) {
    throw ProblemError.badRequest('Invalid Idempotency-Key', [
      { pointer: '/headers/idempotency-key', message: 'must be 1-200 visible ASCII characters' },
    ]);
  }
  return `${caller.userId}:${scope}:${key}`;
}

export function taskRoutes(ctx: ApiContext): Router {
  const router = Router();

  router.get('/tasks/:id', async (req, res) => {
    const caller = callerOf(req);
    const row = await loadVisibleTask(ctx, caller, req.params.id);
    const history = await ctx.db.query(
      'SELECT seq, at, kind, actor, detail FROM case_events WHERE case_id = $1 AND task_id = $2 ORDER BY seq',
      [row.case_id, row.id],
    );
    res.json({ ...taskView(row), history });
  });

  router.post('/tasks/:id/:action', async (req, res) => {
    const caller = callerOf(req);
    const action = req.params.action as ActionName;
    if (!Object.hasOwn(ACTIONS, action)) throw ProblemError.notFound(`Action "${req.params.action}"`);
    const spec = ACTIONS[action];
    const body = check<never>(spec.schema, req.body ?? {}, '/body');
    const row = await loadVisibleTask(ctx, caller, req.params.id, true);
    const event = {
      ...(spec.event as (b: unknown) => object)(body),
      taskId: row.id as string,
      actor: caller,
    } as unknown as ActorEvent;

    if (event.type === 'assign' || event.type === 'delegate') {
      const target = event.type === 'assign' ? event.assignee : event.to;
      const [user] = await ctx.db.query('SELECT id FROM users WHERE id = $1 AND active', [target]);
      if (!user)
        throw ProblemError.badRequest('Unknown user', [
          {
            pointer: `/body/${event.type === 'assign' ? 'assignee' : 'to'}`,
            message: 'is not an active user',
          },
        ]);
    }
    if (event.type === 'complete' && row.step) {
      const stored = await definitionVersion(
        ctx.db,
        row.case_type as string,
        row.definition_version as number,
      );
      const step = stored?.definition.steps[row.step as string];
      if (step?.type === 'human' && step.form) check(step.form, event.data ?? {}, '/body/data', 'form data');
    }

    try {
      await ctx.gateway.act(row.case_id as string, event, idempotencyKey(req, caller, `${row.id}:${action}`));
    } catch (err) {
      // On a conflict the client gets the task's current state, to refresh without another call.
      if (err instanceof ProblemError && err.status === 409) {
        const [current] = await ctx.db.query(`SELECT ${TASK_COLUMNS} FROM tasks t WHERE t.id = $1`, [row.id]);
        if (current) err.extensions.task = taskView(current);
      }
      throw err;
    }
    const [updated] = await ctx.db.query(`SELECT ${TASK_COLUMNS} FROM tasks t WHERE t.id = $1`, [row.id]);
    res.json(taskView(updated ?? row));
  });

  return router;
}
