/**
 * Sending a case its start and its actions as Temporal Updates, for every caller that does (the API's
 * gateway, import batches on the workers). Each caller bounds the calls with its own deadline and maps the
 * errors to its own (a problem, a row's error); what a start and an action are, and when an action that was
 * not applied is sent again, is the same for all.
 */
import { WithStartWorkflowOperation, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { ActorEvent, StartInput } from '../engine/state';
import type { CaseTypeDefinition } from '../engine/types';
import {
  actUpdate,
  readyUpdate,
  CASE_WORKFLOW_TYPE,
  type ActionResult,
  type CaseSummary,
  type CaseWorkflowInput,
} from '../workflows/messages';
import { CASE_TYPE } from '../workflows/search-attributes';

/** Attempts for an update the server handed back unprocessed. */
const UNPROCESSED_ATTEMPTS = 5;

/** The server handed the update back unprocessed (a burst of updates to one case): it was not applied. */
export function isUnprocessed(err: unknown): boolean {
  if (
    err instanceof WorkflowUpdateFailedError &&
    err.cause instanceof ApplicationFailure &&
    err.cause.type === 'UnprocessedUpdate'
  ) {
    return true;
  }
  // The workflow task that carried the update failed before accepting it (seen when an update lands
  // in the task where the run continues as new): the update was not applied, and a retry with the same
  // id reaches the new run.
  const cause = (err as { cause?: { code?: number; details?: string; message?: string } } | undefined)?.cause;
  return (
    cause?.code === 9 /* FAILED_PRECONDITION */ &&
    /unexpected workflow task failure/i.test(`${cause.details ?? ''} ${cause.message ?? ''}`)
  );
}

/** Runs one Temporal call under the caller's deadline and error mapping. */
export type Bounded = <T>(fn: () => Promise<T>) => Promise<T>;

/**
 * Starts the case's workflow with its ready Update (update-with-start; a repeated start joins the running
 * one) and returns the ready result, whose projection the caller writes (so the workflow backs the start
 * up lazily: `startWrittenByApi`).
 */
export function startCaseWorkflow(
  client: Client,
  taskQueue: string,
  definition: CaseTypeDefinition,
  start: StartInput,
  bounded: Bounded,
  memo?: Record<string, unknown>,
): Promise<CaseSummary> {
  const input: CaseWorkflowInput = { definition, start, startWrittenByApi: true };
  const operation = new WithStartWorkflowOperation(CASE_WORKFLOW_TYPE, {
    workflowId: start.caseId,
    taskQueue,
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    ...(memo ? { memo } : {}),
    typedSearchAttributes: [{ key: CASE_TYPE, value: start.caseType }],
  });
  return bounded(() =>
    client.workflow.executeUpdateWithStart(readyUpdate, { startWorkflowOperation: operation }),
  );
}

/**
 * Sends an action as the `act` Update with `updateId`. Under a burst of updates to one case the server may
 * hand an update back unprocessed (not applied): it is sent again, with the same id so it still applies at
 * most once, up to UNPROCESSED_ATTEMPTS times; the last such error, like any other, is thrown.
 */
export async function sendAction(
  client: Client,
  caseId: string,
  event: ActorEvent,
  updateId: string,
  bounded: Bounded,
): Promise<ActionResult> {
  const handle = client.workflow.getHandle(caseId);
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await bounded(() => handle.executeUpdate(actUpdate, { args: [event], updateId }));
    } catch (err) {
      if (!isUnprocessed(err) || attempt >= UNPROCESSED_ATTEMPTS) throw err;
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
    }
  }
}
