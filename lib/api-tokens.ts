/** API tokens: random, shown once, stored only as their SHA-256 (the API authenticates with them, api/auth.ts). */
import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from '../db';

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

/** Stores a new token for a user and returns it in clear (the only time it exists in clear). */
export async function issueToken(
  db: Queryable,
  userId: string,
  name: string,
): Promise<{ id: string; token: string }> {
  const { token, id } = generateToken();
  await db.query('INSERT INTO api_tokens (id, user_id, token_hash, name) VALUES ($1, $2, $3, $4)', [
    id,
    userId,
    hashToken(token),
    name,
  ]);
  return { id, token };
}
