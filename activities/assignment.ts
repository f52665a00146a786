import type { Db } from '../db';

/**
 * Picks a team member for a task. Round-robin: the member assigned longest ago (never first);
 * least-busy: the member with the fewest open tasks. Ties break by user id, so the choice is stable.
 */
export async function pickAssignee(
  db: Db,
  team: string,
  strategy: 'round-robin' | 'least-busy',
): Promise<string | null> {
  const rows =
    strategy === 'least-busy'
      ? await db.query<{ user_id: string }>(
          `SELECT tm.user_id FROM team_members tm JOIN users u ON u.id = tm.user_id AND u.active
           LEFT JOIN tasks t ON t.assignee = tm.user_id AND t.status = 'open'
           WHERE tm.team_id = $1 GROUP BY tm.user_id ORDER BY count(t.id), tm.user_id LIMIT 1`,
          [team],
        )
      : await db.query<{ user_id: string }>(
          `SELECT tm.user_id FROM team_members tm JOIN users u ON u.id = tm.user_id AND u.active
           LEFT JOIN LATERAL (SELECT max(claimed_at) AS last FROM tasks t WHERE t.assignee = tm.user_id) l ON true
           WHERE tm.team_id = $1 ORDER BY l.last NULLS FIRST, tm.user_id LIMIT 1`,
          [team],
        );
  return rows[0]?.user_id ?? null;
}
