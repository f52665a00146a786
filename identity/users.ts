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

/** A user by id, or undefined. */
export async function findUser(db: Queryable, id: string): Promise<UserRow | undefined> {
  const [user] = await db.query<UserRow>('SELECT * FROM users WHERE id = $1', [id]);
  return user;
}

/** Whether `id` is an active user. */
export async function isActiveUser(db: Queryable, id: string): Promise<boolean> {
  const [user] = await db.query('SELECT id FROM users WHERE id = $1 AND active', [id]);
  return user !== undefined;
}

/** Whether a user (active or not) has this id. */
export async function userExists(db: Queryable, id: string): Promise<boolean> {
  const [user] = await db.query('SELECT 1 FROM users WHERE id = $1', [id]);
  return user !== undefined;
}

/** A filter and page of the user list: ids after `after`, at most `limit`, by id. */
export interface UserListQuery {
  role?: string;
  team?: string;
  after: string | null;
  limit: number;
}

/** Users by id, filtered by role and team membership. */
export function listUsers(db: Queryable, query: UserListQuery): Promise<UserRow[]> {
  return db.query<UserRow>(
    `SELECT u.* FROM users u
     WHERE ($1::text IS NULL OR u.role = $1) AND ($2::text IS NULL OR u.id > $2)
       AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM team_members m WHERE m.user_id = u.id AND m.team_id = $3))
     ORDER BY u.id LIMIT $4`,
    [query.role ?? null, query.after, query.team ?? null, query.limit],
  );
}

/** What an administrator may change of a user; absent fields stay. */
export interface UserChanges {
  name?: string;
  email?: string;
  role?: string;
  locale?: string;
  active?: boolean;
}

/** Changes a user; undefined when there is no such user. */
export async function updateUser(
  db: Queryable,
  id: string,
  changes: UserChanges,
): Promise<UserRow | undefined> {
  const [user] = await db.query<UserRow>(
    `UPDATE users SET name = COALESCE($2, name), email = COALESCE($3, email), role = COALESCE($4, role),
       locale = COALESCE($5, locale), active = COALESCE($6, active)
     WHERE id = $1 RETURNING *`,
    [
      id,
      changes.name ?? null,
      changes.email ?? null,
      changes.role ?? null,
      changes.locale ?? null,
      changes.active ?? null,
    ],
  );
  return user;
}

/** A user as their own session shows them: the web app's language and time zone included. */
export type ProfileRow = {
  id: string;
  name: string;
  email: string;
  role: string;
  ui_locale: 'es' | 'en' | null;
  time_zone: string | null;
};

/** A user's profile, or undefined. */
export async function findProfile(db: Queryable, id: string): Promise<ProfileRow | undefined> {
  const [user] = await db.query<ProfileRow>(
    'SELECT id, name, email, role, ui_locale, time_zone FROM users WHERE id = $1',
    [id],
  );
  return user;
}

/**
 * The active users with a password whose address is `email` (case-insensitively, trimmed), at most two: sign-in
 * refuses an address several users share.
 */
export function signInCandidates(
  db: Queryable,
  email: string,
): Promise<{ id: string; password_hash: string }[]> {
  return db.query<{ id: string; password_hash: string }>(
    `SELECT id, password_hash FROM users
     WHERE lower(email) = lower($1) AND active AND password_hash IS NOT NULL LIMIT 2`,
    [email.trim()],
  );
}

/** A user's own settings: the web app's language (`locale`, also their email language) and time zone. */
export interface Preferences {
  locale?: 'es' | 'en' | null;
  timeZone?: string | null;
}

/** Stores the preferences given; a field absent stays, a null one follows the browser again. */
export async function updatePreferences(db: Queryable, userId: string, prefs: Preferences): Promise<void> {
  await db.query(
    `UPDATE users SET
       ui_locale = CASE WHEN $2 THEN $3 ELSE ui_locale END,
       locale = COALESCE($3, locale),
       time_zone = CASE WHEN $4 THEN $5 ELSE time_zone END
     WHERE id = $1`,
    [userId, 'locale' in prefs, prefs.locale ?? null, 'timeZone' in prefs, prefs.timeZone ?? null],
  );
}

/** Who an account email goes to. */
export type AccountRecipient = {
  id: string;
  name: string;
  email: string;
  locale: string;
  time_zone: string | null;
};

/** An active user as an account email's recipient, or undefined. */
export async function activeRecipient(db: Queryable, id: string): Promise<AccountRecipient | undefined> {
  const [user] = await db.query<AccountRecipient>(
    'SELECT id, name, email, locale, time_zone FROM users WHERE id = $1 AND active',
    [id],
  );
  return user;
}

/** The active users whose address is `email` (case-insensitively, trimmed), at most two. */
export function activeRecipientsByEmail(db: Queryable, email: string): Promise<AccountRecipient[]> {
  return db.query<AccountRecipient>(
    'SELECT id, name, email, locale, time_zone FROM users WHERE lower(email) = lower($1) AND active LIMIT 2',
    [email.trim()],
  );
}
