/**
 * The steps a release needs before workers and APIs use it, each idempotent and safe to run
 * concurrently: Temporal search attributes, the schema migrations, the definitions and their email
 * Schedules, and the workflows of import jobs that nothing runs. The worker runs them at start; the one-shot `migrate` role (compose, the Kubernetes Job)
 * runs them once before anything reads the new schema.
 */
import { createDb } from '../db';
import { listLatestDefinitions } from '../db/definitions';
import { migrate } from '../db/migrate';
import { startStaleImportWorkflows } from '../crm/import-workflows';
import { ensureSearchAttributes } from '../infra/temporal-server';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import type { Config } from './config';
import { publishAtStartup } from './publish';
import { syncSchedules } from './schedules';
import { connectTemporal } from './temporal';

/** What `applyRelease` changed, for its log line. */
export interface ReleaseReport {
  searchAttributesAdded: string[];
  migrationsApplied: string[];
  definitionsPublished: string[];
  schedules: { created: number; updated: number; deleted: number };
  /** Import jobs left running with nothing running them (the pre-workflow code's), now on a workflow. */
  importJobsStarted: string[];
}

/** Applies the release steps against `temporalAddress` and `databaseUrl`; closes what it opened. */
export async function applyRelease(
  config: Config,
  temporalAddress: string,
  databaseUrl: string,
): Promise<ReleaseReport> {
  const temporal = await connectTemporal(temporalAddress, config.temporalNamespace, config.temporalSecurity);
  const db = createDb(databaseUrl);
  try {
    // An unregistered search attribute would fail every case's workflow task: register them first.
    const added = await ensureSearchAttributes(
      temporal.connection,
      config.temporalNamespace,
      SEARCH_ATTRIBUTES,
    );
    const applied = await migrate(db);
    // A broken file is logged and skipped; its case type keeps its last published version.
    const { published } = await publishAtStartup(db, config.definitionsDir);
    // Calendar email rules become Temporal Schedules, created, updated and removed with the definitions.
    const schedules = await syncSchedules(
      temporal.client,
      (await listLatestDefinitions(db)).map((d) => d.definition),
      config.taskQueue,
    );
    // Jobs the pre-workflow code ran in API processes (a lease that stopped moving), or whose API process
    // stopped before starting their workflow: each gets its import workflow, once (workflows/import.ts).
    const importJobsStarted = await startStaleImportWorkflows(db, temporal.client, config.taskQueue);
    return {
      searchAttributesAdded: added,
      migrationsApplied: applied,
      definitionsPublished: published
        .filter((p) => p.created)
        .map((p) => `${p.stored.caseType} v${p.stored.version}`),
      schedules: {
        created: schedules.created.length,
        updated: schedules.updated.length,
        deleted: schedules.deleted.length,
      },
      importJobsStarted,
    };
  } finally {
    await temporal.connection.close();
    await db.close();
  }
}
