/**
 * The task rows of the read model as the task routes read and, for ended cases, edit them. Rows are
 * selected with TASK_COLUMNS (over `tasks t`), which the API's task view maps.
 */
import type { Db, Queryable, Row } from '../db';
import { visibleTaskSql, type Principal } from '../identity/visibility';
import { ConflictError } from '../lib/domain-errors';

/** Every column a task view shows, over `tasks t`. */
export const TASK_COLUMNS = `t.id, t.case_id, t.step, t.action, t.title, t.description, t.status, t.assignee,
  t.candidate_teams, t.candidate_roles, t.priority, t.due_at, t.follow_up_at, t.created_at, t.claimed_at,
  t.completed_at, t.completed_by, t.outcome, t.form_data, t.notes, t.delegated_by, t.escalation_level, t.comments,
  t.case_type, t.case_title, t.case_status, t.entity_name, t.version, t.on_hold_since`;

/**
 * A task `caller` may see (to act on it, with `forAction`), with its case's definition version; undefined
 * when unknown or foreign alike.
 */
export async function findVisibleTask(
  db: Queryable,
  caller: Principal,
  taskId: string,
  forAction = false,
): Promise<Row | undefined> {
  const params: unknown[] = [taskId];
  const [row] = await db.query(
    `SELECT ${TASK_COLUMNS}, c.definition_version FROM tasks t JOIN cases c ON c.id = t.case_id
     WHERE t.id = $1 AND ${visibleTaskSql(caller, params, 't', { forAction })}`,
    params,
  );
  return row;
}

/** A task's row as it is now, or undefined. */
export async function findTask(db: Queryable, taskId: string): Promise<Row | undefined> {
  const [row] = await db.query(`SELECT ${TASK_COLUMNS} FROM tasks t WHERE t.id = $1`, [taskId]);
  return row;
}

/** A task's own timeline entries, oldest first (at most 5,000). */
export function taskEvents(db: Queryable, caseId: string, taskId: string): Promise<Row[]> {
  return db.query(
    'SELECT seq, at, kind, actor, detail FROM case_events WHERE case_id = $1 AND task_id = $2 ORDER BY seq LIMIT 5000',
    [caseId, taskId],
  );
}

/** What an edit of a closed task may change (never the outcome). */
export interface ClosedTaskEdit {
  data?: Record<string, unknown>;
  notes?: string;
}

/**
 * Edits a completed task of a case whose workflow has ended, straight in the read model, with the audit
 * entry the interpreter writes (`task.edited`, before and after), and returns the task as it is then. A task
 * that is not completed is a conflict (`task-not-closed`).
 */
export function editEndedCaseTask(
  db: Db,
  input: { caseId: string; taskId: string; actor: string; edit: ClosedTaskEdit },
): Promise<Row> {
  const { caseId, taskId, actor, edit } = input;
  return db.transaction(async (tx) => {
    // The case row lock serializes timeline sequence numbers of concurrent direct edits.
    await tx.query('SELECT 1 FROM cases WHERE id = $1 FOR UPDATE', [caseId]);
    const [task] = await tx.query<{ status: string; form_data: unknown; notes: string | null }>(
      'SELECT status, form_data, notes FROM tasks WHERE id = $1 FOR UPDATE',
      [taskId],
    );
    if (!task || task.status !== 'completed') {
      throw new ConflictError('task-not-closed', 'task not closed', `Task ${taskId} is not completed`, {
        code: 'TASK_NOT_CLOSED',
      });
    }
    const before = { formData: task.form_data ?? null, notes: task.notes ?? null };
    const after = {
      formData: edit.data !== undefined ? edit.data : before.formData,
      notes: edit.notes !== undefined ? edit.notes : before.notes,
    };
    await tx.query('UPDATE tasks SET form_data = $2, notes = $3, version = version + 1 WHERE id = $1', [
      taskId,
      after.formData === null ? null : JSON.stringify(after.formData),
      after.notes,
    ]);
    await tx.query(
      `INSERT INTO case_events (case_id, seq, at, kind, actor, task_id, detail)
       SELECT $1, COALESCE(MAX(seq), 0) + 1, now(), 'task.edited', $2, $3, $4 FROM case_events WHERE case_id = $1`,
      [caseId, actor, taskId, JSON.stringify({ before, after })],
    );
    const [updated] = await tx.query(`SELECT ${TASK_COLUMNS} FROM tasks t WHERE t.id = $1`, [taskId]);
    return updated ?? {};
  });
}
