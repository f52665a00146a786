import { Context } from '@temporalio/activity';
import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from '../db';
import {
  finishImportJob,
  ImportEngineUnavailableError,
  processImportBatch,
  type ImportEngine,
} from '../crm/imports';
import type { ImportActivities } from './import-types';
import { projectCase } from './projection';
import { isUnprocessed, sendAction, startCaseWorkflow } from '../lib/case-updates';

/** How long one start or action of an import may wait for the engine before its batch is retried. */
const ENGINE_CALL_MS = 30_000;
/** No answer from the engine (deadline, unreachable): the row is not at fault and is tried again later. */
function unanswered(err: unknown): boolean {
  const code = (err as { code?: number }).code;
  return (
    err instanceof WorkflowUpdateRPCTimeoutOrCancelledError ||
    code === 4 /* DEADLINE_EXCEEDED */ ||
    code === 14 /* UNAVAILABLE */ ||
    /deadline/i.test(String((err as Error).message))
  );
}

/**
 * The engine of an import batch, with the worker's own Temporal client: a start is the API's (an
 * update-with-start of `ready`, its committed projection written before the row goes on), an action an `act`
 * Update with the row's update id (`import:<job>:<line>:data|status`, as the API-run jobs used, so a job
 * those left half done applies nothing twice). A refusal is the row's error; no answer is
 * `ImportEngineUnavailableError`.
 */
export function workerImportEngine(db: Db, client: Client, taskQueue: string): ImportEngine {
  const bounded = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await client.withDeadline(Date.now() + ENGINE_CALL_MS, fn);
    } catch (err) {
      if (unanswered(err)) throw new ImportEngineUnavailableError(String((err as Error).message));
      throw err;
    }
  };
  return {
    async start(definition, start) {
      // Written from the ready Update's result, as the API does.
      const summary = await startCaseWorkflow(client, taskQueue, definition, start, bounded);
      if (summary.projection) await projectCase(db, summary.projection);
      return summary;
    },
    async act(caseId, event, updateId) {
      try {
        const result = await sendAction(client, caseId, event, `import:${updateId}`, bounded);
        if (result.projection) await projectCase(db, result.projection);
        return result;
      } catch (err) {
        if (isUnprocessed(err)) throw new ImportEngineUnavailableError(`case ${caseId} is busy`);
        if (err instanceof WorkflowNotFoundError) throw new Error(`Case ${caseId} is no longer running`);
        if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure)
          throw new Error(err.cause.message);
        throw err;
      }
    },
  };
}

/** Builds the import activities over the pool (workflows/import.ts). */
export function createImportActivities(db: Db): ImportActivities {
  return {
    async importBatch({ jobId, limit }) {
      const ctx = Context.current();
      const engine = workerImportEngine(db, ctx.client, ctx.info.taskQueue);
      let rows = 0;
      ctx.heartbeat(rows);
      // Heartbeats while a slow row runs too, so only a dead worker misses the heartbeat timeout.
      const timer = setInterval(() => ctx.heartbeat(rows), 2000);
      try {
        return await processImportBatch(db, jobId, engine, limit, {
          onRow: () => ctx.heartbeat(++rows),
          signal: ctx.cancellationSignal,
        });
      } finally {
        clearInterval(timer);
      }
    },
    importFinished: (jobId) => finishImportJob(db, jobId),
  };
}
