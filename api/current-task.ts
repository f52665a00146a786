import type { CaseState, TaskState } from '../engine/state';
import { stateQuery } from '../workflows/messages';
import type { ApiContext } from './context';
import { findTask } from '../cases/task-store';
import { taskView, type TaskView } from './views';

const QUERY_TIMEOUT_MS = 3000;
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** What a task view shows of its case. */
export interface CaseInfo {
  caseId: string;
  caseType: string;
  title: string;
  status: string;
  entityName: string | null;
}

/** A task of a case's workflow state as the API shows it (same shape as `taskView`). */
export function taskViewFromState(state: CaseState, t: TaskState, now = Date.now()): TaskView {
  return taskViewOf(
    {
      caseId: state.caseId,
      caseType: state.caseType,
      title: state.title,
      status: state.status,
      entityName: state.entity?.name ?? null,
    },
    t,
    now,
  );
}

/** A workflow task with its case's fields, as the API shows it. */
export function taskViewOf(c: CaseInfo, t: TaskState, now = Date.now()): TaskView {
  return {
    id: t.id,
    caseId: c.caseId,
    step: t.step ?? null,
    action: t.action,
    title: t.title,
    description: t.description ?? null,
    status: t.status,
    assignee: t.assignee,
    candidateTeams: t.candidateTeams,
    candidateRoles: t.candidateRoles,
    priority: t.priority,
    dueAt: iso(t.dueAt),
    followUpAt: iso(t.followUpAt),
    overdue: t.status === 'open' && t.dueAt !== null && t.dueAt < now,
    createdAt: iso(t.createdAt) as string,
    claimedAt: iso(t.claimedAt),
    completedAt: iso(t.completedAt),
    completedBy: t.completedBy,
    outcome: t.outcome,
    formData: t.formData,
    notes: t.notes,
    delegatedBy: t.delegatedBy,
    escalationLevel: t.escalationLevel,
    onHold: t.heldSince !== undefined,
    onHoldSince: t.heldSince === undefined ? null : iso(t.heldSince),
    comments: t.comments,
    case: { id: c.caseId, type: c.caseType, title: c.title, status: c.status },
    entityName: c.entityName,
    version: t.version,
  };
}

/**
 * The task as it is now. The workflow's state comes first: after a lost race the winner's change may be
 * applied but not yet projected. Falls back to the read model when the case is no longer running.
 */
export async function currentTask(
  ctx: ApiContext,
  caseId: string,
  taskId: string,
): Promise<TaskView | undefined> {
  try {
    const state = await ctx.client.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () =>
      ctx.client.workflow.getHandle(caseId).query(stateQuery),
    );
    const task = state.tasks[taskId];
    if (task) return taskViewFromState(state, task);
  } catch {
    // Not running (or not answering): the read model is the best we have.
  }
  const row = await findTask(ctx.db, taskId);
  return row ? taskView(row) : undefined;
}
