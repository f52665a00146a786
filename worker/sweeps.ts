/**
 * What every worker process checks every SWEEP_EVERY_MS, beside its Temporal work: each check is idempotent
 * and safe with many workers at once.
 * - Ended cases whose end the read model lacks (an API process stopped between Temporal's answer and its
 *   write): `sweepEndedCases`, worker/read-model-repair.ts.
 * - Import jobs that nothing runs (an API process stopped between storing a job and starting its workflow,
 *   or jobs left by releases before import workflows): `startStaleImportWorkflows`, crm/import-workflows.ts.
 *   Without this, such a job waited for the next release step or a `POST /api/imports/:id/resume`.
 */
import type { Client } from '@temporalio/client';
import { startStaleImportWorkflows } from '../crm/import-workflows';
import type { Db } from '../db';
import { logger } from '../lib/logger';
import { sweepEndedCases } from './read-model-repair';

export const SWEEP_EVERY_MS = 30_000;

/** One round of every check; a failing check is logged and does not stop the others. */
export async function sweepOnce(db: Db, client: Client, taskQueue: string): Promise<void> {
  await sweepEndedCases(db, client).catch((err: unknown) =>
    logger.warn({ err }, 'could not sweep ended cases for lost read-model writes'),
  );
  await startStaleImportWorkflows(db, client, taskQueue).catch((err: unknown) =>
    logger.warn({ err }, 'could not look for import jobs that nothing runs'),
  );
}

/** Sweeps now and every SWEEP_EVERY_MS until stopped (one round at a time per process). */
export function startWorkerSweeps(db: Db, client: Client, taskQueue: string): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const sweep = () => {
    running ??= sweepOnce(db, client, taskQueue).finally(() => {
      running = undefined;
    });
  };
  sweep();
  const timer = setInterval(sweep, SWEEP_EVERY_MS).unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
