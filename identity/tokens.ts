import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from '../db';

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

/**
 * Stores a new token for a user and returns it in clear (the only time it exists in clear).
 * `validSeconds` bounds its life; without it the token works until revoked.
 */
export async function issueToken(
  db: Queryable,
  userId: string,
  name: string,
  options: { validSeconds?: number } = {},
): Promise<{ id: string; token: string }> {
  const { token, id } = generateToken();
  await db.query(
    `INSERT INTO api_tokens (id, user_id, token_hash, name, expires_at)
     VALUES ($1, $2, $3, $4, CASE WHEN $5::int IS NULL THEN NULL ELSE now() + make_interval(secs => $5::int) END)`,
    [id, userId, hashToken(token), name, options.validSeconds ?? null],
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
