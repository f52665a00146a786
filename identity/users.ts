import { randomBytes } from 'node:crypto';
import type { Db, Queryable } from '../db';
import { ConflictError, InvalidInputError, NotFoundError } from '../lib/domain-errors';
import { hashPassword } from '../lib/passwords';

/** The roles a person can have (`system` is the engine's own actor, never a user). */
export const USER_ROLES = ['agent', 'supervisor', 'designer', 'admin'] as const;
export type UserRole = (typeof USER_ROLES)[number];

/** A row of `users`, as the identity routes and the admin CLI read it. */
export type UserRow = {
  id: string;
  name: string;
  email: string;
  role: UserRole;
  locale: string;
  active: boolean;
  password_hash: string | null;
  created_at: string;
};

export interface NewUser {
  /** Default: `u-<random hex>`. */
  id?: string;
  name: string;
  email: string;
  role: UserRole;
  locale?: string;
  /** In clear, already checked with `passwordProblem`; stored as a scrypt hash only. */
  password?: string;
  /** Existing team ids the user joins. */
  teams?: string[];
}

const alreadyExists = (detail: string) => new ConflictError('already-exists', 'Already exists', detail);

/** Whether a Postgres error is a unique violation (23505). */
const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === '23505';

/** Arbitrary namespace of the advisory locks that serialize creating users with the same address. */
const EMAIL_LOCK = 724_311_066;

/**
 * Creates a user, and their team memberships, in one transaction. Refuses (409 already-exists) an id that
 * exists and an address another user has (case-insensitively: sign-in refuses addresses several users
 * share); an unknown team is invalid input (400, pointer `/teams/<i>`).
 */
export async function createUser(db: Db, input: NewUser): Promise<UserRow> {
  const id = input.id ?? `u-${randomBytes(6).toString('hex')}`;
  const passwordHash = input.password === undefined ? null : await hashPassword(input.password);
  const teams = input.teams ?? [];
  try {
    return await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1, hashtext(lower($2)))', [EMAIL_LOCK, input.email]);
      const [taken] = await tx.query<{ id: string }>(
        'SELECT id FROM users WHERE lower(email) = lower($1) LIMIT 1',
        [input.email],
      );
      if (taken) throw alreadyExists(`A user with the email ${input.email} already exists (${taken.id})`);
      const known = await tx.query<{ id: string }>('SELECT id FROM teams WHERE id = ANY($1::text[])', [
        teams,
      ]);
      const missing = teams.findIndex((t) => !known.some((k) => k.id === t));
      if (missing >= 0)
        throw new InvalidInputError(`Team ${teams[missing]} does not exist`, [
          { pointer: `/teams/${missing}`, message: 'is not a team' },
        ]);
      const [user] = await tx.query<UserRow>(
        `INSERT INTO users (id, name, email, role, locale, password_hash, password_changed_at)
         VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $6::text IS NULL THEN NULL ELSE now() END) RETURNING *`,
        [id, input.name, input.email, input.role, input.locale ?? 'en', passwordHash],
      );
      await tx.query(
        `INSERT INTO team_members (team_id, user_id) SELECT t, $2 FROM unnest($1::text[]) t ON CONFLICT DO NOTHING`,
        [teams, id],
      );
      return user as UserRow;
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw alreadyExists(`User ${id} already exists`);
    throw err;
  }
}

/** The users whose address is `email` (case-insensitively); more than one only in data older than that rule. */
export function usersByEmail(db: Queryable, email: string): Promise<UserRow[]> {
  return db.query<UserRow>('SELECT * FROM users WHERE lower(email) = lower($1) ORDER BY id LIMIT 2', [
    email.trim(),
  ]);
}

/** The one user with this address; 404 not-found when none, 409 when several share it. */
export async function userByEmail(db: Queryable, email: string): Promise<UserRow> {
  const users = await usersByEmail(db, email);
  if (users.length === 0) throw new NotFoundError('not-found', 'Not found', `No user has the email ${email}`);
  if (users.length > 1)
    throw new ConflictError(
      'email-shared',
      'Several users share the address',
      `Several users share the email ${email}; change one of them first`,
    );
  return users[0] as UserRow;
}

/** Every user with the ids of their teams, by id (the admin CLI's listing; at most `limit`). */
export function listUsersWithTeams(
  db: Queryable,
  limit = 10_000,
): Promise<(UserRow & { teams: string[] })[]> {
  return db.query<UserRow & { teams: string[] }>(
    `SELECT u.*, COALESCE((SELECT array_agg(m.team_id ORDER BY m.team_id) FROM team_members m
                           WHERE m.user_id = u.id), '{}') AS teams
     FROM users u ORDER BY u.id LIMIT $1`,
    [limit],
  );
}
