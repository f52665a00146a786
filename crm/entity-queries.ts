/**
 * The read queries of entities (list, search, detail, cases, timeline, contacts) and their deletion: the SQL the
 * entity routes run, kept with the domain. Access is the caller's business (crm/permissions.ts); the case lists
 * show only the cases the caller may see.
 */
import type { Queryable, Row } from '../db';
import { visibleCaseSql, type Principal } from '../identity/visibility';
import { ConflictError } from '../lib/domain-errors';
import { listActivities, type ActivityView } from './activities';
import { CONTACT_SELECT, contactView, type ContactView } from './contacts';
import { ENTITY_SELECT, entityView, type EntityView } from './entities';

/** Escapes the LIKE wildcards of a search text. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Filters of the entity list (standard fields compared exactly). */
export interface EntityFilters {
  /** Part of the name, compared case- and accent-insensitively (crm_fold, stored as name_fold), or the exact code or external code. */
  q?: string;
  kind?: string;
  sector?: string;
  zone?: string;
  source?: string;
  agentId?: string;
  externalCode?: string;
  code?: string;
}

const EXACT: [keyof EntityFilters, string][] = [
  ['kind', 'kind'],
  ['sector', 'sector'],
  ['zone', 'zone'],
  ['source', 'source'],
  ['agentId', 'agent_id'],
  ['externalCode', 'external_code'],
  ['code', 'code'],
];

/** Statistics of `entities.name_fold` as ANALYZE keeps them for the planner (pg_stats). */
export interface FoldedNameStats {
  mostCommon: string[];
  mostCommonFreqs: number[];
  histogram: string[];
  nullFrac: number;
}

/** Words and the runs between them, as the trigram index splits a text into words (letters and digits). */
const TOKENS = /[\p{L}\p{N}]+|[^\p{L}\p{N}]+/gu;
const WORD = /^[\p{L}\p{N}]/u;

/** The share of names that hold `word`, estimated from the statistics the planner itself uses. */
function nameShare(stats: FoldedNameStats, word: string): number {
  let share = 0;
  let common = 0;
  stats.mostCommon.forEach((value, i) => {
    const freq = stats.mostCommonFreqs[i] ?? 0;
    common += freq;
    if (value.includes(word)) share += freq;
  });
  if (stats.histogram.length > 0)
    share +=
      (stats.histogram.filter((h) => h.includes(word)).length / stats.histogram.length) *
      Math.max(0, 1 - stats.nullFrac - common);
  return share;
}

/** A word found in more than this share of the names is left out of the trigram index's pattern. */
export const COMMON_WORD_SHARE = 0.1;

/**
 * The LIKE pattern the trigram index is asked for when a search of several words holds common ones, or
 * undefined to ask it for the whole text. The index must merge the list of every name holding each trigram of
 * the pattern, so a word in most names ("bench entity" in all of the bench's, "s.l." in many real ones) costs
 * far more than it narrows. Each common word becomes a `%`, the rest stays (the separators too: " 77" is a
 * trigram where "77" alone is none), so every name holding the whole text matches the pattern; the query checks
 * the whole text on the rows the index gives. At least one word of three letters or more is kept so that the
 * pattern has trigrams (the least common one when all are common).
 */
export function searchIndexPattern(folded: string, stats: FoldedNameStats | undefined): string | undefined {
  if (!stats || (stats.histogram.length === 0 && stats.mostCommon.length === 0)) return undefined;
  const tokens = folded.match(TOKENS) ?? [];
  const words = tokens.flatMap((t, i) => (WORD.test(t) ? [{ i, word: t, share: nameShare(stats, t) }] : []));
  if (words.length < 2) return undefined;
  const kept = new Set(words.filter((w) => w.share <= COMMON_WORD_SHARE).map((w) => w.i));
  if (!words.some((w) => kept.has(w.i) && [...w.word].length >= 3)) {
    const [rarest] = words
      .filter((w) => [...w.word].length >= 3)
      .sort((a, b) => a.share - b.share || b.word.length - a.word.length);
    if (!rarest) return undefined;
    kept.add(rarest.i);
  }
  if (kept.size === words.length) return undefined;
  return `%${tokens.map((t, i) => (WORD.test(t) && !kept.has(i) ? '%' : escapeLike(t))).join('')}%`;
}

