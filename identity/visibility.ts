/** Which tasks and cases a person may see, as SQL predicates (the task services and the CRM policy share them) and checks. */
import type { Queryable } from '../db';
import type { UserRole } from './users';

/** Who is asking: a user with their role, teams and what they supervise (the API's `Caller` is one). */
export interface Principal {
  userId: string;
  role: UserRole;
  email: string;
  /** Teams the user belongs to. */
  teams: string[];
  /** Teams the user supervises (supervisors and administrators only). */
  supervisedTeams: string[];
  /** Members of the supervised teams. */
  supervisedUsers: string[];
}

/**
 * SQL predicate over `tasks t` for tasks the caller may see: their own (assigned, delegated by them,
 * completed by them), their teams' unclaimed ones, those of teams they supervise, or everything for admins.
 * With `forAction`, also their teams' tasks claimed by someone else, so a lost claim race gets a 409.
 * Parameters are appended to `params`; the returned text references them by position.
 */
export function visibleTaskSql(
  caller: Principal,
  params: unknown[],
  alias = 't',
  options: { forAction?: boolean } = {},
): string {
  if (caller.role === 'admin') return 'true';
  // Acting on a teammate's claimed task must answer 409 (a lost race), not 404: candidates know it exists.
  const claimable = options.forAction ? 'true' : `${alias}.assignee IS NULL`;
  params.push(caller.userId, caller.teams, caller.role, caller.supervisedTeams, caller.supervisedUsers);
  const n = params.length;
  const [me, teams, role, supTeams, supUsers] = [n - 4, n - 3, n - 2, n - 1, n].map((i) => `$${i}`);
  return `(${alias}.assignee = ${me} OR ${alias}.delegated_by = ${me} OR ${alias}.completed_by = ${me}
    OR (${claimable} AND (${alias}.candidate_teams && ${teams}::text[] OR ${role} = ANY(${alias}.candidate_roles)))
    OR ${alias}.candidate_teams && ${supTeams}::text[] OR ${alias}.assignee = ANY(${supUsers}::text[]))`;
}

/** SQL predicate over `cases c` for cases the caller may see: owned, or holding a task they may see. */
export function visibleCaseSql(caller: Principal, params: unknown[], alias = 'c'): string {
  if (caller.role === 'admin') return 'true';
  const tasks = visibleTaskSql(caller, params, 'vt');
  params.push(caller.userId);
  return `(${alias}.owner_id = $${params.length} OR EXISTS (SELECT 1 FROM tasks vt WHERE vt.case_id = ${alias}.id AND ${tasks}))`;
}

/** Whether the case exists and the caller may see it. */
export async function isCaseVisible(db: Queryable, caller: Principal, caseId: string): Promise<boolean> {
  const params: unknown[] = [caseId];
  const [visible] = await db.query(
    `SELECT c.id FROM cases c WHERE c.id = $1 AND ${visibleCaseSql(caller, params)}`,
    params,
  );
  return visible !== undefined;
}
