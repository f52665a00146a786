import { Router } from 'express';
import { WorkflowNotFoundError } from '@temporalio/client';
import { definitionVersion, latestDefinition, listLatestDefinitions } from '../../db/definitions';
import { casePlan, checkMigrationPlan, type MigrationPlan } from '../../engine/migration';
import type { CaseState } from '../../engine/state';
import { toHtml, toMermaid } from '../../designer/diagram';
import { migrateUpdate, stateQuery } from '../../workflows/messages';
import { callerOf, requireRole } from '../auth';
import type { ApiContext } from '../context';
import { ProblemError } from '../problem';
import { check } from '../validation';
import { loadVisibleCase } from './cases';

const stepMap = {
  type: 'object',
  additionalProperties: { type: 'string', minLength: 1, maxLength: 100 },
  maxProperties: 500,
};

export const migrationSchema = {
  type: 'object',
  properties: {
    fromVersion: { type: 'integer', minimum: 1 },
    toVersion: { type: 'integer', minimum: 1 },
    steps: stepMap,
    statuses: stepMap,
    dryRun: { type: 'boolean', default: true },
  },
  required: ['fromVersion', 'toVersion'],
  additionalProperties: false,
};

const diagramQuery = {
  type: 'object',
  properties: {
    caseId: { type: 'string', minLength: 1, maxLength: 200 },
    version: { type: 'string', pattern: '^[0-9]{1,6}$' },
    format: { enum: ['html', 'mermaid', 'svg'] },
  },
  additionalProperties: false,
};

/** Running cases of one version that a migration would consider. */
const MAX_MIGRATION_BATCH = 1000;

export function caseTypeRoutes(ctx: ApiContext): Router {
  const router = Router();

  router.get('/case-types', async (req, res) => {
    callerOf(req);
    const latest = await listLatestDefinitions(ctx.db);
    res.json({
      items: latest.map((d) => ({
        id: d.caseType,
        name: d.definition.name,
        version: d.version,
        label: d.label,
        publishedAt: d.publishedAt,
        statuses: d.definition.statuses,
      })),
    });
  });

  router.get('/case-types/:id', async (req, res) => {
    callerOf(req);
    const latest = await latestDefinition(ctx.db, req.params.id);
    if (!latest) throw ProblemError.notFound(`Case type ${req.params.id}`);
    const versions = await ctx.db.query(
      'SELECT version, label, hash, published_at AS "publishedAt" FROM case_type_versions WHERE case_type = $1 ORDER BY version',
      [req.params.id],
    );
    res.json({ id: latest.caseType, version: latest.version, definition: latest.definition, versions });
  });

  /** The definition as a picture; with `caseId`, the case's current steps are highlighted. */
  router.get('/case-types/:id/diagram', async (req, res) => {
    const caller = callerOf(req);
    const query = check<{ caseId?: string; version?: string; format?: 'html' | 'mermaid' | 'svg' }>(
      diagramQuery,
      { ...req.query },
      '/query',
    );
    let version = query.version === undefined ? undefined : Number(query.version);
    let highlight: { currentSteps: string[]; visited?: string[] } | undefined;
    if (query.caseId !== undefined) {
      const row = await loadVisibleCase(ctx, caller, query.caseId);
      if (row.case_type !== req.params.id)
        throw ProblemError.notFound(`Case ${query.caseId} of type ${req.params.id}`);
      version ??= row.definition_version as number;
      const visited = await ctx.db.query<{ step: string }>(
        'SELECT DISTINCT step FROM tasks WHERE case_id = $1 AND step IS NOT NULL',
        [row.id],
      );
      highlight = { currentSteps: row.current_steps as string[], visited: visited.map((v) => v.step) };
    }
    const stored =
      version === undefined
        ? await latestDefinition(ctx.db, req.params.id)
        : await definitionVersion(ctx.db, req.params.id, version);
    if (!stored)
      throw ProblemError.notFound(
        `Case type ${req.params.id}${version === undefined ? '' : ` version ${version}`}`,
      );
    const format =
      query.format ?? (req.accepts(['text/html', 'text/plain']) === 'text/plain' ? 'mermaid' : 'html');
    if (format === 'mermaid') res.type('text/plain').send(toMermaid(stored.definition, highlight));
    else res.type('text/html').send(toHtml(stored.definition, highlight));
  });

  /**
   * Migrates running cases from one version to a later one. Dry-run (the default) reports what would
   * move and what cannot; `dryRun: false` applies it case by case through each case workflow.
   */
  router.post('/case-types/:id/migrations', async (req, res) => {
    const caller = requireRole(req, 'designer', 'admin');
    const body = check<{
      fromVersion: number;
      toVersion: number;
      steps?: Record<string, string>;
      statuses?: Record<string, string>;
      dryRun?: boolean;
    }>(migrationSchema, req.body ?? {}, '/body');
    const [from, to] = await Promise.all([
      definitionVersion(ctx.db, req.params.id, body.fromVersion),
      definitionVersion(ctx.db, req.params.id, body.toVersion),
    ]);
    if (!from || !to) {
      throw ProblemError.badRequest('Unknown version', [
        {
          pointer: from ? '/body/toVersion' : '/body/fromVersion',
          message: `is not a published version of ${req.params.id}`,
        },
      ]);
    }
    const plan: MigrationPlan = {
      caseType: req.params.id,
      fromVersion: body.fromVersion,
      toVersion: body.toVersion,
    };
    if (body.steps) plan.steps = body.steps;
    if (body.statuses) plan.statuses = body.statuses;
    const planProblems = checkMigrationPlan(plan, from.definition, to.definition);
    if (planProblems.length > 0) {
      throw ProblemError.badRequest(
        'The migration plan is not valid',
        planProblems.map((p) => ({ pointer: `/body${p.pointer}`, message: p.message })),
      );
    }
    const running = await ctx.db.query<{ id: string }>(
      'SELECT id FROM cases WHERE case_type = $1 AND definition_version = $2 AND ended_at IS NULL ORDER BY created_at LIMIT $3',
      [req.params.id, body.fromVersion, MAX_MIGRATION_BATCH],
    );
    const dryRun = body.dryRun !== false;
    const cases: { caseId: string; result: string; problems: string[]; [key: string]: unknown }[] = [];
    for (const { id } of running) {
      const handle = ctx.client.workflow.getHandle(id);
      let state: CaseState;
      try {
        state = await handle.query(stateQuery);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) continue;
        throw err;
      }
      const move = casePlan(plan, to.definition, state);
      let result: 'would-move' | 'moved' | 'blocked' | 'failed' =
        move.problems.length > 0 ? 'blocked' : 'would-move';
      let error: string | undefined;
      if (!dryRun && result === 'would-move') {
        try {
          await handle.executeUpdate(migrateUpdate, {
            args: [{ plan, definition: to.definition, actor: caller.userId }],
            updateId: `migrate-${plan.fromVersion}-${plan.toVersion}`,
          });
          result = 'moved';
        } catch (err) {
          result = 'failed';
          error =
            (err as Error).cause instanceof Error
              ? ((err as Error).cause as Error).message
              : (err as Error).message;
        }
      }
      cases.push({
        caseId: id,
        result,
        status: move.status,
        steps: move.steps,
        problems: move.problems,
        ...(error ? { error } : {}),
      });
    }
    const count = (r: string) => cases.filter((c) => c.result === r).length;
    res.json({
      dryRun,
      plan,
      summary: {
        considered: cases.length,
        wouldMove: count('would-move'),
        moved: count('moved'),
        blocked: count('blocked'),
        failed: count('failed'),
      },
      cases,
    });
  });

  return router;
}