/** The search text folded as names are (crm_fold) and the statistics of the folded names, if analysed. */
async function foldedSearch(
  db: Queryable,
  q: string,
): Promise<{ folded: string; stats: FoldedNameStats | undefined }> {
  const [row] = await db.query<{
    folded: string;
    mcv: string[] | null;
    freqs: number[] | null;
    hist: string[] | null;
    null_frac: number | null;
  }>(
    `SELECT crm_fold($1) AS folded, s.most_common_vals::text::text[] AS mcv, s.most_common_freqs AS freqs,
            s.histogram_bounds::text::text[] AS hist, s.null_frac
     FROM (SELECT 1) one
     LEFT JOIN pg_stats s ON s.schemaname = current_schema() AND s.tablename = 'entities' AND s.attname = 'name_fold'`,
    [q],
  );
  if (!row) return { folded: q, stats: undefined };
  const stats =
    row.null_frac === null
      ? undefined
      : {
          mostCommon: row.mcv ?? [],
          mostCommonFreqs: (row.freqs ?? []).map(Number),
          histogram: row.hist ?? [],
          nullFrac: Number(row.null_frac),
        };
  return { folded: row.folded, stats };
}

/**
 * One page of entities by (name, id), after `after`; `extra` adds predicates built on the same `params` (a
 * segment's). Answers up to `limit` entities and whether more follow.
 */
export async function listEntities(
  db: Queryable,
  filters: EntityFilters,
  page: { limit: number; after?: [string, string] },
  extra: { where: string[]; params: unknown[] } = { where: [], params: [] },
): Promise<{ items: EntityView[]; more: boolean }> {
  const params = extra.params;
  const where = [...extra.where];
  if (filters.q) {
    // A text of several words may hold words most names hold; the trigram index is then asked for the others
    // only (searchIndexPattern) and the whole text is checked with strpos, which that index does not serve.
    const search =
      (filters.q.match(TOKENS) ?? []).filter((t) => WORD.test(t)).length >= 2
        ? await foldedSearch(db, filters.q)
        : undefined;
    const narrowed = search && searchIndexPattern(search.folded, search.stats);
    if (search && narrowed) {
      params.push(narrowed, search.folded, filters.q);
      const [like, whole, exact] = [params.length - 2, params.length - 1, params.length];
      where.push(
        `((e.name_fold LIKE $${like} AND strpos(e.name_fold, $${whole}) > 0) OR e.code = $${exact} OR e.external_code = $${exact})`,
      );
    } else {
      params.push(`%${escapeLike(filters.q)}%`, filters.q);
      const [like, exact] = [params.length - 1, params.length];
      // name_fold is crm_fold(name), stored (migration 071): the trigram index and the (name, id) walk read it
      // without folding each row again; crm_fold of the pattern is folded once at planning. Each arm of the OR
      // has its own index (trigram, code, external code), so the planner can combine them.
      where.push(
        `(e.name_fold LIKE crm_fold($${like}) OR e.code = $${exact} OR e.external_code = $${exact})`,
      );
    }
  }
  for (const [name, column] of EXACT) {
    const value = filters[name];
    if (value !== undefined) {
      params.push(value);
      where.push(`e.${column} = $${params.length}`);
    }
  }
  if (page.after) {
    params.push(page.after[0], page.after[1]);
    where.push(`(e.name, e.id) > ($${params.length - 1}, $${params.length})`);
  }
  params.push(page.limit + 1);
  // The page's ids first, then their rows: the (name, id) index holds the folded name, code and external code,
  // so a walk past many names that do not match reads the index only (an index scan of the whole rows would
  // read each row's table page before checking it: 125,000 of them for "gomez" in the bench).
  const rows = await db.query(
    `SELECT ${ENTITY_SELECT}
     FROM (SELECT e.id FROM entities e ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
           ORDER BY e.name, e.id LIMIT $${params.length}) page
     JOIN entities e ON e.id = page.id
     ORDER BY e.name, e.id`,
    params,
  );
  return { items: rows.slice(0, page.limit).map(entityView), more: rows.length > page.limit };
}

/** The entity's contacts, the primary first, then by name. */
export async function entityContacts(db: Queryable, entityId: string, limit: number): Promise<ContactView[]> {
  const rows = await db.query(
    `SELECT ${CONTACT_SELECT} FROM contacts k WHERE k.entity_id = $1 ORDER BY k.is_primary DESC, k.name, k.id LIMIT $2`,
    [entityId, limit],
  );
  return rows.map(contactView);
}

/** How many cases the entity has, and how many are open (every case, whoever may see it). */
export async function entityCaseCounts(
  db: Queryable,
  entityId: string,
): Promise<{ open: number; total: number }> {
  const [counts] = await db.query<{ open: number; total: number }>(
    `SELECT count(*) FILTER (WHERE status_category = 'open')::int AS open, count(*)::int AS total
     FROM cases WHERE entity_id = $1`,
    [entityId],
  );
  return counts ?? { open: 0, total: 0 };
}

