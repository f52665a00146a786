import { continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type * as importTypes from '../activities/import-types';
import {
  importProgressQuery,
  resumeImportSignal,
  type ImportProgress,
  type ImportWorkflowInput,
} from './import-messages';

const { importFinished } = proxyActivities<importTypes.ImportActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

/**
 * A batch heartbeats every few seconds while it runs, so a worker that dies mid-batch is noticed within the
 * heartbeat timeout and the batch is retried on another worker; its rows already recorded are skipped.
 * Retried without limit: an engine or database outage delays the job, it never fails its rows.
 */
const { importBatch } = proxyActivities<importTypes.ImportActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '15 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

const DEFAULT_BATCH_SIZE = 100;
/** Batches per run before continuing as new: each batch adds a handful of events. */
const DEFAULT_BATCHES_PER_RUN = 500;

/**
 * Runs an import job (crm/imports.ts): its pending rows, in batches, each an activity that starts or updates
 * the rows' cases and counts them in the job row, which the API's GET routes read. The rows and the counters
 * live in Postgres, so the workflow holds only its own counters; a repeated start joins the running one.
 */
export async function importWorkflow(input: ImportWorkflowInput): Promise<ImportProgress> {
  const progress: ImportProgress = input.progress ?? {
    processed: 0,
    created: 0,
    updated: 0,
    unchanged: 0,
    failed: 0,
    batches: 0,
  };
  setHandler(importProgressQuery, () => progress);
  /** A resume came in since the rows were last looked at. */
  let resumeRequested = false;
  setHandler(resumeImportSignal, () => {
    resumeRequested = true;
  });
  const batchSize = input.batchSize ?? DEFAULT_BATCH_SIZE;
  const batchesPerRun = input.batchesPerRun ?? DEFAULT_BATCHES_PER_RUN;

  for (let inThisRun = 0; ; inThisRun++) {
    if (inThisRun >= batchesPerRun || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof importWorkflow>({ ...input, progress });
    }
    resumeRequested = false;
    const batch = await importBatch({ jobId: input.jobId, limit: batchSize });
    if (batch.stopped) break;
    if (batch.fetched === 0) {
      if (resumeRequested) continue;
      await importFinished(input.jobId);
      if (!resumeRequested) break;
      continue;
    }
    progress.processed += batch.processed;
    progress.created += batch.created;
    progress.updated += batch.updated;
    progress.unchanged += batch.unchanged;
    progress.failed += batch.failed;
    progress.batches += 1;
  }
  return progress;
}
