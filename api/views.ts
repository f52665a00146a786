import type { Row } from '../db';

/** The columns of a task the views read (the domain's list, over `tasks t`). */
export { TASK_COLUMNS } from '../cases/task-store';

/** What every view of a task shows: all of it but its long parts (description, form data, notes, comments). */
export interface TaskSummary {
  id: string;
  caseId: string;
  step: string | null;
  action: string;
  title: string;
  status: string;
  assignee: string | null;
  candidateTeams: string[];
  candidateRoles: string[];
  priority: string;
  dueAt: string | null;
  followUpAt: string | null;
  overdue: boolean;
  createdAt: string;
  claimedAt: string | null;
  completedAt: string | null;
  completedBy: string | null;
  outcome: string | null;
  delegatedBy: string | null;
  escalationLevel: number;
  /** On hold, by itself or with its case: it cannot be claimed or completed, its timers pause. */
  onHold: boolean;
  onHoldSince: string | null;
  case: { id: string; type: string; title: string; status: string };
  entityName: string | null;
  version: number;
}

/** A task as the API shows it. */
export interface TaskView extends TaskSummary {
  description: string | null;
  formData: unknown;
  notes: string | null;
  comments: unknown;
}

/** A task in an inbox list: its summary and how many comments it has. */
export interface InboxItem extends TaskSummary {
  commentCount: number;
}

/**
 * The summary of a task row. Views are built as one object literal and extended with Object.assign, not
 * with rest and spread: the objects those make outlived young-generation collections in V8 (about 1 MB
 * promoted per collection under inbox load) and lengthened the API's GC pauses.
 */
function taskSummary(r: Row, now: number): TaskSummary {
  const dueAt = (r.due_at as string | null) ?? null;
  return {
    id: r.id as string,
    caseId: r.case_id as string,
    step: (r.step as string | null) ?? null,
    action: r.action as string,
    title: r.title as string,
    status: r.status as string,
    assignee: (r.assignee as string | null) ?? null,
    candidateTeams: r.candidate_teams as string[],
    candidateRoles: r.candidate_roles as string[],
    priority: r.priority as string,
    dueAt,
    followUpAt: (r.follow_up_at as string | null) ?? null,
    overdue: r.status === 'open' && dueAt !== null && Date.parse(dueAt) < now,
    createdAt: r.created_at as string,
    claimedAt: (r.claimed_at as string | null) ?? null,
    completedAt: (r.completed_at as string | null) ?? null,
    completedBy: (r.completed_by as string | null) ?? null,
    outcome: (r.outcome as string | null) ?? null,
    delegatedBy: (r.delegated_by as string | null) ?? null,
    escalationLevel: r.escalation_level as number,
    onHold: r.on_hold_since !== null && r.on_hold_since !== undefined,
    onHoldSince: (r.on_hold_since as string | null) ?? null,
    case: {
      id: r.case_id as string,
      type: r.case_type as string,
      title: r.case_title as string,
      status: r.case_status as string,
    },
    entityName: (r.entity_name as string | null) ?? null,
    version: r.version as number,
  };
}

/** A task row (selected with TASK_COLUMNS) as the API shows it. */
export function taskView(r: Row, now = Date.now()): TaskView {
  return Object.assign(taskSummary(r, now), {
    description: (r.description as string | null) ?? null,
    formData: r.form_data ?? null,
    notes: (r.notes as string | null) ?? null,
    comments: r.comments,
  });
}

/** An inbox row (INBOX_COLUMNS of inbox-query.ts) as the API shows it. */
export function inboxItemView(r: Row, now: number): InboxItem {
  return Object.assign(taskSummary(r, now), { commentCount: r.comment_count as number });
}

/** A case row as the API shows it. */
export function caseView(r: Row) {
  return {
    id: r.id as string,
    caseType: r.case_type as string,
    definitionVersion: r.definition_version as number,
    title: r.title as string,
    status: r.status as string,
    statusCategory: r.status_category as string,
    entity: r.entity_id ? { id: r.entity_id as string, name: r.entity_name as string | null } : null,
    ownerId: (r.owner_id as string | null) ?? null,
    parentCaseId: (r.parent_case_id as string | null) ?? null,
    businessKey: (r.business_key as string | null) ?? null,
    data: r.data,
    lines: r.lines,
    currentSteps: r.current_steps as string[],
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
    endedAt: (r.ended_at as string | null) ?? null,
    version: r.version as number,
    suspended: r.suspended_at
      ? { at: r.suspended_at as string, by: (r.suspended_by as string | null) ?? null }
      : null,
    amountCorrected:
      r.amount_corrected === null || r.amount_corrected === undefined ? null : Number(r.amount_corrected),
  };
}
