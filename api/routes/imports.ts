import { Type, type Static } from '@sinclair/typebox';
import { randomUUID } from 'node:crypto';
import express, { Router } from 'express';
import { definitionVersion, latestDefinition } from '../../db/definitions';
import {
  casesFromCsv,
  casesFromJson,
  casesFromSheet,
  defaultDecimal,
  userLocale,
  createImportJob,
  discardImportJob,
  findImportJob,
  importRows,
  importView,
  reopenImportJob,
  MAX_IMPORT_CASES,
  prepareCases,
  type ImportCase,
} from '../../crm/imports';
import { startImportWorkflow } from '../../crm/import-workflows';
import { readXlsxCells, type DecimalMark } from '../../crm/spreadsheet';
import { logger } from '../../lib/logger';
import { permit } from '../../crm/permissions';
import { callerOf } from '../auth';
import type { ApiContext } from '../context';
import {
  dateTime,
  nullableDateTime,
  problemResponses,
  problemSchema,
  type OperationSpec,
} from '../operation';
import { ProblemError } from '../problem';
import { check } from '../validation';
import { flag, pageLimit, queryString, textBody } from './crm-common';

/**
 * JSON body of `POST /imports`. Each case is only an object here: `importCaseSchema` checks it case by case
 * while the job runs, so that one wrong case is an error of its row, not a 400 of the whole document.
 */
const jsonSchema = Type.Object(
  {
    caseType: Type.String({ minLength: 1, maxLength: 100 }),
    filename: Type.Optional(Type.String({ maxLength: 200 })),
    cases: Type.Array(Type.Unsafe<ImportCase>({ type: 'object' }), {
      minItems: 1,
      maxItems: MAX_IMPORT_CASES,
    }),
  },
  { additionalProperties: false },
);

const booleanFlag = { type: 'string', enum: ['true', 'false', '1', '0'] };

/** The query parameters `POST /imports` reads (with `flag` and `queryString`). */
const importQuery = {
  type: 'object',
  properties: {
    caseType: {
      type: 'string',
      maxLength: 100,
      description: 'Case type of a CSV document (required for CSV; JSON names it in the body)',
    },
    acceptValid: {
      ...booleanFlag,
      description: 'Import the valid cases even when others have errors (these are reported in the job)',
    },
    wait: { ...booleanFlag, description: 'Answer 200 once the job has finished instead of 202 at once' },
    decimal: {
      type: 'string',
      enum: [',', '.'],
      description:
        'Decimal mark of numbers written as text in a CSV or .xlsx sheet: `,` reads 1.234,5 and 1234,5 as 1234.5 and ' +
        '1.234 as 1234; `.` reads 1,234.5 as 1234.5 and 1.234 as 1.234. A number cell the mark cannot read is an ' +
        "error of its row. Default: `,` for a semicolon-separated CSV, else the mark of the user's locale " +
        '(`,` for es, ca, fr, de, it, pt, ...; `.` for en). Ignored for JSON',
    },
  },
};

const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** The query parameters `GET /imports/:id/rows` reads. */
const rowsQuery = {
  type: 'object',
  properties: {
    state: {
      type: 'string',
      maxLength: 20,
      description:
        'Only rows in this state: pending, created, updated, unchanged or failed (the error report)',
    },
    limit: {
      type: 'string',
      pattern: '^[0-9]{1,6}$',
      description: 'At most this many rows (default 1000, max 10000)',
    },
  },
};

/** The query parameter `POST /imports/:id/resume` reads. */
const resumeQuery = {
  type: 'object',
  properties: {
    wait: { ...booleanFlag, description: 'Answer once the pending rows have been processed' },
  },
};

const importErrorSchema = {
  type: 'object',
  properties: {
    line: { type: 'integer', description: 'Case index (JSON, from 1) or CSV line' },
    externalKey: { type: ['string', 'null'] },
    pointer: { type: 'string' },
    message: { type: 'string' },
  },
};

