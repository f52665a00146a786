import type { ImportBatchCounts } from '../crm/imports';
/** What one batch of an import job did. `fetched` 0 means no row of the job is pending. */
export type ImportBatchResult = ImportBatchCounts;

/** The activities of the import workflow. Implemented by `createImportActivities`. */
export interface ImportActivities {
  /**
   * Processes the job's next `limit` pending rows (line order, a few at a time), heartbeating, and counts
   * each in the job row. Safe to retry and to run twice at once: a row is recorded only while it is pending,
   * a case already started is found by its id, each action has an update id of the job's row.
   */
  importBatch(input: { jobId: string; limit: number }): Promise<ImportBatchResult>;
  /** Marks the job completed when none of its rows is pending. */
  importFinished(jobId: string): Promise<void>;
}
