/** Teams: their members and supervisor, as the identity and board routes read and change them. */
import { randomBytes } from 'node:crypto';
import type { Queryable } from '../db';
import { ConflictError, InvalidInputError, NotFoundError } from '../lib/domain-errors';

/** A person as a team lists them. */
export type TeamRef = {
  id: string;
  name: string;
};

/** A team with its supervisor and members, as GET /api/teams/:id answers. */
export interface TeamView {
  id: string;
  name: string;
  supervisor: TeamRef | null;
  members: { id: string; name: string; role: string }[];
  createdAt: string;
}

const notFound = (what: string) => new NotFoundError('not-found', 'Not found', `${what} was not found`);

/** Whether a Postgres error is a unique violation (23505). */
const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === '23505';

/** The teams a user belongs to and supervises, as {id, name}. */
export async function teamsOf(
  db: Queryable,
  userId: string,
): Promise<{ teams: TeamRef[]; supervisedTeams: TeamRef[] }> {
  const [row] = await db.query<{ teams: TeamRef[]; supervised: TeamRef[] }>(
    `SELECT COALESCE((SELECT json_agg(json_build_object('id', t.id, 'name', t.name) ORDER BY t.id)
              FROM team_members m JOIN teams t ON t.id = m.team_id WHERE m.user_id = $1), '[]') AS teams,
            COALESCE((SELECT json_agg(json_build_object('id', t.id, 'name', t.name) ORDER BY t.id)
              FROM teams t WHERE t.supervisor_id = $1), '[]') AS supervised`,
    [userId],
  );
  return { teams: row?.teams ?? [], supervisedTeams: row?.supervised ?? [] };
}

/** A team with its supervisor and members; 404 not-found when there is none. */
export async function teamView(db: Queryable, id: string): Promise<TeamView> {
  const [team] = await db.query<{
    id: string;
    name: string;
    created_at: string;
    supervisor: TeamRef | null;
    members: { id: string; name: string; role: string }[];
  }>(
    `SELECT t.id, t.name, t.created_at,
       (SELECT json_build_object('id', s.id, 'name', s.name) FROM users s WHERE s.id = t.supervisor_id) AS supervisor,
       COALESCE((SELECT json_agg(json_build_object('id', u.id, 'name', u.name, 'role', u.role) ORDER BY u.id)
         FROM team_members m JOIN users u ON u.id = m.user_id WHERE m.team_id = t.id), '[]') AS members
     FROM teams t WHERE t.id = $1`,
    [id],
  );
  if (!team) throw notFound(`Team ${id}`);
  return {
    id: team.id,
    name: team.name,
    supervisor: team.supervisor,
    members: team.members,
    createdAt: team.created_at,
  };
}

/**
 * The teams someone sees (every team with `all`, else those in `teams` or supervised by `userId`), by id, at
 * most 1000, in the shape of `teamView`.
 */
export function listTeams(
  db: Queryable,
  scope: { all: boolean; teams: string[]; userId: string },
): Promise<Record<string, unknown>[]> {
  return db.query(
    `SELECT t.id, t.name, t.created_at AS "createdAt",
       (SELECT json_build_object('id', s.id, 'name', s.name) FROM users s WHERE s.id = t.supervisor_id) AS supervisor,
       COALESCE((SELECT json_agg(json_build_object('id', u.id, 'name', u.name, 'role', u.role) ORDER BY u.id)
         FROM team_members m JOIN users u ON u.id = m.user_id WHERE m.team_id = t.id), '[]') AS members
     FROM teams t WHERE $1 OR t.id = ANY($2::text[]) OR t.supervisor_id = $3 ORDER BY t.id LIMIT 1000`,
    [scope.all, scope.teams, scope.userId],
  );
}

/** A team's id and name, or undefined. */
export async function findTeam(db: Queryable, id: string): Promise<TeamRef | undefined> {
  const [team] = await db.query<TeamRef>('SELECT id, name FROM teams WHERE id = $1', [id]);
  return team;
}

/** 400 at `pointer` unless `userId` is an active supervisor or administrator. */
export async function requireSupervisorUser(db: Queryable, userId: string, pointer: string): Promise<void> {
  const [user] = await db.query<{ role: string }>('SELECT role FROM users WHERE id = $1 AND active', [
    userId,
  ]);
  if (!user || (user.role !== 'supervisor' && user.role !== 'admin')) {
    throw new InvalidInputError('A team supervisor must be an active supervisor or administrator', [
      { pointer, message: 'is not an active supervisor or administrator' },
    ]);
  }
}

/**
 * Creates a team (id default `team-<random hex>`) and returns its id; 409 already-exists when the id is
 * taken. The supervisor, when given, must have passed `requireSupervisorUser`.
 */
export async function createTeam(
  db: Queryable,
  input: { id?: string; name: string; supervisorId?: string | null },
): Promise<string> {
  const id = input.id ?? `team-${randomBytes(6).toString('hex')}`;
  try {
    await db.query('INSERT INTO teams (id, name, supervisor_id) VALUES ($1, $2, $3)', [
      id,
      input.name,
      input.supervisorId ?? null,
    ]);
  } catch (err) {
    if (isUniqueViolation(err))
      throw new ConflictError('already-exists', 'Already exists', `Team ${id} already exists`);
    throw err;
  }
  return id;
}

/** Sets (or, with null, removes) a team's supervisor; 404 not-found when there is no such team. */
export async function setTeamSupervisor(db: Queryable, teamId: string, userId: string | null): Promise<void> {
  const updated = await db.query('UPDATE teams SET supervisor_id = $2 WHERE id = $1 RETURNING id', [
    teamId,
    userId,
  ]);
  if (updated.length === 0) throw notFound(`Team ${teamId}`);
}

/** Adds a user to a team (idempotent); 404 not-found when the team, then the user, does not exist. */
export async function addTeamMember(db: Queryable, teamId: string, userId: string): Promise<void> {
  const rows = await db.query<{ team: string | null; usr: string | null }>(
    `SELECT (SELECT id FROM teams WHERE id = $1) AS team, (SELECT id FROM users WHERE id = $2) AS usr`,
    [teamId, userId],
  );
  if (!rows[0]?.team) throw notFound(`Team ${teamId}`);
  if (!rows[0]?.usr) throw notFound(`User ${userId}`);
  await db.query('INSERT INTO team_members (team_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
    teamId,
    userId,
  ]);
}

/** Removes a user from a team (idempotent); 404 not-found when there is no such team. */
export async function removeTeamMember(db: Queryable, teamId: string, userId: string): Promise<void> {
  const [team] = await db.query('SELECT id FROM teams WHERE id = $1', [teamId]);
  if (!team) throw notFound(`Team ${teamId}`);
  await db.query('DELETE FROM team_members WHERE team_id = $1 AND user_id = $2', [teamId, userId]);
}

/** Whether `userId` is a member of one of `teamIds`. */
export async function isMemberOfAny(db: Queryable, userId: string, teamIds: string[]): Promise<boolean> {
  const [member] = await db.query(
    'SELECT 1 FROM team_members WHERE user_id = $1 AND team_id = ANY($2::text[])',
    [userId, teamIds],
  );
  return member !== undefined;
}

/** Whether a team exists. */
export async function teamExists(db: Queryable, id: string): Promise<boolean> {
  const [team] = await db.query('SELECT 1 FROM teams WHERE id = $1', [id]);
  return team !== undefined;
}
