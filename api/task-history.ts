import type { Queryable } from '../db';

export interface HistoryEntry {
  seq: number;
  at: string;
  kind: string;
  actor: { id: string; name: string | null };
  /** One readable sentence. */
  text: string;
  detail: Record<string, unknown>;
}

type EventRow = { seq: number; at: string; kind: string; actor: string; detail: Record<string, unknown> };

/** User ids an entry mentions, so their names can be looked up in one query. */
const PERSON_FIELDS = ['assignee', 'previous', 'from', 'to', 'backTo', 'by', 'reassignedFrom'];

function changedFields(detail: Record<string, unknown>): string {
  const before = (detail.before ?? {}) as Record<string, unknown>;
  const after = (detail.after ?? {}) as Record<string, unknown>;
  const fields = [...new Set(['formData', 'notes', ...Object.keys(before), ...Object.keys(after)])];
  const changed = fields.filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
  return changed.length > 0
    ? changed.map((k) => (k === 'formData' ? 'form data' : k)).join(' and ')
    : 'nothing';
}

/** A sentence for a timeline entry of a task (kinds written by the interpreter, or the direct edit). */
export function describe(
  kind: string,
  actor: string,
  detail: Record<string, unknown>,
  name: (id: unknown) => string,
): string {
  const who = name(actor);
  switch (kind) {
    case 'task.created': {
      const teams = (detail.candidateTeams as string[] | undefined) ?? [];
      const parts = [`Created by ${who}`];
      if (detail.assignee) parts.push(`assigned to ${name(detail.assignee)}`);
      if (teams.length > 0) parts.push(`for team ${teams.join(', ')}`);
      return parts.join(', ');
    }
    case 'task.claimed':
      return `Claimed by ${who}`;
    case 'task.unclaimed':
      return detail.previous && detail.previous !== actor
        ? `Released from ${name(detail.previous)} by ${who}`
        : `Released by ${who}`;
    case 'task.assigned': {
      const by = detail.by === 'assignment rule' ? 'the assignment rule' : who;
      const outside = detail.outsideCandidates ? ' (outside the candidate teams)' : '';
      return `Assigned to ${name(detail.assignee)} by ${by}${outside}`;
    }
    case 'task.delegated':
      return `Delegated by ${name(detail.from)} to ${name(detail.to)}`;
    case 'task.resolved':
      return `Resolved by ${who}, back to ${name(detail.backTo)}`;
    case 'task.completed':
      return `Completed by ${name(detail.by ?? actor)} with outcome "${String(detail.outcome)}"`;
    case 'task.commented':
      return `${who} commented: ${String(detail.text)}`;
    case 'task.edited':
      return `Edited after completion by ${who}: ${changedFields(detail)} changed`;
    case 'task.unassignable':
      return `Not in the directory: ${((detail.missing as string[] | undefined) ?? []).join(', ')}; offered to ${((detail.candidateRoles as string[] | undefined) ?? []).join(' and ') || 'the remaining candidates'}`;
    case 'task.escalated':
      return `Escalated to level ${String(detail.level)}`;
    case 'task.cancelled':
      return `Cancelled (${String(detail.reason ?? 'no reason')})`;
    case 'task.suspended':
      return `Put on hold by ${who}${detail.reason ? ` (${String(detail.reason)})` : ''}`;
    case 'task.resumed':
      return `Taken off hold by ${who}`;
    case 'task.overdue':
      return 'Became overdue';
    case 'task.due-soon':
      return 'Due soon';
    default:
      return `${kind} by ${who}`;
  }
}

/** The readable history of one task, oldest first. */
export async function taskHistory(db: Queryable, caseId: string, taskId: string): Promise<HistoryEntry[]> {
  const rows = await db.query<EventRow>(
    `SELECT seq, at, kind, actor, detail FROM case_events WHERE case_id = $1 AND task_id = $2 ORDER BY seq LIMIT 5000`,
    [caseId, taskId],
  );
  const ids = new Set<string>();
  for (const r of rows) {
    ids.add(r.actor);
    for (const field of PERSON_FIELDS)
      if (typeof r.detail[field] === 'string') ids.add(r.detail[field] as string);
  }
  const users = await db.query<{ id: string; name: string }>(
    'SELECT id, name FROM users WHERE id = ANY($1::text[])',
    [[...ids]],
  );
  const names = new Map(users.map((u) => [u.id, u.name]));
  const name = (id: unknown): string =>
    typeof id === 'string' ? (names.get(id) ?? (id === 'system' ? 'the system' : id)) : 'nobody';
  return rows.map((r) => ({
    seq: r.seq,
    at: r.at,
    kind: r.kind,
    actor: { id: r.actor, name: names.get(r.actor) ?? null },
    text: describe(r.kind, r.actor, r.detail, name),
    detail: r.detail,
  }));
}
