import type { CaseState } from './state';
import type { CaseTypeDefinition } from './types';

/**
 * A migration of running cases from one published version of a case type to the next:
 * every step where a case may stand is mapped to a step of the new version (identity when omitted),
 * and optionally statuses too.
 */
export interface MigrationPlan {
  caseType: string;
  fromVersion: number;
  toVersion: number;
  steps?: Record<string, string>;
  statuses?: Record<string, string>;
}

export interface MigrationProblem {
  pointer: string;
  message: string;
}

/** Checks a plan against both definitions: every mapped or implied target must exist and keep its kind. */
export function checkMigrationPlan(
  plan: MigrationPlan,
  from: CaseTypeDefinition,
  to: CaseTypeDefinition,
): MigrationProblem[] {
  const problems: MigrationProblem[] = [];
  if (plan.toVersion <= plan.fromVersion) {
    problems.push({ pointer: '/toVersion', message: 'must be greater than fromVersion' });
  }
  for (const [stepId, step] of Object.entries(from.steps)) {
    const target = plan.steps?.[stepId] ?? stepId;
    const pointer = `/steps/${stepId}`;
    const next = to.steps[target];
    if (!next) {
      if (plan.steps?.[stepId] !== undefined)
        problems.push({
          pointer,
          message: `target step "${target}" does not exist in version ${plan.toVersion}`,
        });
      continue; // Unmapped and gone: only a problem if a case stands there (see casePlan).
    }
    if (next.type !== step.type) {
      problems.push({
        pointer,
        message: `"${stepId}" is a ${step.type} step but "${target}" is a ${next.type} step`,
      });
    }
  }
  for (const [code, target] of Object.entries(plan.statuses ?? {})) {
    if (!from.statuses.some((s) => s.code === code))
      problems.push({
        pointer: `/statuses/${code}`,
        message: `status "${code}" is not in version ${plan.fromVersion}`,
      });
    if (!to.statuses.some((s) => s.code === target))
      problems.push({
        pointer: `/statuses/${code}`,
        message: `target status "${target}" is not in version ${plan.toVersion}`,
      });
  }
  return problems;
}

export interface CaseMove {
  caseId: string;
  status: { from: string; to: string };
  steps: { from: string; to: string }[];
  problems: string[];
}

/** What the plan would do to one case; `problems` non-empty means the case cannot move. */
export function casePlan(plan: MigrationPlan, to: CaseTypeDefinition, state: CaseState): CaseMove {
  const problems: string[] = [];
  const steps = state.tokens.map((t) => ({ from: t.step, to: plan.steps?.[t.step] ?? t.step }));
  for (const s of steps)
    if (!to.steps[s.to])
      problems.push(`step "${s.from}" has no counterpart in version ${plan.toVersion}: map it`);
  const status = plan.statuses?.[state.status] ?? state.status;
  if (!to.statuses.some((s) => s.code === status))
    problems.push(`status "${state.status}" has no counterpart in version ${plan.toVersion}: map it`);
  for (const group of Object.values(state.joins)) {
    const join = plan.steps?.[group.step] ?? group.step;
    if (to.steps[join]?.type !== 'join')
      problems.push(
        `parallel branches wait at join "${group.step}", which is not a join in version ${plan.toVersion}`,
      );
  }
  return { caseId: state.caseId, status: { from: state.status, to: status }, steps, problems };
}

/**
 * Moves a case's state to the new version: tokens, open tasks and joins follow the step mapping; tasks
 * keep their assignee, dates and history. Call only when `casePlan` reported no problems.
 */
export function migrateState(plan: MigrationPlan, to: CaseTypeDefinition, state: CaseState): CaseState {
  const next = JSON.parse(JSON.stringify(state)) as CaseState;
  const map = (step: string): string => plan.steps?.[step] ?? step;
  next.definitionVersion = plan.toVersion;
  for (const token of next.tokens) token.step = map(token.step);
  for (const task of Object.values(next.tasks)) {
    if (task.step !== undefined) task.step = map(task.step);
    task.version += 1;
  }
  for (const join of Object.values(next.joins)) {
    join.step = map(join.step);
    // The parallel step that opened the region: a `cancel` of its new name must still find the region.
    if (join.split !== undefined) join.split = map(join.split);
  }
  const status = plan.statuses?.[next.status] ?? next.status;
  const def = to.statuses.find((s) => s.code === status);
  if (def) {
    next.status = def.code;
    next.statusCategory = def.category;
  }
  next.visits = Object.fromEntries(Object.entries(next.visits).map(([k, v]) => [map(k), v]));
  next.timelineSeq += 1;
  next.version += 1;
  return next;
}
