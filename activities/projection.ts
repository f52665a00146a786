import type { Db } from '../db';
import type { ProjectionInput } from './types';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/**
 * The projection as one statement: the case row, changed tasks, the case's status and title on its other
 * tasks and new timeline entries, written by data-modifying CTEs. One statement is one round trip and is
 * atomic by itself, and the pipeline-totals rows its trigger updates (migration 030) stay locked only
 * until that statement commits. When they stayed locked through four more round trips of a transaction
 * (tasks, open tasks' case status, timeline, COMMIT), projections of cases sharing a total (one case type,
 * status and owner) queued behind each other: at 30 completions a second the slowest waited 100-150 ms.
 */
const PROJECTION_SQL = `
WITH case_row AS (
  INSERT INTO cases (id, case_type, definition_version, title, status, status_category, entity_id, entity_name,
    owner_id, parent_case_id, data, lines, current_steps, created_at, updated_at, ended_at, version,
    suspended_at, suspended_by, business_key)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $21, $22, $23)
  ON CONFLICT (id) DO UPDATE SET definition_version = EXCLUDED.definition_version, title = EXCLUDED.title,
    status = EXCLUDED.status, status_category = EXCLUDED.status_category, data = EXCLUDED.data,
    lines = EXCLUDED.lines, current_steps = EXCLUDED.current_steps, updated_at = EXCLUDED.updated_at,
    ended_at = EXCLUDED.ended_at, version = EXCLUDED.version, suspended_at = EXCLUDED.suspended_at,
    suspended_by = EXCLUDED.suspended_by,
    business_key = CASE WHEN $24::boolean THEN EXCLUDED.business_key ELSE cases.business_key END
  WHERE cases.version < EXCLUDED.version
), task_rows AS (
  INSERT INTO tasks (id, case_id, step, action, title, description, status, assignee, candidate_teams,
    candidate_roles, priority, due_at, follow_up_at, created_at, claimed_at, completed_at, completed_by,
    outcome, form_data, notes, delegated_by, escalation_level, comments, case_type, case_title, case_status,
    entity_name, version, on_hold_since)
  SELECT t.id, $1, t.step, t.action, t.title, t.description, t.status, t.assignee, t.candidate_teams,
    t.candidate_roles, t.priority, t.due_at, t.follow_up_at, t.created_at, t.claimed_at, t.completed_at,
    t.completed_by, t.outcome, t.form_data, t.notes, t.delegated_by, t.escalation_level, t.comments, $2, $4, $5,
    $8, t.version, t.on_hold_since
  FROM jsonb_to_recordset($18::jsonb) AS t(id text, step text, action text, title text, description text,
    status text, assignee text, candidate_teams text[], candidate_roles text[], priority text,
    due_at timestamptz, follow_up_at timestamptz, created_at timestamptz, claimed_at timestamptz,
    completed_at timestamptz, completed_by text, outcome text, form_data jsonb, notes text, delegated_by text,
    escalation_level integer, comments jsonb, version integer, on_hold_since timestamptz)
  ON CONFLICT (id) DO UPDATE SET step = EXCLUDED.step, title = EXCLUDED.title, status = EXCLUDED.status,
    assignee = EXCLUDED.assignee, candidate_teams = EXCLUDED.candidate_teams,
    candidate_roles = EXCLUDED.candidate_roles, priority = EXCLUDED.priority, due_at = EXCLUDED.due_at,
    follow_up_at = EXCLUDED.follow_up_at, claimed_at = EXCLUDED.claimed_at, completed_at = EXCLUDED.completed_at,
    completed_by = EXCLUDED.completed_by, outcome = EXCLUDED.outcome, form_data = EXCLUDED.form_data,
    notes = EXCLUDED.notes, delegated_by = EXCLUDED.delegated_by, escalation_level = EXCLUDED.escalation_level,
    comments = EXCLUDED.comments, on_hold_since = EXCLUDED.on_hold_since, case_status = EXCLUDED.case_status, case_title = EXCLUDED.case_title,
    version = EXCLUDED.version
  WHERE tasks.version < EXCLUDED.version
), other_tasks AS (
  -- Every task of the case, open or closed, shows the case's current status and title in the inbox without
  -- a join (a closed task of a case won since shows WON, and the status filter finds it). The tasks written
  -- above carry them already (one statement must not change a row twice), and an older projection
  -- arriving late changes nothing.
  UPDATE tasks SET case_status = $5, case_title = $4
  WHERE case_id = $1 AND (case_status <> $5 OR case_title <> $4) AND id <> ALL ($19::text[])
    AND NOT EXISTS (SELECT 1 FROM cases WHERE cases.id = $1 AND cases.version > $17)
), timeline AS (
  INSERT INTO case_events (case_id, seq, at, kind, actor, task_id, detail)
  SELECT $1, e.seq, e.at, e.kind, e.actor, e.task_id, e.detail
  FROM jsonb_to_recordset($20::jsonb) AS e(seq int, at timestamptz, kind text, actor text, task_id text, detail jsonb)
  ON CONFLICT (case_id, seq) DO NOTHING
)
SELECT 1`;

/**
 * Writes the case read model: the case row, changed tasks and new timeline entries, atomically.
 * Idempotent and order-tolerant: rows only move forward in `version`, timeline entries are keyed by seq.
 * That is sound only because every caller writes committed state (docs/projection.md): the API from an
 * update's result, the workflow through a regular activity. Run from inside an open workflow task (a
 * local activity), a discarded task would leave a version behind whose content the real task differs from.
 */
export async function projectCase(db: Db, input: ProjectionInput): Promise<void> {
  const c = input.state;
  const tasks = input.tasks.map((t) => ({
    id: t.id,
    step: t.step ?? null,
    action: t.action,
    title: t.title,
    description: t.description ?? null,
    status: t.status,
    assignee: t.assignee,
    candidate_teams: t.candidateTeams,
    candidate_roles: t.candidateRoles,
    priority: t.priority,
    due_at: iso(t.dueAt),
    follow_up_at: iso(t.followUpAt),
    created_at: iso(t.createdAt),
    claimed_at: iso(t.claimedAt),
    completed_at: iso(t.completedAt),
    completed_by: t.completedBy,
    outcome: t.outcome,
    form_data: t.formData,
    notes: t.notes,
    delegated_by: t.delegatedBy,
    escalation_level: t.escalationLevel,
    comments: t.comments,
    version: t.version,
    on_hold_since: iso(t.heldSince ?? null),
  }));
  const timeline = input.timeline.map((e) => ({
    seq: e.seq,
    at: iso(e.at),
    kind: e.kind,
    actor: e.actor,
    task_id: e.taskId ?? null,
    detail: e.detail,
  }));
  await db.query(PROJECTION_SQL, [
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
    JSON.stringify(tasks),
    tasks.map((t) => t.id),
    JSON.stringify(timeline),
    iso(c.suspendedAt ?? null),
    c.suspendedBy ?? null,
    c.businessKey ?? null,
    c.businessKey !== undefined,
  ]);
}