/** An import job as `importView` shows it. */
const importJobSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    kind: { type: 'string', description: 'cases (the only kind so far)' },
    format: { enum: ['json', 'csv', 'xlsx'] },
    filename: { type: ['string', 'null'] },
    caseType: { type: 'string' },
    decimal: {
      enum: [',', '.', null],
      description: "Decimal mark the sheet's text numbers were read with; null for JSON",
    },
    status: { enum: ['running', 'completed', 'failed'] },
    result: {
      enum: ['imported', 'unchanged', 'partial', null],
      description: 'null while running; partial when a case failed',
    },
    total: { type: 'integer', description: 'Valid cases to start' },
    processed: { type: 'integer' },
    created: { type: 'integer' },
    updated: {
      type: 'integer',
      description: 'External keys already imported whose case had data fields, lines or status changed',
    },
    unchanged: {
      type: 'integer',
      description: 'External keys already imported whose case already had what the row says',
    },
    failed: { type: 'integer' },
    percent: { type: 'integer' },
    errors: {
      type: 'array',
      items: importErrorSchema,
      description: 'Cases rejected by the check (with acceptValid) and cases that failed to start',
    },
    createdAt: dateTime,
    updatedAt: dateTime,
    finishedAt: nullableDateTime,
  },
  required: ['id', 'format', 'caseType', 'status', 'result', 'total', 'processed', 'percent', 'errors'],
};

/** The import routes, for the OpenAPI document. */
export const importOperations: OperationSpec[] = [
  {
    method: 'post',
    path: '/api/imports',
    operationId: 'importCases',
    tag: 'CRM: Imports',
    summary:
      'Imports case headers and lines from JSON, CSV or .xlsx and starts the cases as a job (supervisors and administrators)',
    description:
      'JSON (up to the configured body limit): `{caseType, filename?, cases: [...]}`, each case with externalKey and ' +
      'optionally entityId or entityKind+entityCode, ownerId, title, status (a status code of the case type), data and lines. CSV (`Content-Type: text/csv` or application/csv, ' +
      'up to 50 MB, optional `X-Filename` header): `caseType` is required in the query; a header row with externalKey ' +
      'and optionally entityId, entityKind, entityCode, ownerId, title, `data.<field>` and `line.<field>` columns; one ' +
      'row per line of a case, rows with the same externalKey form one case (comma or semicolon separated). .xlsx ' +
      `(${XLSX_TYPE}, up to 20 MB): the first sheet, with the same columns. Numbers written as text are read with ` +
      'the `decimal` mark; a cell it cannot read is an error at `/body/rows/{line}/{column}`. ' +
      `At most ${MAX_IMPORT_CASES} cases. The whole document is checked first: with errors nothing is written (400 ` +
      'listing each error with its line and externalKey) unless `acceptValid=true`. By external key per case type: ' +
      'a new key starts its case (then sets its status when the row names one); a key already imported is compared ' +
      'with its case as it is now, and the data fields, lines and status that differ are changed through the case ' +
      'workflow, as PATCH /api/cases/{id} and POST /api/cases/{id}/status would, by the importer (the row is ' +
      '`updated` with its `changes`); nothing differing is `unchanged`, so the same document twice changes nothing. ' +
      'A status not set by hand (`manual` in the definition) needs an administrator. Entity, owner and title are ' +
      'set only when a case is created: a row naming others for a known key fails. The cases start in the background: 202 with the job (its progress at ' +
      '`Location: /api/imports/{id}`), or 200 with the finished job with `wait=true`.',
    query: importQuery,
    body: jsonSchema,
    responses: {
      '200': { description: 'The finished job (wait=true)', schema: importJobSchema },
      '202': { description: 'The job, running (Location: /api/imports/{id})', schema: importJobSchema },
      ...problemResponses(400, 401, 403),
      '413': {
        description: `Body larger than the limit, or more than ${MAX_IMPORT_CASES} cases (too-many-rows)`,
        schema: problemSchema,
      },
      '415': { description: 'The body is neither JSON, CSV nor .xlsx', schema: problemSchema },
    },
    problems: ['too-many-rows', 'unsupported-media-type'],
  },
  {
    method: 'get',
    path: '/api/imports/:id',
    operationId: 'getImport',
    tag: 'CRM: Imports',
    summary: 'An import job with its progress and errors (supervisors and administrators)',
    params: { id: 'Import job id (imp-...)' },
    responses: {
      '200': { description: 'The job', schema: importJobSchema },
      ...problemResponses(401, 403, 404),
    },
  },
  {
    method: 'get',
    path: '/api/imports/:id/rows',
    operationId: 'listImportRows',
    tag: 'CRM: Imports',
    summary: 'The rows of an import job with their outcome, in line order (supervisors and administrators)',
    description: 'Only the first `limit` rows; no further pages. `state=failed` gives the error report.',
    params: { id: 'Import job id' },
    query: rowsQuery,
    responses: {
      '200': {
        description: 'The rows',
        schema: {
          type: 'object',
          properties: {
            items: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  line: { type: 'integer' },
                  externalKey: { type: 'string' },
                  state: { enum: ['pending', 'created', 'updated', 'unchanged', 'failed'] },
                  caseId: { type: ['string', 'null'] },
                  changes: {
                    type: ['array', 'null'],
                    items: { type: 'string' },
                    description: 'For an updated row, what it changed: `data.<field>`, `lines`, `status`',
                  },
                  error: { type: ['string', 'null'] },
                },
                required: ['line', 'externalKey', 'state', 'caseId', 'changes', 'error'],
              },
            },
          },
          required: ['items'],
        },
      },
      ...problemResponses(400, 401, 403, 404),
    },
  },
  {
    method: 'post',
    path: '/api/imports/:id/resume',
    operationId: 'resumeImport',
    tag: 'CRM: Imports',
    summary:
      'Resumes an import job that stopped: its pending rows are processed (supervisors and administrators)',
    description:
      'Rows already processed are skipped and a case already started is found again, so resuming is safe to repeat. ' +
      'Jobs left running by a stopped API process are also resumed automatically.',
    params: { id: 'Import job id' },
    query: resumeQuery,
    responses: {
      '202': { description: 'The job (finished when wait=true)', schema: importJobSchema },
      ...problemResponses(400, 401, 403, 404),
      '409': {
        description: 'The case-type version of the job is no longer published',
        schema: problemSchema,
      },
    },
    problems: ['case-type-gone'],
  },
];

