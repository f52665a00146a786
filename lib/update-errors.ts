/**
 * How a Temporal Update to a case can fail without having been applied, for every caller that sends one
 * (the API's gateway, import batches): such an update is sent again with the same id.
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';

/** Attempts for an update the server handed back unprocessed. */
export const UNPROCESSED_ATTEMPTS = 5;

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
