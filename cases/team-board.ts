/**
 * A team's board as its supervisor sees it: each member's open work, the team's unclaimed tasks, and which
 * tasks belong to the team. Task rows are selected with the columns the caller's view reads (`columns`, a
 * column list over `tasks t`).
 */
import type { Queryable, Row } from '../db';

/** A member's open tasks: how many, overdue, due today, and the next due time. */
export type MemberLoad = {
  id: string;
  name: string;
  pending: number;
  overdue: number;
  due_today: number;
  next_due: string | null;
};

/** The instants the board counts against: now, and the start and end of today in the board's time zone. */
export interface BoardTimes {
  now: string;
  dayStart: string;
  dayEnd: string;
}

/**
 * The team's members with their open work (by name), up to `limit` unclaimed open tasks of the team (by due
 * time, undated last), and how many unclaimed tasks there are and how many of them are overdue.
 */
export async function teamBoard(
  db: Queryable,
  teamId: string,
  times: BoardTimes,
  limit: number,
  columns: string,
): Promise<{
  members: MemberLoad[];
  unassigned: Row[];
  unassignedCount: { count: number; overdue: number };
}> {
  const [members, unassigned, counts] = await Promise.all([
    db.query<MemberLoad>(
      `SELECT u.id, u.name, count(t.id)::int AS pending,
         count(t.id) FILTER (WHERE t.due_at < $2)::int AS overdue,
         count(t.id) FILTER (WHERE t.due_at >= $3 AND t.due_at < $4)::int AS due_today,
         min(t.due_at) AS next_due
       FROM team_members m JOIN users u ON u.id = m.user_id
       LEFT JOIN tasks t ON t.assignee = m.user_id AND t.status = 'open'
       WHERE m.team_id = $1 GROUP BY u.id, u.name ORDER BY u.name, u.id`,
      [teamId, times.now, times.dayStart, times.dayEnd],
    ),
    db.query(
      `SELECT ${columns} FROM tasks t
       WHERE t.status = 'open' AND t.assignee IS NULL AND t.candidate_teams @> ARRAY[$1]::text[]
       ORDER BY COALESCE(t.due_at, 'infinity'::timestamptz), t.id LIMIT $2`,
      [teamId, limit],
    ),
    db.query<{ count: number; overdue: number }>(
      `SELECT count(*)::int AS count, count(*) FILTER (WHERE t.due_at < $2)::int AS overdue FROM tasks t
       WHERE t.status = 'open' AND t.assignee IS NULL AND t.candidate_teams @> ARRAY[$1]::text[]`,
      [teamId, times.now],
    ),
  ]);
  return { members, unassigned, unassignedCount: counts[0] ?? { count: 0, overdue: 0 } };
}

/** Whether a task is the team's: offered to the team, or assigned to one of its members. */
export async function isTeamTask(db: Queryable, taskId: string, teamId: string): Promise<boolean> {
  const [member] = await db.query(
    `SELECT 1 FROM tasks t WHERE t.id = $1 AND (t.candidate_teams @> ARRAY[$2]::text[]
       OR t.assignee IN (SELECT user_id FROM team_members WHERE team_id = $2))`,
    [taskId, teamId],
  );
  return member !== undefined;
}
