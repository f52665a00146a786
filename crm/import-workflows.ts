/**
 * Starting import jobs' workflows (workflows/import.ts): the API when it stores a job or resumes one, and the
 * release step for jobs that nothing runs (left by the pre-workflow code, or by an API process that stopped
 * between storing a job and starting its workflow).
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Queryable } from '../db';
import { logger } from '../lib/logger';
import type { importWorkflow } from '../workflows/import';
import {
  IMPORT_WORKFLOW_TYPE,
  importWorkflowId,
  resumeImportSignal,
  type ImportWorkflowInput,
} from '../workflows/import-messages';
import { claimStaleImportJobs, STALE_IMPORT_MS } from './imports';

/**
 * Starts the job's workflow (id `import-<job id>`), or, when it runs already, asks it to look for pending rows
 * once more (signal-with-start): a job never has two.
 */
export async function startImportWorkflow(
  client: Client,
  taskQueue: string,
  jobId: string,
): Promise<WorkflowHandle<typeof importWorkflow>> {
  const input: ImportWorkflowInput = { jobId };
  return client.workflow.signalWithStart<typeof importWorkflow, []>(IMPORT_WORKFLOW_TYPE, {
    workflowId: importWorkflowId(jobId),
    taskQueue,
    args: [input],
    signal: resumeImportSignal,
  });
}

/**
 * Starts the workflows of the running jobs whose progress has not moved for `staleMs` (claimed as
 * `claimStaleImportJobs` says, so concurrent release steps claim each job once). A claimed job whose workflow
 * still runs (its worker was down) is only signalled. Returns the ids of the jobs claimed.
 */
export async function startStaleImportWorkflows(
  db: Queryable,
  client: Client,
  taskQueue: string,
  staleMs = STALE_IMPORT_MS,
): Promise<string[]> {
  const ids = await claimStaleImportJobs(db, staleMs);
  for (const id of ids) {
    logger.info({ jobId: id }, 'starting the workflow of an import job that nothing runs');
    await startImportWorkflow(client, taskQueue, id);
  }
  return ids;
}
