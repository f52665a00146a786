import type { Db } from '../db';
import { PgListener } from '../db/listener';
import { logger } from '../lib/logger';
import { callerForTokenHash, hashToken, type Caller } from './auth';

export interface CallerCacheOptions {
  /** How long a resolved caller is reused at most, even without a change notification. */
  ttlMs: number;
  /** Entries kept; the oldest go first. */
  maxEntries: number;
}

const DEFAULTS: CallerCacheOptions = { ttlMs: 300_000, maxEntries: 10_000 };

/** last_used_at is written at most this often per token. */
const TOUCH_EVERY = '1 minute';

/**
 * Who a bearer token belongs to, cached per API process: the lookup (token, user, teams, supervised
 * teams) otherwise costs a round trip on every request. Correctness rests on Postgres: triggers
 * (migration 040) notify `auth_changed` whenever a token is revoked or a user, team or membership
 * changes, and every process drops its whole cache. Entries are kept only while that notification
 * channel is live (it is opened with the cache); when it drops, the cache empties and every request asks
 * Postgres until it is back.
 * A lookup that raced a change is not cached (generation check). Unknown tokens are never cached; a token
 * with an end (expires_at) is cached until that end at most.
 */
export class CallerCache {
  private readonly entries = new Map<string, { caller: Caller; expires: number }>();
  private readonly listener: PgListener;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly options: CallerCacheOptions;
  private generation = 0;
  /** Notifications flow, and nothing looked up before they did is kept. */
  private listening = false;
  private closed = false;

  constructor(
    private readonly db: Db,
    options: Partial<CallerCacheOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
    this.listener = new PgListener(db, 'auth_changed', {
      notify: () => this.invalidate(),
      lost: (err) => {
        this.listening = false;
        logger.warn(
          { err },
          'auth change listener lost its connection; caching callers stops until it is back',
        );
        this.invalidate();
      },
      restored: () => this.listenedFromNow(),
    });
    db.beforeClose(() => this.close());
    this.track(this.listener.start().then(() => this.listenedFromNow()));
  }

  /** The caller a token belongs to, or undefined when it is unknown, revoked or its user inactive. */
  async resolve(token: string): Promise<Caller | undefined> {
    const key = hashToken(token);
    const hit = this.entries.get(key);
    if (hit && hit.expires > Date.now() && this.listening) return hit.caller;
    const generation = this.generation;
    const caller = await callerForTokenHash(this.db, key);
    if (!caller) return undefined;
    this.track(
      this.db.query(
        `UPDATE api_tokens SET last_used_at = now()
         WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '${TOUCH_EVERY}')`,
        [caller.tokenId],
      ),
    );
    if (this.listening && generation === this.generation) {
      this.entries.delete(key);
      const until = caller.tokenExpiresAt === null ? Infinity : Date.parse(caller.tokenExpiresAt);
      this.entries.set(key, { caller, expires: Math.min(Date.now() + this.options.ttlMs, until) });
      if (this.entries.size > this.options.maxEntries) {
        const oldest = this.entries.keys().next();
        if (!oldest.done) this.entries.delete(oldest.value);
      }
    }
    return caller;
  }

  /** Forgets every cached caller (a change was made, or notifications may have been missed). */
  invalidate(): void {
    this.generation++;
    this.entries.clear();
  }

  /** Changes made before notifications flowed were not seen: lookups already under way must not be cached. */
  private listenedFromNow(): void {
    if (this.closed) return;
    this.invalidate();
    this.listening = true;
  }

  get size(): number {
    return this.entries.size;
  }

  private track(work: Promise<unknown>): void {
    const done = work.catch((err: unknown) => {
      if (!this.closed) logger.warn({ err }, 'caller cache: background work failed');
    });
    this.pending.add(done);
    void done.finally(() => this.pending.delete(done));
  }

  private async close(): Promise<void> {
    this.closed = true;
    this.listening = false;
    this.invalidate();
    await Promise.all(this.pending);
    await this.listener.stop();
  }
}
