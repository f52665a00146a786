/** Cases and the definition version they run: the running cases of a version, the steps a case has visited. */
import type { Queryable } from '../db';

/** The ids of the running cases of a case type's version, oldest first, at most `limit`. */
export async function runningCasesOfVersion(
  db: Queryable,
  caseType: string,
  version: number,
  limit: number,
): Promise<string[]> {
  const rows = await db.query<{ id: string }>(
    'SELECT id FROM cases WHERE case_type = $1 AND definition_version = $2 AND ended_at IS NULL ORDER BY created_at LIMIT $3',
    [caseType, version, limit],
  );
  return rows.map((r) => r.id);
}

/** The steps of a case's definition that have had a task (each once). */
export async function visitedSteps(db: Queryable, caseId: string): Promise<string[]> {
  const rows = await db.query<{ step: string }>(
    'SELECT DISTINCT step FROM tasks WHERE case_id = $1 AND step IS NOT NULL',
    [caseId],
  );
  return rows.map((r) => r.step);
}
