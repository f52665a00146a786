import type { Db } from '../db';
import type { ProjectionInput } from './types';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/**
 * Writes the case read model: the case row, changed tasks and new timeline entries, in one transaction.
 * Idempotent and order-tolerant: rows only move forward in `version`, timeline entries are keyed by seq.
 */
export async function projectCase(db: Db, input: ProjectionInput): Promise<void> {
  const c = input.state;
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO cases (id, case_type, definition_version, title, status, status_category, entity_id, entity_name,
         owner_id, parent_case_id, data, lines, current_steps, created_at, updated_at, ended_at, version)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)
       ON CONFLICT (id) DO UPDATE SET definition_version = EXCLUDED.definition_version, title = EXCLUDED.title,
         status = EXCLUDED.status, status_category = EXCLUDED.status_category, data = EXCLUDED.data,
         lines = EXCLUDED.lines, current_steps = EXCLUDED.current_steps, updated_at = EXCLUDED.updated_at,
         ended_at = EXCLUDED.ended_at, version = EXCLUDED.version
       WHERE cases.version < EXCLUDED.version`,
      [
        c.caseId,
        c.caseType,
        c.definitionVersion,
        c.title,
        c.status,
        c.statusCategory,
        c.entityId,
        c.entityName,
        c.ownerId,
        c.parentCaseId,
        JSON.stringify(c.data),
        JSON.stringify(c.lines),
        c.currentSteps,
        iso(c.createdAt),
        iso(c.updatedAt),
        iso(c.endedAt),
        c.version,
      ],
    );
    for (const t of input.tasks) {
      await tx.query(
        `INSERT INTO tasks (id, case_id, step, action, title, description, status, assignee, candidate_teams,
           candidate_roles, priority, due_at, follow_up_at, created_at, claimed_at, completed_at, completed_by,
           outcome, form_data, notes, delegated_by, escalation_level, comments, case_type, case_title, case_status,
           entity_name, version)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27,$28)
         ON CONFLICT (id) DO UPDATE SET step = EXCLUDED.step, title = EXCLUDED.title, status = EXCLUDED.status, assignee = EXCLUDED.assignee,
           candidate_teams = EXCLUDED.candidate_teams, candidate_roles = EXCLUDED.candidate_roles,
           priority = EXCLUDED.priority, due_at = EXCLUDED.due_at, follow_up_at = EXCLUDED.follow_up_at,
           claimed_at = EXCLUDED.claimed_at, completed_at = EXCLUDED.completed_at, completed_by = EXCLUDED.completed_by,
           outcome = EXCLUDED.outcome, form_data = EXCLUDED.form_data, notes = EXCLUDED.notes,
           delegated_by = EXCLUDED.delegated_by, escalation_level = EXCLUDED.escalation_level,
           comments = EXCLUDED.comments, case_status = EXCLUDED.case_status, case_title = EXCLUDED.case_title,
           version = EXCLUDED.version
         WHERE tasks.version < EXCLUDED.version`,
        [
          t.id,
          c.caseId,
          t.step ?? null,
          t.action,
          t.title,
          t.description ?? null,
          t.status,
          t.assignee,
          t.candidateTeams,
          t.candidateRoles,
          t.priority,
          iso(t.dueAt),
          iso(t.followUpAt),
          iso(t.createdAt),
          iso(t.claimedAt),
          iso(t.completedAt),
          t.completedBy,
          t.outcome,
          t.formData === null ? null : JSON.stringify(t.formData),
          t.notes,
          t.delegatedBy,
          t.escalationLevel,
          JSON.stringify(t.comments),
          c.caseType,
          c.title,
          c.status,
          c.entityName,
          t.version,
        ],
      );
    }
    // Open tasks show the case's current status in the inbox without a join.
    await tx.query(
      `UPDATE tasks SET case_status = $2 WHERE case_id = $1 AND status = 'open' AND case_status <> $2`,
      [c.caseId, c.status],
    );
    if (input.timeline.length > 0) {
      await tx.query(
        `INSERT INTO case_events (case_id, seq, at, kind, actor, task_id, detail)
         SELECT $1, e.seq, e.at, e.kind, e.actor, e.task_id, e.detail
         FROM jsonb_to_recordset($2::jsonb) AS e(seq int, at timestamptz, kind text, actor text, task_id text, detail jsonb)
         ON CONFLICT (case_id, seq) DO NOTHING`,
        [
          c.caseId,
          JSON.stringify(
            input.timeline.map((e) => ({
              seq: e.seq,
              at: iso(e.at),
              kind: e.kind,
              actor: e.actor,
              task_id: e.taskId ?? null,
              detail: e.detail,
            })),
          ),
        ],
      );
    }
  });
}
