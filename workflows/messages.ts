/**
 * Messages of the case workflow, shared by the workflow and the API (the API never loads workflow code).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  ActorEvent,
  CaseState,
  EmailCommand,
  StartInput,
  TaskState,
  TimelineEntry,
} from '../engine/state';
import type { MigrationPlan } from '../engine/migration';
import type { CaseTypeDefinition } from '../engine/types';
import type { ProjectionInput } from '../activities/types';

export interface CaseWorkflowInput {
  definition: CaseTypeDefinition;
  start: StartInput;
  /** Carried over by continue-as-new. */
  state?: CaseState;
  /** Continue-as-new after this many history events (default: when the server suggests it). */
  continueAfterEvents?: number;
  /**
   * Carried over by continue-as-new: the read-model write the previous run had not finished (its tasks
   * as they are in `state`, its timeline entries) and the emails that waited for it. The new run writes
   * it first, then sends them; a steady stream of updates no longer keeps a run from continuing.
   */
  handover?: { tasks: string[]; timeline: TimelineEntry[]; emails: EmailCommand[] };
  /** A sub-case whose parent waits for it: on ending, it signals the parent (`subcaseEndedSignal`). */
  notifyParent?: boolean;
  /** Carried by continue-as-new: ids of the user actions the case applied last, newest last (never applied twice). */
  appliedUpdates?: string[];
}

export interface CaseSummary {
  caseId: string;
  caseType: string;
  status: string;
  statusCategory: string;
  ended: boolean;
  version: number;
  /**
   * The read-model write of this committed change (docs/projection.md). Temporal hands an update's result
   * to the client only once it is in history, so what the API writes from it was committed. Absent in
   * results of cases still running the old projection (a local activity inside the update).
   */
  projection?: ProjectionInput;
}

export interface ActionResult {
  case: CaseSummary;
  task: TaskState | null;
  /** See `CaseSummary.projection`. */
  projection?: ProjectionInput;
}

export interface CaseOutcome {
  status: string;
  category: CaseState['statusCategory'];
  /**
   * The changes the workflow left to the API's write when an action ended the case (docs/projection.md):
   * the worker's sweep (worker/read-model-repair.ts) writes them if the API never did.
   */
  projection?: ProjectionInput;
}

/** Sent by a sub-case, as it ends, to the parent that waits for it. */
export const subcaseEndedSignal =
  defineSignal<[{ childCaseId: string; status: string; category: CaseState['statusCategory'] }]>(
    'subcaseEnded',
  );

/** Applies a user's action (claim, complete, ...). Rejected by the validator when not allowed. */
export const actUpdate = defineUpdate<ActionResult, [ActorEvent]>('act');
/** Returns once the case's state is projected to Postgres; used right after starting a case. */
export const readyUpdate = defineUpdate<CaseSummary, []>('ready');
/** Moves the case to a newer definition version (see engine/migration.ts); rejected if it cannot move. */
export const migrateUpdate = defineUpdate<
  CaseSummary,
  [{ plan: MigrationPlan; definition: CaseTypeDefinition; actor: string }]
>('migrate');
export const stateQuery = defineQuery<CaseState>('state');

export const CASE_WORKFLOW_TYPE = 'caseWorkflow';