/** The entity's cases `who` may see, newest first (rows of `cases`). */
export function entityCases(db: Queryable, who: Principal, entityId: string, limit: number): Promise<Row[]> {
  const params: unknown[] = [entityId];
  const visible = visibleCaseSql(who, params);
  params.push(limit);
  return db.query(
    `SELECT c.* FROM cases c WHERE c.entity_id = $1 AND ${visible}
     ORDER BY c.created_at DESC, c.id LIMIT $${params.length}`,
    params,
  );
}

/**
 * One item of an entity's timeline: an event of one of its cases, or one of its activities (done, or scheduled:
 * `at` is then when it is planned), with `case` and `seq` null and the activity in `activity`.
 */
export interface TimelineItem {
  case: { id: string; type: string; title: string } | null;
  seq: number | null;
  at: string;
  kind: string;
  actor: string;
  taskId: string | null;
  detail: unknown;
  activity?: ActivityView;
}

/**
 * The newest `limit` items of the entity's timeline: the events of its cases `who` may see and the entity's
 * activities, merged by `at`, latest first (a scheduled activity ahead of now leads). Each source gives at most
 * `limit` rows from its own index walk, so the merge reads at most twice the page.
 */
export async function entityTimeline(
  db: Queryable,
  who: Principal,
  entityId: string,
  limit: number,
): Promise<TimelineItem[]> {
  const params: unknown[] = [entityId];
  const visible = visibleCaseSql(who, params);
  params.push(limit);
  const [rows, activities] = await Promise.all([
    db.query(
      `SELECT ev.case_id, c.case_type, c.title, ev.seq, ev.at, ev.kind, ev.actor, ev.task_id, ev.detail
       FROM cases c JOIN case_events ev ON ev.case_id = c.id
       WHERE c.entity_id = $1 AND ${visible}
       ORDER BY ev.at DESC, ev.case_id, ev.seq DESC LIMIT $${params.length}`,
      params,
    ),
    listActivities(db, entityId, {}, { limit }),
  ]);
  const events: TimelineItem[] = rows.map((r) => ({
    case: { id: r.case_id as string, type: r.case_type as string, title: r.title as string },
    seq: r.seq as number,
    at: new Date(r.at as string).toISOString(),
    kind: r.kind as string,
    actor: r.actor as string,
    taskId: r.task_id as string | null,
    detail: r.detail,
  }));
  const notes: TimelineItem[] = activities.items.map((a) => ({
    case: null,
    seq: null,
    at: a.at,
    kind: `activity.${a.status}`,
    actor: a.doneBy ?? a.createdBy,
    taskId: null,
    detail: null,
    activity: a,
  }));
  // Both lists are latest first; at the same instant a case's event comes before an activity.
  const merged: TimelineItem[] = [];
  let [i, j] = [0, 0];
  while (merged.length < limit && (i < events.length || j < notes.length)) {
    const event = events[i];
    const note = notes[j];
    if (event && (!note || Date.parse(event.at) >= Date.parse(note.at))) {
      merged.push(event);
      i++;
    } else if (note) {
      merged.push(note);
      j++;
    }
  }
  return merged;
}

/** The entity's contact with this address (case-insensitively) or, without one, this name; a vCard re-import's match. */
export async function findCardContact(
  db: Queryable,
  entityId: string,
  card: { email?: string | null; name?: string },
): Promise<ContactView | undefined> {
  const rows = await db.query(
    card.email
      ? `SELECT ${CONTACT_SELECT} FROM contacts k WHERE k.entity_id = $1 AND lower(k.email) = lower($2)`
      : `SELECT ${CONTACT_SELECT} FROM contacts k WHERE k.entity_id = $1 AND k.email IS NULL AND k.name = $2`,
    [entityId, card.email ?? card.name ?? ''],
  );
  return rows[0] ? contactView(rows[0]) : undefined;
}

/**
 * Deletes an entity and its contacts. An entity that cases, campaign targets or received emails name stays
 * (409 entity-in-use): they are its history.
 */
export async function deleteEntity(db: Queryable, entityId: string): Promise<void> {
  try {
    await db.query('DELETE FROM entities WHERE id = $1', [entityId]);
  } catch (err) {
    if ((err as { code?: string }).code === '23503')
      throw new ConflictError(
        'entity-in-use',
        'The entity is in use',
        `Entity ${entityId} has cases, campaign targets or received emails; it cannot be deleted`,
        { entityId },
      );
    throw err;
  }
}
