import { randomUUID } from 'node:crypto';
import express, { Router } from 'express';
import { definitionVersion, latestDefinition } from '../../db/definitions';
import {
  casesFromCsv,
  casesFromJson,
  createImportJob,
  importView,
  MAX_IMPORT_CASES,
  prepareCases,
  runImportJob,
  type ImportCase,
} from '../../crm/imports';
import { logger } from '../../lib/logger';
import { requireRole } from '../auth';
import type { ApiContext } from '../context';
import { ProblemError } from '../problem';
import { check } from '../validation';
import { flag, pageLimit, queryString, textBody } from './crm-common';

const jsonSchema = {
  type: 'object',
  properties: {
    caseType: { type: 'string', minLength: 1, maxLength: 100 },
    filename: { type: 'string', maxLength: 200 },
    cases: { type: 'array', minItems: 1, maxItems: MAX_IMPORT_CASES, items: { type: 'object' } },
  },
  required: ['caseType', 'cases'],
  additionalProperties: false,
};

async function loadJob(ctx: ApiContext, id: string) {
  const [row] = await ctx.db.query('SELECT * FROM imports WHERE id = $1', [id]);
  if (!row) throw ProblemError.notFound(`Import ${id}`);
  return row;
}

export function importRoutes(ctx: ApiContext): Router {
  const router = Router();
  const startCase = ctx.gateway.start.bind(ctx.gateway);

  /**
   * Imports case headers and lines: JSON `{caseType, cases: [...]}` or CSV (`?caseType=`). The whole document is
   * checked first; with errors nothing is written (400 listing each one) unless `?acceptValid=true`. The cases
   * are then started by an import job: 202 with its progress at `Location`, or the finished job with `?wait=true`.
   */
  router.post(
    '/imports',
    express.text({ type: ['text/csv', 'application/csv'], limit: '50mb' }),
    async (req, res) => {
      const caller = requireRole(req, 'supervisor', 'admin');
      const acceptValid = flag(req, 'acceptValid');
      const wait = flag(req, 'wait');
      let format: 'json' | 'csv';
      let caseType: string;
      let filename: string | null = null;
      let body: unknown;
      if (typeof req.body === 'string') {
        format = 'csv';
        const fromQuery = queryString(req, 'caseType', 100);
        if (!fromQuery)
          throw ProblemError.badRequest('Name the case type of a CSV import', [
            { pointer: '/query/caseType', message: 'is required for CSV' },
          ]);
        caseType = fromQuery;
        filename = req.get('x-filename')?.slice(0, 200) ?? null;
      } else if (req.is('application/json')) {
        format = 'json';
        body = check<{ caseType: string; filename?: string; cases: ImportCase[] }>(
          jsonSchema,
          req.body ?? {},
          '/body',
        );
        caseType = (body as { caseType: string }).caseType;
        filename = (body as { filename?: string }).filename ?? null;
      } else {
        throw new ProblemError(
          415,
          'unsupported-media-type',
          'Unsupported media type',
          'Send application/json or text/csv',
        );
      }
      const stored = await latestDefinition(ctx.db, caseType);
      if (!stored)
        throw ProblemError.badRequest(`Unknown case type "${caseType}"`, [
          {
            pointer: format === 'csv' ? '/query/caseType' : '/body/caseType',
            message: 'is not a published case type',
          },
        ]);
      const cases =
        format === 'csv'
          ? casesFromCsv(textBody(req, ['text/csv']), stored.definition)
          : casesFromJson(body as { cases: ImportCase[] });
      if (cases.length === 0)
        throw ProblemError.badRequest('The document has no cases', [
          { pointer: '/body', message: 'has no rows' },
        ]);
      if (cases.length > MAX_IMPORT_CASES)
        throw new ProblemError(
          413,
          'too-many-rows',
          'Too many cases',
          `An import has at most ${MAX_IMPORT_CASES} cases`,
        );
      const { valid, errors } = await prepareCases(ctx.db, stored, cases, caller.userId);
      if (errors.length > 0 && !acceptValid) {
        throw ProblemError.badRequest(
          `${errors.length} error(s) in ${new Set(errors.map((e) => e.line)).size} of ${cases.length} case(s); nothing was imported. Fix them, or send ?acceptValid=true to import the ${valid.length} valid case(s).`,
          errors,
        );
      }
      const id = `imp-${randomUUID()}`;
      await createImportJob(
        ctx.db,
        { id, format, filename, caseType, definitionVersion: stored.version, createdBy: caller.userId },
        valid,
        errors,
      );
      const run = runImportJob(ctx.db, id, stored, startCase, caller.userId);
      if (wait) await run;
      else run.catch((err: unknown) => logger.error({ err, id }, 'import job failed'));
      res
        .status(wait ? 200 : 202)
        .location(`/api/imports/${id}`)
        .json(importView(await loadJob(ctx, id)));
    },
  );

  router.get('/imports/:id', async (req, res) => {
    requireRole(req, 'supervisor', 'admin');
    res.json(importView(await loadJob(ctx, req.params.id)));
  });

  /** The rows of an import with their outcome (`?state=failed` for the error report). */
  router.get('/imports/:id/rows', async (req, res) => {
    requireRole(req, 'supervisor', 'admin');
    const job = await loadJob(ctx, req.params.id);
    const state = queryString(req, 'state', 20);
    const rows = await ctx.db.query(
      `SELECT line, external_key, state, case_id, error FROM import_rows
       WHERE import_id = $1 AND ($2::text IS NULL OR state = $2) ORDER BY line LIMIT $3`,
      [job.id, state ?? null, pageLimit(req, 1000, 10_000)],
    );
    res.json({
      items: rows.map((r) => ({
        line: r.line,
        externalKey: r.external_key,
        state: r.state,
        caseId: r.case_id,
        error: r.error,
      })),
    });
  });

  /** Resumes a job that stopped (the API restarted, the engine was down): its pending rows are processed. */
  router.post('/imports/:id/resume', async (req, res) => {
    const caller = requireRole(req, 'supervisor', 'admin');
    const job = await loadJob(ctx, req.params.id);
    const stored = await definitionVersion(ctx.db, job.case_type as string, job.definition_version as number);
    if (!stored)
      throw new ProblemError(
        409,
        'case-type-gone',
        'The case type is gone',
        `Case type ${String(job.case_type)} is not published`,
      );
    await ctx.db.query(`UPDATE imports SET status = 'running', finished_at = NULL WHERE id = $1`, [job.id]);
    const run = runImportJob(ctx.db, String(job.id), stored, startCase, caller.userId);
    if (flag(req, 'wait')) await run;
    else run.catch((err: unknown) => logger.error({ err, id: job.id }, 'import job failed'));
    res.status(202).json(importView(await loadJob(ctx, String(job.id))));
  });

  return router;
}
