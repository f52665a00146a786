/**
 * The safety net under the API's writes of ended cases (docs/projection.md). An action that ends a case
 * ends its workflow in the update's own workflow task; the read model then holds the end only through the
 * API's write of the update's committed result. If the API process died between Temporal's answer and that
 * write, the ended workflow's result still carries the last changes (`CaseOutcome.projection`): this sweep
 * lists case workflows that completed since a point in time, and writes the result of each one whose case
 * row does not show it ended. Writes are versioned and idempotent, so sweeping a window twice, or two
 * workers sweeping at once, changes nothing.
 */
import type { Client } from '@temporalio/client';
import { projectCase } from '../activities/projection';
import type { Db } from '../db';
import { logger } from '../lib/logger';
import { CASE_WORKFLOW_TYPE, type CaseOutcome } from '../workflows/messages';

/** Ids checked against the read model per query. */
const BATCH = 500;

export interface RepairSweep {
  db: Db;
  client: Client;
  /** Workflows that completed at or after this time are checked. */
  since: Date;
}

/** Case ids whose read model the sweep wrote (normally none), and how many ended workflows it looked at. */
export interface RepairResult {
  checked: number;
  repaired: string[];
}

export async function repairEndedCases({ db, client, since }: RepairSweep): Promise<RepairResult> {
  const query =
    `WorkflowType = '${CASE_WORKFLOW_TYPE}' AND ExecutionStatus = 'Completed' ` +
    `AND CloseTime >= '${since.toISOString()}'`;
  const result: RepairResult = { checked: 0, repaired: [] };
  let batch: { workflowId: string; runId: string }[] = [];
  const flush = async () => {
    const ids = batch.map((w) => w.workflowId);
    const shown = new Set(
      (
        (await db.query(`SELECT id FROM cases WHERE id = ANY($1::text[]) AND ended_at IS NOT NULL`, [
          ids,
        ])) as { id: string }[]
      ).map((r) => r.id),
    );
    for (const run of batch) {
      if (shown.has(run.workflowId)) continue;
      const outcome = (await client.workflow.getHandle(run.workflowId, run.runId).result()) as CaseOutcome;
      // Runs that ended by continuing as new are not listed (their status is ContinuedAsNew); results of
      // older workers carry no projection: their workflow wrote the end itself before it ended.
      if (!outcome?.projection) continue;
      await projectCase(db, outcome.projection);
      result.repaired.push(run.workflowId);
    }
    result.checked += batch.length;
    batch = [];
  };
  for await (const info of client.workflow.list({ query })) {
    batch.push({ workflowId: info.workflowId, runId: info.runId });
    if (batch.length >= BATCH) await flush();
  }
  if (batch.length > 0) await flush();
  if (result.repaired.length > 0) {
    logger.warn(
      { cases: result.repaired },
      'wrote the end of cases whose ending action the API had not written (an API process stopped mid-request?)',
    );
  }
  return result;
}

/** Visibility is eventually consistent: a close may be listed a little after its CloseTime. */
export const REPAIR_OVERLAP_MS = 60_000;
const SWEEP = 'ended-cases';

/**
 * One sweep from where the last one (of any worker) got to, minus the overlap; the first ever sweep
 * looks back one overlap. Records how far it got only when it finished.
 */
export async function sweepEndedCases(db: Db, client: Client): Promise<RepairResult> {
  const startedAt = new Date();
  // Read as epoch milliseconds: the pool returns timestamps as text.
  const rows = (await db.query(
    `SELECT (extract(epoch FROM swept_until) * 1000)::float8 AS ms FROM read_model_sweeps WHERE name = $1`,
    [SWEEP],
  )) as { ms: number }[];
  const from = rows[0]?.ms ?? startedAt.getTime();
  const result = await repairEndedCases({ db, client, since: new Date(from - REPAIR_OVERLAP_MS) });
  await db.query(
    `INSERT INTO read_model_sweeps (name, swept_until) VALUES ($1, $2)
     ON CONFLICT (name) DO UPDATE SET swept_until = GREATEST(read_model_sweeps.swept_until, EXCLUDED.swept_until)`,
    [SWEEP, startedAt],
  );
  return result;
}
