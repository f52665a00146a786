/** Projection inputs (activities/projection.ts) as the case workflow sends them, for tests and benchmarks. */
import type { ProjectionInput } from '../../activities/types';
import type { TaskState } from '../../engine/state';
import type { TestEnv } from './env';

const DAY = 86_400_000;

/** An open, unassigned task of the env's sales team created at `at`, due a day later; `overrides` win. */
export function projectedTask(
  env: TestEnv,
  id: string,
  at: number,
  overrides: Partial<TaskState> = {},
): TaskState {
  return {
    id,
    step: 'call',
    action: 'call',
    title: `Call ${id}`,
    status: 'open',
    assignee: null,
    candidateTeams: [`${env.prefix}-sales`],
    candidateRoles: [],
    priority: 'high',
    dueAt: at + DAY,
    followUpAt: null,
    createdAt: at,
    claimedAt: null,
    completedAt: null,
    completedBy: null,
    outcome: null,
    formData: null,
    notes: null,
    delegatedBy: null,
    comments: [],
    escalationLevel: 0,
    version: 1,
    ...overrides,
  };
}

/**
 * A case of `caseType` owned by alice, worth 1,000, at `version` in `status` (DONE counts as won and ends
 * the case, anything else is open), created at `at`, with its changed tasks and new timeline entries.
 */
export function caseProjection(
  env: TestEnv,
  c: {
    caseId: string;
    caseType: string;
    version: number;
    status: string;
    at: number;
    tasks: TaskState[];
    timeline?: ProjectionInput['timeline'];
    /** Default: `Case <caseId>`. */
    title?: string;
  },
): ProjectionInput {
  const done = c.status === 'DONE';
  return {
    state: {
      caseId: c.caseId,
      caseType: c.caseType,
      definitionVersion: 1,
      title: c.title ?? `Case ${c.caseId}`,
      status: c.status,
      statusCategory: done ? 'won' : 'open',
      entityId: null,
      entityName: 'Acme',
      ownerId: env.users.alice.id,
      parentCaseId: null,
      data: { amount: 1000 },
      lines: [],
      currentSteps: done ? [] : ['call'],
      createdAt: c.at,
      updatedAt: c.at + c.version,
      endedAt: done ? c.at + c.version : null,
      version: c.version,
    },
    tasks: c.tasks,
    timeline: c.timeline ?? [],
  };
}
