import type { Db } from '../db';
import type { AuthSettings } from '../lib/config';
import { logger } from '../lib/logger';
import { CALLER_COLUMNS, callerFromRow, type Caller, type CallerRow } from './auth';
import { newSessionId, sessionIdHash } from './session-cookie';

/** last_seen_at is written at most this often per session (the idle timeout is counted in minutes). */
const TOUCH_EVERY = '1 minute';

/**
 * Browser sessions (table `sessions`, migration 050). The cookie carries the id; the table holds its
 * SHA-256, the user, when it started, when it was last used and its absolute end. A session ends when
 * unused for `sessionIdleMinutes`, `sessionMaxHours` after sign-in, at sign-out, when its user is
 * deactivated, or when the user's password changes. Not cached: one indexed query per request.
 */
export class SessionStore {
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly db: Db,
    private readonly settings: AuthSettings,
  ) {
    db.beforeClose(async () => {
      await Promise.all(this.pending);
    });
  }

  /** Absolute lifetime of a session, in ms (also the cookie's Max-Age). */
  get maxAgeMs(): number {
    return this.settings.sessionMaxHours * 3_600_000;
  }

  /** Starts a session for a user; returns its id in clear (the only time it exists in clear). */
  async create(userId: string): Promise<string> {
    const id = newSessionId();
    await this.db.query(
      `INSERT INTO sessions (id_hash, user_id, expires_at) VALUES ($1, $2, now() + make_interval(hours => $3))`,
      [sessionIdHash(id), userId, this.settings.sessionMaxHours],
    );
    // Rows past their absolute end (idle ones too, by then) are removed as new sessions start (indexed).
    this.track(this.db.query(`DELETE FROM sessions WHERE expires_at < now() - interval '1 day'`));
    return id;
  }

  /** The caller a live session belongs to (touching it), or undefined when it ended or never existed. */
  async resolve(sessionId: string): Promise<Caller | undefined> {
    const idHash = sessionIdHash(sessionId);
    const rows = await this.db.query<CallerRow & { stale: boolean }>(
      `SELECT ${CALLER_COLUMNS}, s.last_seen_at < now() - interval '${TOUCH_EVERY}' AS stale
       FROM sessions s JOIN users u ON u.id = s.user_id
       WHERE s.id_hash = $1 AND s.expires_at > now()
         AND s.last_seen_at > now() - make_interval(mins => $2) AND u.active`,
      [idHash, this.settings.sessionIdleMinutes],
    );
    const row = rows[0];
    if (!row) return undefined;
    if (row.stale) {
      this.track(this.db.query('UPDATE sessions SET last_seen_at = now() WHERE id_hash = $1', [idHash]));
    }
    return { ...callerFromRow(row), sessionIdHash: idHash };
  }

  /** Ends a session (sign-out). */
  async destroy(sessionId: string): Promise<void> {
    await this.db.query('DELETE FROM sessions WHERE id_hash = $1', [sessionIdHash(sessionId)]);
  }

  private track(work: Promise<unknown>): void {
    const done = work.catch((err: unknown) => logger.warn({ err }, 'sessions: background write failed'));
    this.pending.add(done);
    void done.finally(() => this.pending.delete(done));
  }
}