async function loadJob(ctx: ApiContext, id: string) {
  const row = await findImportJob(ctx.db, id);
  if (!row) throw ProblemError.notFound(`Import ${id}`);
  return row;
}

/**
 * Waits for a job's import workflow to finish (`wait=true`). The job row says how far it got, so when the
 * wait ends otherwise (Temporal unreachable, the workflow ended by hand) the answer shows the job as it is.
 */
async function finishedOnWorkers(handle: { result(): Promise<unknown> }, jobId: string): Promise<void> {
  try {
    await handle.result();
  } catch (err) {
    logger.warn({ err, jobId }, 'import workflow did not finish');
  }
}

export function importRoutes(ctx: ApiContext): Router {
  const router = Router();

  /**
   * Imports case headers and lines: JSON `{caseType, cases: [...]}` or CSV (`?caseType=`). The whole document is
   * checked first; with errors nothing is written (400 listing each one) unless `?acceptValid=true`. The cases
   * are then started by an import job: 202 with its progress at `Location`, or the finished job with `?wait=true`.
   */
  router.post(
    '/imports',
    express.text({ type: ['text/csv', 'application/csv'], limit: '50mb' }),
    express.raw({ type: [XLSX_TYPE], limit: '20mb' }),
    async (req, res) => {
      const caller = callerOf(req);
      permit(caller, 'import', 'write');
      const acceptValid = flag(req, 'acceptValid');
      const wait = flag(req, 'wait');
      const decimalParam = queryString(req, 'decimal', 1);
      if (decimalParam !== undefined && decimalParam !== ',' && decimalParam !== '.')
        throw ProblemError.badRequest('Unknown decimal mark', [
          { pointer: '/query/decimal', message: 'must be "," or "."' },
        ]);
      let format: 'json' | 'csv' | 'xlsx';
      let caseType: string;
      let filename: string | null = null;
      let body: Static<typeof jsonSchema> | undefined;
      if (typeof req.body === 'string' || Buffer.isBuffer(req.body)) {
        format = Buffer.isBuffer(req.body) ? 'xlsx' : 'csv';
        const fromQuery = queryString(req, 'caseType', 100);
        if (!fromQuery)
          throw ProblemError.badRequest('Name the case type of a CSV import', [
            { pointer: '/query/caseType', message: 'is required for CSV and .xlsx' },
          ]);
        caseType = fromQuery;
        filename = req.get('x-filename')?.slice(0, 200) ?? null;
      } else if (req.is('application/json')) {
        format = 'json';
        body = check(jsonSchema, req.body ?? {}, '/body');
        caseType = body.caseType;
        filename = body.filename ?? null;
      } else {
        throw new ProblemError(
          415,
          'unsupported-media-type',
          'Unsupported media type',
          `Send application/json, text/csv or ${XLSX_TYPE}`,
        );
      }
      const stored = await latestDefinition(ctx.db, caseType);
      if (!stored)
        throw ProblemError.badRequest(`Unknown case type "${caseType}"`, [
          {
            pointer: format === 'json' ? '/body/caseType' : '/query/caseType',
            message: 'is not a published case type',
          },
        ]);
      let decimal: DecimalMark | undefined;
      let cases;
      if (body) cases = casesFromJson(body);
      else {
        // Without a JSON body the document is a sheet.
        const sheet = format === 'csv' ? 'csv' : 'xlsx';
        const text = sheet === 'csv' ? textBody(req, ['text/csv']) : null;
        decimal =
          (decimalParam as DecimalMark | undefined) ??
          defaultDecimal(sheet, text, await userLocale(ctx.db, caller.userId));
        cases =
          text !== null
            ? casesFromCsv(text, stored.definition, { decimal })
            : casesFromSheet(
                await readXlsxCells(req.body as Buffer, MAX_IMPORT_CASES * 10),
                stored.definition,
                {
                  decimal,
                },
              );
      }
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
      const { valid, errors } = await prepareCases(ctx.db, stored, cases, caller.userId, caller.role);
      if (errors.length > 0 && !acceptValid) {
        throw ProblemError.badRequest(
          `${errors.length} error(s) in ${new Set(errors.map((e) => e.line)).size} of ${cases.length} case(s); nothing was imported. Fix them, or send ?acceptValid=true to import the ${valid.length} valid case(s).`,
          errors,
        );
      }
      const id = `imp-${randomUUID()}`;
      await createImportJob(
        ctx.db,
        {
          id,
          format,
          filename,
          caseType,
          definitionVersion: stored.version,
          createdBy: caller.userId,
          ...(decimal ? { decimal } : {}),
        },
        valid,
        errors,
      );
      // The job runs as a workflow on the workers (workflows/import.ts): this process holds none of it.
      let handle;
      try {
        handle = await startImportWorkflow(ctx.client, ctx.taskQueue, id);
      } catch (err) {
        // Not started (Temporal unreachable: 503): the job goes too, so a retry imports once.
        await discardImportJob(ctx.db, id).catch(() => undefined);
        throw err;
      }
      if (wait) await finishedOnWorkers(handle, id);
      const view = importView(await loadJob(ctx, id));
      res
        .status(wait && view.status !== 'running' ? 200 : 202)
        .location(`/api/imports/${id}`)
        .json(view);
    },
  );

  router.get('/imports/:id', async (req, res) => {
    permit(callerOf(req), 'import', 'read');
    res.json(importView(await loadJob(ctx, req.params.id)));
  });

  /** The rows of an import with their outcome (`?state=failed` for the error report). */
  router.get('/imports/:id/rows', async (req, res) => {
    permit(callerOf(req), 'import', 'read');
    const job = await loadJob(ctx, req.params.id);
    const state = queryString(req, 'state', 20);
    res.json({ items: await importRows(ctx.db, String(job.id), state, pageLimit(req, 1000, 10_000)) });
  });

  /** Resumes a job that stopped (its workflow was ended by hand, a release left it): its pending rows are processed. */
  router.post('/imports/:id/resume', async (req, res) => {
    permit(callerOf(req), 'import', 'write');
    const job = await loadJob(ctx, req.params.id);
    const stored = await definitionVersion(ctx.db, job.case_type as string, job.definition_version as number);
    if (!stored)
      throw new ProblemError(
        409,
        'case-type-gone',
        'The case type is gone',
        `Case type ${String(job.case_type)} is not published`,
      );
    await reopenImportJob(ctx.db, String(job.id));
    const handle = await startImportWorkflow(ctx.client, ctx.taskQueue, String(job.id));
    if (flag(req, 'wait')) await finishedOnWorkers(handle, String(job.id));
    res.status(202).json(importView(await loadJob(ctx, String(job.id))));
  });

  return router;
}
