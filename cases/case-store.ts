/** The case rows of the read model as the case routes read them (written only by the projection). */
import type { Queryable, Row } from '../db';
import { visibleCaseSql, visibleTaskSql, type Principal } from '../identity/visibility';
import { TASK_COLUMNS } from './task-store';

/** A case `caller` may see, or undefined (unknown and foreign alike). */
export async function findVisibleCase(
  db: Queryable,
  caller: Principal,
  caseId: string,
): Promise<Row | undefined> {
  const params: unknown[] = [caseId];
  const [row] = await db.query(
    `SELECT c.* FROM cases c WHERE c.id = $1 AND ${visibleCaseSql(caller, params)}`,
    params,
  );
  return row;
}

/** A case's row as it is now, or undefined. */
export async function findCaseRow(db: Queryable, caseId: string): Promise<Row | undefined> {
  const [row] = await db.query('SELECT * FROM cases WHERE id = $1', [caseId]);
  return row;
}

/** A case's tasks, oldest first (TASK_COLUMNS); with `caller`, each says whether they may act on it (`visible`). */
export function caseTasks(db: Queryable, caseId: string, caller?: Principal): Promise<Row[]> {
  const params: unknown[] = [caseId];
  const visible = caller ? `, ${visibleTaskSql(caller, params)} AS visible` : '';
  return db.query(
    `SELECT ${TASK_COLUMNS}${visible} FROM tasks t WHERE t.case_id = $1 ORDER BY t.created_at, t.id`,
    params,
  );
}

/** A case's timeline, oldest first (at most 1,000 entries). */
export function caseTimeline(db: Queryable, caseId: string): Promise<Row[]> {
  return db.query(
    'SELECT seq, at, kind, actor, task_id, detail FROM case_events WHERE case_id = $1 ORDER BY seq LIMIT 1000',
    [caseId],
  );
}

/** The entity a new case names: its id, name and agent, or undefined. */
export async function entityForCase(
  db: Queryable,
  entityId: string,
): Promise<{ id: string; name: string; agent_id: string | null } | undefined> {
  const [row] = await db.query<{ id: string; name: string; agent_id: string | null }>(
    'SELECT id, name, agent_id FROM entities WHERE id = $1',
    [entityId],
  );
  return row;
}
