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
    params.push(`%${escapeLike(filters.q)}%`, filters.q);
    const [like, exact] = [params.length - 1, params.length];
    // name_fold is crm_fold(name), stored (migration 071): the trigram index and the (name, id) walk read it
    // without folding each row again; crm_fold of the pattern is folded once at planning. Each arm of the OR
    // has its own index (trigram, code, external code), so the planner can combine them.
    where.push(`(e.name_fold LIKE crm_fold($${like}) OR e.code = $${exact} OR e.external_code = $${exact})`);
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
  const rows = await db.query(
    `SELECT ${ENTITY_SELECT} FROM entities e ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY e.name, e.id LIMIT $${params.length}`,
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
