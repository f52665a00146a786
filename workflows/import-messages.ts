/** Messages of the import workflow, shared by the workflow, the API and the release step (none loads workflow code). */
import { defineQuery, defineSignal } from '@temporalio/workflow';

export const IMPORT_WORKFLOW_TYPE = 'importWorkflow';

/**
 * Workflow id of an import job's run: one per job, so starting it again (a retried request, POST .../resume,
 * the release step) joins the running one instead of starting a second.
 */
export const importWorkflowId = (jobId: string): string => `import-${jobId}`;

export interface ImportWorkflowInput {
  jobId: string;
  /** Rows per batch activity (default 100). */
  batchSize?: number;
  /** Continue-as-new after this many batches in one run (bounds history). */
  batchesPerRun?: number;
  /** Carried over by continue-as-new: the counters so far. */
  progress?: ImportProgress;
}

/** What this workflow processed (the job row in Postgres has the job's whole counts). */
export interface ImportProgress {
  processed: number;
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  batches: number;
}

/** Look for pending rows again before finishing (POST .../resume, the release step): nothing is left behind. */
export const resumeImportSignal = defineSignal('resumeImport');
export const importProgressQuery = defineQuery<ImportProgress>('importProgress');
