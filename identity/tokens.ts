import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from '../db';
import { InvalidInputError } from '../lib/domain-errors';

/** An API token as listed: never its secret, which exists in clear only in the answer that issued it. */
export interface ApiToken {
  id: string;
  userId: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  /** When it stops working on its own; null = until revoked. */
  expiresAt: string | null;
}

type TokenRow = {
  id: string;
  user_id: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  expires_at: string | null;
};

const TOKEN_COLUMNS = 'id, user_id, name, created_at, last_used_at, revoked_at, expires_at';

const tokenOf = (t: TokenRow): ApiToken => ({
  id: t.id,
  userId: t.user_id,
  name: t.name,
  createdAt: t.created_at,
  lastUsedAt: t.last_used_at,
  revokedAt: t.revoked_at,
  expiresAt: t.expires_at,
});

/** API tokens are random; only their SHA-256 is stored, so a database leak exposes no usable token. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A new token (shown once) and its id. */
export function generateToken(): { token: string; id: string } {
  return {
    token: `crm_${randomBytes(32).toString('base64url')}`,
    id: `tok_${randomBytes(8).toString('hex')}`,
  };
}

/** How long tokens may live (lib/config.ts `SecuritySettings`); 0 days: unbounded. */
export interface TokenLifetimes {
  tokenDefaultValidDays: number;
  tokenMaxValidDays: number;
}

const DAY_SECONDS = 86_400;

/** When a new token stops working: an instant, a lifetime from now, or neither (until revoked). */
export type TokenExpiry = { expiresAt?: string; validSeconds?: number };

/**
 * The expiry of a new token: `expiresAt` when asked (in the future, and within the maximum), the default
 * lifetime otherwise; none (until revoked) only when no default is configured. `pointer` names the field in
 * the caller's input.
 */
export function tokenExpiry(
  expiresAt: string | undefined,
  lifetimes: TokenLifetimes,
  pointer: string,
  now = Date.now(),
): TokenExpiry {
  if (expiresAt === undefined)
    return lifetimes.tokenDefaultValidDays > 0
      ? { validSeconds: lifetimes.tokenDefaultValidDays * DAY_SECONDS }
      : {};
  const seconds = Math.ceil((Date.parse(expiresAt) - now) / 1000);
  if (!Number.isFinite(seconds))
    throw new InvalidInputError('expiresAt is not a date-time', [{ pointer, message: 'is not a date-time' }]);
  if (seconds <= 0)
    throw new InvalidInputError('A token cannot expire in the past', [
      { pointer, message: 'must be in the future' },
    ]);
  const max = lifetimes.tokenMaxValidDays;
  if (max > 0 && seconds > max * DAY_SECONDS)
    throw new InvalidInputError(`A token may live at most ${max} days`, [
      { pointer, message: `must be at most ${max} days from now (TOKEN_MAX_VALID_DAYS)` },
    ]);
  return { expiresAt: new Date(Date.parse(expiresAt)).toISOString() };
}

/**
 * Stores a new token for a user and returns it in clear (the only time it exists in clear).
 * `expiresAt` or `validSeconds` bounds its life; without either the token works until revoked.
 */
export async function issueToken(
  db: Queryable,
  userId: string,
  name: string,
  options: TokenExpiry = {},
): Promise<{ id: string; token: string }> {
  const { token, id } = generateToken();
  await db.query(
    `INSERT INTO api_tokens (id, user_id, token_hash, name, expires_at)
     VALUES ($1, $2, $3, $4, COALESCE($6::timestamptz,
       CASE WHEN $5::int IS NULL THEN NULL ELSE now() + make_interval(secs => $5::int) END))`,
    [id, userId, hashToken(token), name, options.validSeconds ?? null, options.expiresAt ?? null],
  );
  return { id, token };
}

/** One token, without its secret. */
export async function getToken(db: Queryable, id: string): Promise<ApiToken | undefined> {
  const [row] = await db.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE id = $1`, [id]);
  return row ? tokenOf(row) : undefined;
}

/** A user's tokens (or everyone's, without `userId`), oldest first, without secrets. */
export async function listTokens(db: Queryable, userId?: string): Promise<ApiToken[]> {
  const rows = await db.query<TokenRow>(
    `SELECT ${TOKEN_COLUMNS} FROM api_tokens
     WHERE $1::text IS NULL OR user_id = $1 ORDER BY created_at, id LIMIT 1000`,
    [userId ?? null],
  );
  return rows.map(tokenOf);
}

/**
 * Revokes a token (idempotent: a revoked token keeps its first revocation time). With `ownerId`, only a
 * token of that user. False when there is no such token.
 */
export async function revokeToken(db: Queryable, id: string, ownerId?: string): Promise<boolean> {
  const revoked = await db.query(
    `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, now())
     WHERE id = $1 AND ($2::text IS NULL OR user_id = $2) RETURNING id`,
    [id, ownerId ?? null],
  );
  return revoked.length > 0;
}
