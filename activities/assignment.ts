import type { Db } from '../db';

/** How long a pick is remembered for a retry of the activity that made it. */
const PICK_MEMORY = '7 days';

/**
 * Picks a team member for a task. Round-robin: the next active member after the last one picked, in user id
 * order, wrapping round (a member who joins gets a turn when the order reaches them; inactive members are
 * skipped). The team's cursor row is locked while it moves, so concurrent picks take successive turns.
 * With a `key` (the activity attempt's identity) a retry returns the member picked the first time.
 * Least-busy: the member with the fewest open tasks. Ties break by user id, so the choice is stable.
 * Supervisor: the team's supervisor, if active. Null when nobody fits (no active member, no supervisor).
 * `exclude` (four eyes: who did a step this task must be checked apart from) is never picked; round-robin
 * passes over them without using up their turn.
 */
export async function pickAssignee(
  db: Db,
  team: string,
  strategy: 'round-robin' | 'least-busy' | 'supervisor',
  key?: string,
  exclude: string[] = [],
): Promise<string | null> {
  if (strategy === 'supervisor') {
    const rows = await db.query<{ id: string }>(
      `SELECT u.id FROM teams t JOIN users u ON u.id = t.supervisor_id AND u.active
       WHERE t.id = $1 AND NOT (u.id = ANY ($2::text[]))`,
      [team, exclude],
    );
    return rows[0]?.id ?? null;
  }
  if (strategy === 'least-busy') {
    const rows = await db.query<{ user_id: string }>(
      `SELECT tm.user_id FROM team_members tm JOIN users u ON u.id = tm.user_id AND u.active
       LEFT JOIN tasks t ON t.assignee = tm.user_id AND t.status = 'open'
       WHERE tm.team_id = $1 AND NOT (tm.user_id = ANY ($2::text[]))
       GROUP BY tm.user_id ORDER BY count(t.id), tm.user_id LIMIT 1`,
      [team, exclude],
    );
    return rows[0]?.user_id ?? null;
  }
  return db.transaction(async (tx) => {
    if (key !== undefined) {
      const [done] = await tx.query<{ user_id: string }>(
        'SELECT user_id FROM round_robin_picks WHERE pick_key = $1',
        [key],
      );
      if (done) return done.user_id;
    }
    // The team may not exist (a definition naming an unknown team): no cursor, no member.
    await tx.query(
      `INSERT INTO round_robin_cursors (team_id) SELECT id FROM teams WHERE id = $1 ON CONFLICT DO NOTHING`,
      [team],
    );
    const [cursor] = await tx.query<{ last_user_id: string | null }>(
      'SELECT last_user_id FROM round_robin_cursors WHERE team_id = $1 FOR UPDATE',
      [team],
    );
    if (!cursor) return null;
    // After the last one picked; past the end, from the start again.
    const [next] = await tx.query<{ user_id: string }>(
      `SELECT tm.user_id FROM team_members tm JOIN users u ON u.id = tm.user_id AND u.active
       WHERE tm.team_id = $1 AND NOT (tm.user_id = ANY ($3::text[]))
       ORDER BY ($2::text IS NOT NULL AND tm.user_id <= $2::text), tm.user_id LIMIT 1`,
      [team, cursor.last_user_id, exclude],
    );
    if (!next) return null;
    await tx.query(
      `UPDATE round_robin_cursors SET last_user_id = $2, picks = picks + 1, updated_at = now() WHERE team_id = $1`,
      [team, next.user_id],
    );
    if (key !== undefined) {
      await tx.query(
        `DELETE FROM round_robin_picks WHERE team_id = $1 AND picked_at < now() - $2::interval`,
        [team, PICK_MEMORY],
      );
      await tx.query('INSERT INTO round_robin_picks (pick_key, team_id, user_id) VALUES ($1, $2, $3)', [
        key,
        team,
        next.user_id,
      ]);
    }
    return next.user_id;
  });
}
