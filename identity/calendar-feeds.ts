/**
 * Each user's secret calendar feed (`calendar_feeds`): only the SHA-256 of its secret is stored, so the feed
 * URL exists in clear only in the answer that created it.
 */
import type { Queryable } from '../db';
import { hashToken } from './tokens';
import type { UserRole } from './users';

/** When the user's feed was created and last read; undefined when they have none. */
export async function calendarFeedStatus(
  db: Queryable,
  userId: string,
): Promise<{ created_at: string; last_used_at: string | null } | undefined> {
  const [row] = await db.query<{ created_at: string; last_used_at: string | null }>(
    'SELECT created_at, last_used_at FROM calendar_feeds WHERE user_id = $1',
    [userId],
  );
  return row;
}

/** Makes `secret` the user's feed secret, replacing an earlier one (which stops working); when it was created. */
export async function saveCalendarFeed(
  db: Queryable,
  userId: string,
  secret: string,
): Promise<{ created_at: string } | undefined> {
  const [row] = await db.query<{ created_at: string }>(
    `INSERT INTO calendar_feeds (user_id, secret_hash) VALUES ($1, $2)
       ON CONFLICT (user_id) DO UPDATE SET secret_hash = EXCLUDED.secret_hash, created_at = now(), last_used_at = NULL
       RETURNING created_at`,
    [userId, hashToken(secret)],
  );
  return row;
}

/** Removes the user's feed (nothing when they have none). */
export async function deleteCalendarFeed(db: Queryable, userId: string): Promise<void> {
  await db.query('DELETE FROM calendar_feeds WHERE user_id = $1', [userId]);
}

/**
 * The active user whose feed `secret` opens, marking the feed used now; undefined for an unknown secret or an
 * inactive user.
 */
export async function openCalendarFeed(
  db: Queryable,
  secret: string,
): Promise<{ id: string; name: string; role: UserRole } | undefined> {
  const [user] = await db.query<{ id: string; name: string; role: UserRole }>(
    `UPDATE calendar_feeds f SET last_used_at = now() FROM users u
       WHERE f.secret_hash = $1 AND u.id = f.user_id AND u.active RETURNING u.id, u.name, u.role`,
    [hashToken(secret)],
  );
  return user;
}
