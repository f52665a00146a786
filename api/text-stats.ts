import type { Queryable } from '../db';
import { logger } from '../lib/logger';

/**
 * Share of open tasks whose title or entity name has a word starting with a prefix: `atLeast`, the share of
 * its commonest matching word, and `estimate`, the sum over its common matching words (a task holding two of
 * them counts twice). Both are 0 when no common word matches. Undefined when unknown.
 */
export type TextFrequency = (prefix: string) => { atLeast: number; estimate: number } | undefined;

const MAX_AGE_MS = 10 * 60_000;

/**
 * How common words are among open tasks, read from Postgres's own statistics of the open-task text index
 * (`pg_stats` for `tasks_text_open`, migration 041: the most common lexemes and the share of rows holding
 * each, refreshed by ANALYZE and autovacuum). An administrator's text search uses it to choose how to find
 * the matches (api/inbox-query.ts). Reloaded in the background when older than ten minutes; until the
 * first load, and when Postgres has no statistics yet, `frequency` answers undefined.
 */
export class TextStats {
  /** Lexemes in code-unit order, with their frequencies. */
  private lexemes: string[] = [];
  private freqs: number[] = [];
  private loaded = false;
  private loadedAt = -Infinity;
  private loading: Promise<void> | undefined;

  constructor(private readonly db: Queryable) {}

  /** How common the lexemes starting with `prefix` are (see TextFrequency). */
  readonly frequency: TextFrequency = (prefix) => {
    if (Date.now() - this.loadedAt > MAX_AGE_MS) void this.refresh();
    if (!this.loaded) return undefined;
    let lo = 0;
    let hi = this.lexemes.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.lexemes[mid] as string) < prefix) lo = mid + 1;
      else hi = mid;
    }
    let atLeast = 0;
    let sum = 0;
    for (let i = lo; i < this.lexemes.length && (this.lexemes[i] as string).startsWith(prefix); i++) {
      const freq = this.freqs[i] as number;
      atLeast = Math.max(atLeast, freq);
      sum += freq;
    }
    return { atLeast, estimate: Math.min(1, sum) };
  };

  /** Loads the statistics now (once at a time); failures keep the previous ones and are logged. */
  refresh(): Promise<void> {
    this.loading ??= this.load()
      .catch((err: unknown) => logger.warn({ err }, 'could not read the text statistics of open tasks'))
      .finally(() => {
        this.loadedAt = Date.now();
        this.loading = undefined;
      });
    return this.loading;
  }

  private async load(): Promise<void> {
    const rows = await this.db.query(
      `SELECT u.lexeme, u.freq
       FROM pg_stats s, unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) AS u(lexeme, freq)
       WHERE s.schemaname = current_schema() AND s.tablename = 'tasks_text_open' AND u.lexeme IS NOT NULL`,
    );
    const pairs = rows
      .map((r) => [r.lexeme as string, Number(r.freq)] as const)
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    this.lexemes = pairs.map((p) => p[0]);
    this.freqs = pairs.map((p) => p[1]);
    this.loaded = pairs.length > 0;
  }
}
