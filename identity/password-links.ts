import { createHash, randomBytes } from 'node:crypto';
import type { Db, Queryable } from '../db';
import { InvalidInputError } from '../lib/domain-errors';

/** One-time password links (invites and resets) carry a random token; only its SHA-256 is stored. */
export const passwordTokenHash = (token: string) => createHash('sha256').update(token).digest('hex');

/** Stores a new one-time token (its hash) for a user; returns it in clear with its end. */
export async function issuePasswordToken(
  db: Queryable,
  userId: string,
  purpose: 'invite' | 'reset',
  validMinutes: number,
): Promise<{ token: string; expiresAt: string }> {
  const token = randomBytes(32).toString('base64url');
  const [row] = await db.query<{ expires_at: string }>(
    `INSERT INTO password_tokens (token_hash, user_id, purpose, expires_at)
     VALUES ($1, $2, $3, now() + make_interval(mins => $4)) RETURNING expires_at`,
    [passwordTokenHash(token), userId, purpose, validMinutes],
  );
  return { token, expiresAt: new Date((row as { expires_at: string }).expires_at).toISOString() };
}

/** Forgets a token issued but not delivered (its email failed). */
export async function discardPasswordToken(db: Queryable, token: string): Promise<void> {
  await db.query('DELETE FROM password_tokens WHERE token_hash = $1', [passwordTokenHash(token)]);
}

/** The page of the web app where a one-time token sets a password. */
export const setPasswordLink = (publicUrl: string, token: string) =>
  `${publicUrl}/set-password?token=${encodeURIComponent(token)}`;

/**
 * Sets a user's password (a scrypt hash from lib/passwords.ts). The user's open one-time links stop working
 * (the password they were for is gone) and every session but `keepSessionIdHash` ends. Run it in a
 * transaction with whatever authorized the change.
 */
export async function setPasswordHash(
  tx: Queryable,
  userId: string,
  passwordHash: string,
  keepSessionIdHash?: string,
): Promise<void> {
  await tx.query('UPDATE users SET password_hash = $2, password_changed_at = now() WHERE id = $1', [
    userId,
    passwordHash,
  ]);
  await tx.query('UPDATE password_tokens SET used_at = now() WHERE user_id = $1 AND used_at IS NULL', [
    userId,
  ]);
  await tx.query('DELETE FROM sessions WHERE user_id = $1 AND ($2::text IS NULL OR id_hash <> $2)', [
    userId,
    keepSessionIdHash ?? null,
  ]);
}

/**
 * Uses a one-time link's token to set a user's password, in one transaction: the token must be unused,
 * unexpired and of an active user (else 400 password-token-invalid at `/body/token`). The session
 * `sessionIdHash` stays when it is the same user's; every other session ends. Returns the user's id.
 */
export async function resetPasswordWithToken(
  db: Db,
  token: string,
  passwordHash: string,
  sessionIdHash: string | undefined,
): Promise<string> {
  return db.transaction(async (tx) => {
    const [used] = await tx.query<{ user_id: string }>(
      `UPDATE password_tokens t SET used_at = now()
       FROM users u
       WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > now() AND u.id = t.user_id AND u.active
       RETURNING t.user_id`,
      [passwordTokenHash(token)],
    );
    if (!used)
      throw new InvalidInputError(
        'The link is unknown, was already used, or has expired; ask for a new one',
        [{ pointer: '/body/token', message: 'is unknown, used or expired' }],
        { code: 'password-token-invalid', title: 'The link is not valid' },
      );
    const [own] = sessionIdHash
      ? await tx.query<{ id_hash: string }>(
          'SELECT id_hash FROM sessions WHERE id_hash = $1 AND user_id = $2',
          [sessionIdHash, used.user_id],
        )
      : [];
    await setPasswordHash(tx, used.user_id, passwordHash, own?.id_hash);
    return used.user_id;
  });
}
