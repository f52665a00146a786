/**
 * The outbox of entity merges (crm/merge.ts). A running case's workflow carries its entity in its own state
 * (conditions, service bodies and sub-cases read it), so a merge must tell each running case of the merged
 * entity, through a `relinkEntity` Update of its workflow, that it now belongs to the kept entity. The merge's
 * transaction writes one row per case here; `deliverRelinks` sends them after the commit and marks each one
 * done, or leaves it pending with its error and a later attempt time, so a failed Update is retried (by the
 * API's minute sweep) and never lost.
 */
import type { Db, Queryable } from '../db';
import type { Actor, ActorEvent } from '../engine/state';

export type RelinkEvent = Extract<ActorEvent, { type: 'relinkEntity' }>;

/** How relinks reach the engine. */
export interface RelinkEngine {
  /** Sends the Update (at most once per `updateId`); `ended` when the case's workflow no longer runs. */
  relink(caseId: string, event: RelinkEvent, updateId: string): Promise<'relinked' | 'ended'>;
}

/** Queues a relink for each case (in the merge's transaction). */
export async function queueRelinks(
  tx: Queryable,
  caseIds: string[],
  from: string,
  to: string,
  actor: string,
  auditId: string,
): Promise<void> {
  if (caseIds.length === 0) return;
  await tx.query(
    `INSERT INTO entity_relinks (case_id, from_entity_id, to_entity_id, merge_audit_id, actor)
     SELECT c, $2, $3, $4, $5 FROM unnest($1::text[]) AS c`,
    [caseIds, from, to, auditId, actor],
  );
}

export interface RelinkCounts {
  relinked: number;
  /** The workflow had already finished: nothing left to tell. */
  ended: number;
  /** Not told yet (the Update failed): retried later. */
  pending: number;
}

/** Seconds before the next attempt after `attempts` failures: 5 s doubling, at most 10 minutes. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(5 * 2 ** Math.max(0, attempts - 1), 600);
}

/**
 * Sends the relinks that are due (only those of `caseIds` when given, e.g. the cases a merge just moved).
 * Each row is claimed by moving its next attempt a minute on (SKIP LOCKED, so two API processes do not send
 * the same one at once; the Update id makes a repeat harmless anyway), at most `limit` per call, `concurrency`
 * at a time. The entity sent is the case's entity in the read model now, so relinks of a case merged twice end
 * on the last survivor whatever their order. With `caseIds`, `pending` counts every relink of those cases not
 * yet delivered (also those beyond `limit` or held by another process).
 */
export async function deliverRelinks(
  db: Db,
  engine: RelinkEngine,
  caseIds?: string[],
  limit = 200,
  concurrency = 8,
): Promise<RelinkCounts> {
  const rows = await db.query<{
    id: string;
    case_id: string;
    from_entity_id: string;
    actor: string;
    attempts: number;
  }>(
    `UPDATE entity_relinks SET next_attempt_at = now() + interval '1 minute'
     WHERE id IN (SELECT id FROM entity_relinks
                  WHERE done_at IS NULL AND next_attempt_at <= now()
                    AND ($1::text[] IS NULL OR case_id = ANY($1::text[]))
                  ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
     RETURNING id::text, case_id, from_entity_id, actor, attempts`,
    [caseIds ?? null, limit],
  );
  const counts: RelinkCounts = { relinked: 0, ended: 0, pending: 0 };
  const sendOne = async (row: (typeof rows)[number]): Promise<void> => {
    try {
      const [current] = await db.query<{
        entity_id: string | null;
        name: string | null;
        agent_id: string | null;
      }>(
        `SELECT c.entity_id, e.name, e.agent_id FROM cases c LEFT JOIN entities e ON e.id = c.entity_id
         WHERE c.id = $1`,
        [row.case_id],
      );
      if (!current?.entity_id || current.name === null)
        throw new Error(`case ${row.case_id} has no entity in the read model`);
      const actor: Actor = { userId: row.actor, role: 'system', teams: [] };
      const outcome = await engine.relink(
        row.case_id,
        {
          type: 'relinkEntity',
          entity: { id: current.entity_id, name: current.name, agentId: current.agent_id },
          from: row.from_entity_id,
          actor,
        },
        `relink:${row.id}`,
      );
      await db.query(
        'UPDATE entity_relinks SET done_at = now(), outcome = $2, last_error = NULL WHERE id = $1',
        [row.id, outcome],
      );
      counts[outcome] += 1;
    } catch (err) {
      await db.query(
        `UPDATE entity_relinks SET attempts = attempts + 1, last_error = $2,
           next_attempt_at = now() + make_interval(secs => $3) WHERE id = $1`,
        [row.id, (err as Error).message.slice(0, 1000), retryDelaySeconds(row.attempts + 1)],
      );
      counts.pending += 1;
    }
  };
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, rows.length) }, async () => {
      while (next < rows.length) await sendOne(rows[next++] as (typeof rows)[number]);
    }),
  );
  if (caseIds) {
    // Also the rows another process holds, or beyond `limit`: still to be told.
    const [left] = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM entity_relinks WHERE done_at IS NULL AND case_id = ANY($1::text[])',
      [caseIds],
    );
    counts.pending = left?.n ?? 0;
  }
  return counts;
}
