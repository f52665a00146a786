/** Team membership rules the task services and the CRM share (issue 15). */
import type { Queryable } from '../db';
import { InvalidInputError } from '../lib/domain-errors';

/**
 * A team's tasks go only to a member of the team who works tasks (an agent or a supervisor): another team's
 * agent, a designer or an administrator outside the team would hold a task the team's board no longer shows.
 * A 400 at `pointer` otherwise.
 */
export async function requireTeamAssignee(
  db: Queryable,
  teamId: string,
  userId: string,
  pointer: string,
): Promise<void> {
  const [row] = await db.query<{ role: string; member: boolean }>(
    `SELECT u.role, EXISTS (SELECT 1 FROM team_members m WHERE m.team_id = $1 AND m.user_id = u.id) AS member
     FROM users u WHERE u.id = $2`,
    [teamId, userId],
  );
  if (!row) throw new InvalidInputError(`No user ${userId}`, [{ pointer, message: 'is not a user' }]);
  if (!row.member)
    throw new InvalidInputError(`${userId} is not a member of team ${teamId}`, [
      { pointer, message: `must be a member of team ${teamId}` },
    ]);
  if (row.role !== 'agent' && row.role !== 'supervisor')
    throw new InvalidInputError(`${userId} is a ${row.role}, who does not work tasks`, [
      { pointer, message: 'must be an agent or a supervisor of the team' },
    ]);
}
