import { Router } from 'express';
import { callerOf } from '../auth';
import type { ApiContext } from '../context';
import { check } from '../validation';
import { TASK_COLUMNS, taskView } from '../views';

const querySchema = {
  type: 'object',
  properties: { limit: { type: 'string', pattern: '^[0-9]{1,6}$' } },
  additionalProperties: false,
};

export function inboxRoutes(ctx: ApiContext): Router {
  const router = Router();

  /** My open tasks and my teams' unclaimed ones, most urgent first. */
  router.get('/inbox', async (req, res) => {
    const caller = callerOf(req);
    const query = check<{ limit?: string }>(querySchema, { ...req.query }, '/query');
    const limit = Math.min(Math.max(Number(query.limit ?? 50), 1), ctx.maxPageSize);
    const rows = await ctx.db.query(
      `SELECT ${TASK_COLUMNS} FROM tasks t
       WHERE t.status = 'open' AND (t.assignee = $1 OR (t.assignee IS NULL AND (t.candidate_teams && $2::text[] OR $3 = ANY(t.candidate_roles))))
       ORDER BY t.due_at NULLS LAST, t.priority_rank DESC, t.id LIMIT $4`,
      [caller.userId, caller.teams, caller.role, limit],
    );
    res.json({ items: rows.map((r) => taskView(r)) });
  });

  return router;
}
