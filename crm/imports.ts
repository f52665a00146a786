/**
 * Bulk import of case headers and lines (JSON, CSV or .xlsx), idempotent by external key per case type.
 *
 * A document is checked whole first (entities, owners, data and lines against the definition); with errors
 * nothing is written unless the caller accepts the valid rows. The valid cases become an import job whose rows
 * are stored; the job's workflow (workflows/import.ts, on the workers) processes them in batches
 * (`processImportBatch`) while the job row counts progress. An external key
 * already imported is compared with its case as it is now: the data fields, lines and status that differ are
 * changed through the case's workflow (`updated`, with those fields), else it is `unchanged`.
 */
import { canonicalJson } from '../lib/canonical-json';
import { createHash } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { csvDelimiter, decimalMarkOf, parseDecimal, type DecimalMark, type SheetCell } from './spreadsheet';
import type { Db, Queryable } from '../db';
import { definitionVersion, type StoredDefinition } from '../db/definitions';
import { caseContentProperties } from '../cases/content-schema';
import { InvalidInputError, TooLargeError, type InputError } from '../lib/domain-errors';
import { fieldErrors, validatorFor } from '../lib/json-validation';
import type { Actor, ActorEvent, Role, StartInput } from '../engine/state';
import type { CaseTypeDefinition } from '../engine/types';

export interface ImportCase {
  externalKey: string;
  entityId?: string;
  entityKind?: string;
  entityCode?: string;
  ownerId?: string;
  title?: string;
  /** The case's current status: a status code of the case type, set through its workflow. */
  status?: string;
  data?: Record<string, unknown>;
  lines?: Record<string, unknown>[];
}

/** A case of the document with where it came from (JSON index or CSV line). */
export interface SourcedCase {
  line: number;
  pointer: string;
  value: ImportCase;
  /** Cells of the case's rows that could not be read (a number the decimal rule refuses): errors of the case. */
  unreadable?: InputError[];
}

export type ImportError = InputError & { line: number; externalKey: string | null };

export const MAX_IMPORT_CASES = 50_000;

export const importCaseSchema = {
  type: 'object',
  properties: {
    externalKey: { type: 'string', minLength: 1, maxLength: 200 },
    entityKind: { enum: ['EN', 'CL', 'PR'] },
    entityCode: { type: 'string', minLength: 1, maxLength: 50 },
    status: { type: 'string', minLength: 1, maxLength: 100 },
    ...caseContentProperties,
  },
  required: ['externalKey'],
  additionalProperties: false,
};

/** Cases of a JSON document `{ "cases": [...] }`. */
export function casesFromJson(body: { cases: ImportCase[] }): SourcedCase[] {
  return body.cases.map((value, i) => ({ line: i + 1, pointer: `/body/cases/${i}`, value }));
}

type Scalar = 'string' | 'number' | 'integer' | 'boolean';

function propertyTypes(schema: unknown): Record<string, Scalar> {
  const props = (schema as { properties?: Record<string, { type?: unknown }> } | undefined)?.properties ?? {};
  const out: Record<string, Scalar> = {};
  for (const [name, p] of Object.entries(props)) {
    const t = Array.isArray(p.type) ? p.type.find((x) => x !== 'null') : p.type;
    if (t === 'number' || t === 'integer' || t === 'boolean' || t === 'string') out[name] = t;
  }
  return out;
}

/** A cell's value typed by its property, or `{ bad }` when a number column holds text the rule cannot read. */
function typed(
  cell: SheetCell,
  type: Scalar | undefined,
  decimal: DecimalMark,
): { value: unknown } | { bad: string } {
  if (typeof cell === 'number') return { value: type === 'string' ? String(cell) : cell };
  const raw = cell.trim();
  if (type === 'number' || type === 'integer') {
    const n = parseDecimal(raw, decimal);
    return n === null ? { bad: raw } : { value: n };
  }
  if (type === 'boolean') return { value: raw === 'true' ? true : raw === 'false' ? false : raw };
  return { value: raw };
}

const HEADER_COLUMNS = [
  'externalKey',
  'entityId',
  'entityKind',
  'entityCode',
  'ownerId',
  'title',
  'status',
] as const;

/** How a sheet's text numbers are read: the decimal mark, and where the rule came from (for the job). */
export interface SheetOptions {
  decimal: DecimalMark;
}

/** Reads the rows of a CSV document (comma or semicolon separated); 400 with the line when it cannot. */
export function csvRecords(text: string): string[][] {
  try {
    return parse(text, {
      bom: true,
      delimiter: csvDelimiter(text),
      relax_column_count: false,
      skip_empty_lines: true,
    }) as string[][];
  } catch (err) {
    const e = err as { lines?: number; message: string };
    throw new InvalidInputError(`The CSV cannot be read: ${e.message}`, [
      { pointer: `/body/rows/${e.lines ?? 1}`, message: e.message },
    ]);
  }
}

/**
 * The decimal mark of an import when the caller names none: `,` for a semicolon-separated CSV (what a
 * spreadsheet program writes where the comma is the decimal mark), else the user's locale's (docs/crm.md).
 */
export function defaultDecimal(
  format: 'csv' | 'xlsx',
  text: string | null,
  locale: string | null,
): DecimalMark {
  if (format === 'csv' && text !== null && csvDelimiter(text) === ';') return ',';
  return decimalMarkOf(locale);
}

/** The locale whose decimal mark a user's imports follow: the web app's language, else the email one. */
export async function userLocale(db: Queryable, userId: string): Promise<string | null> {
  const [row] = await db.query<{ locale: string | null }>(
    'SELECT coalesce(ui_locale, locale) AS locale FROM users WHERE id = $1',
    [userId],
  );
  return row?.locale ?? null;
}

/** Cases of a CSV document; see `casesFromSheet`. */
export function casesFromCsv(text: string, def: CaseTypeDefinition, options: SheetOptions): SourcedCase[] {
  return casesFromSheet(csvRecords(text), def, options);
}

/**
 * Cases of a sheet (CSV rows or .xlsx cells): one row per line of a case, header columns repeated on each row;
 * `data.<field>` and `line.<field>` columns are typed by the definition's schemas, numbers written as text read
 * with `options.decimal` (a cell it cannot read is an error of the case at `/body/rows/{line}/{column}`).
 * Rows with the same externalKey form one case; empty rows are skipped.
 */
export function casesFromSheet(
  records: SheetCell[][],
  def: CaseTypeDefinition,
  options: SheetOptions,
): SourcedCase[] {
  const text = (cell: SheetCell | undefined) => (cell === undefined ? '' : String(cell).trim());
  const header = (records[0] ?? []).map((h) => text(h));
  while (header.length > 0 && header[header.length - 1] === '') header.pop();
  const unknown = header
    .map((h, i) => ({ h, i }))
    .filter(
      ({ h }) => !(HEADER_COLUMNS as readonly string[]).includes(h) && !/^(data|line)\.[\w-]+$/.test(h),
    );
  if (!header.includes('externalKey') || unknown.length > 0) {
    throw new InvalidInputError(
      `The header row must have an externalKey column; other columns are ${HEADER_COLUMNS.join(', ')}, data.<field> or line.<field>`,
      [
        ...(header.includes('externalKey')
          ? []
          : [{ pointer: '/body/rows/1', message: 'has no externalKey column' }]),
        ...unknown.map(({ h, i }) => ({
          pointer: `/body/rows/1/${i + 1}`,
          message: `unknown column "${h}"`,
        })),
      ],
    );
  }
  if (records.length - 1 > MAX_IMPORT_CASES * 10)
    throw new TooLargeError('too-many-rows', 'Too many rows', 'Split the document into smaller files');
  const dataTypes = propertyTypes(def.fields);
  const lineTypes = propertyTypes(def.lines);
  const byKey = new Map<string, SourcedCase>();
  const out: SourcedCase[] = [];
  records.slice(1).forEach((record, i) => {
    const line = i + 2;
    if (record.every((cell) => text(cell) === '')) return;
    const get = (col: string) => {
      const at = header.indexOf(col);
      return at < 0 ? '' : text(record[at]);
    };
    // The typed values of the `prefix.` columns of this row; a number the rule cannot read goes to `bad`.
    const bad: InputError[] = [];
    const columns = (prefix: 'data.' | 'line.', types: Record<string, Scalar>) => {
      const values: Record<string, unknown> = {};
      header.forEach((h, at) => {
        const cell = record[at] ?? '';
        if (!h.startsWith(prefix) || text(cell) === '') return;
        const t = typed(cell, types[h.slice(5)], options.decimal);
        if ('value' in t) values[h.slice(5)] = t.value;
        else
          bad.push({
            pointer: `/body/rows/${line}/${at + 1}`,
            message: `${h}: "${t.bad}" is not a number written with "${options.decimal}" as the decimal mark`,
          });
      });
      return values;
    };
    const key = get('externalKey');
    let sourced = byKey.get(key);
    if (!sourced || key === '') {
      const value: ImportCase = { externalKey: key };
      for (const col of HEADER_COLUMNS.slice(1)) {
        const v = get(col);
        if (v !== '') (value as unknown as Record<string, string>)[col] = v;
      }
      const data = columns('data.', dataTypes);
      if (Object.keys(data).length > 0) value.data = data;
      sourced = { line, pointer: `/body/rows/${line}`, value };
      if (key !== '') byKey.set(key, sourced);
      out.push(sourced);
    }
    const item = columns('line.', lineTypes);
    if (Object.keys(item).length > 0) (sourced.value.lines ??= []).push(item);
    if (bad.length > 0) (sourced.unreadable ??= []).push(...bad);
  });
  return out;
}

/** A checked case, ready to start. */
export interface PreparedCase {
  line: number;
  externalKey: string;
  entity: { id: string; name: string; agentId: string | null } | null;
  ownerId: string | null;
  /** The row named the owner (else it is the entity's agent or the importer's, and a re-import leaves it). */
  ownerGiven?: boolean;
  title?: string;
  status?: string;
  data: Record<string, unknown>;
  lines: Record<string, unknown>[];
  /** The row had lines (else a re-import leaves the case's lines as they are). */
  linesGiven?: boolean;
  hash: string;
}

/** Checks every case of a document; returns the valid ones and a located error for each problem. */
export async function prepareCases(
  db: Queryable,
  stored: StoredDefinition,
  cases: SourcedCase[],
  defaultOwner: string,
  importerRole: Role = 'supervisor',
): Promise<{ valid: PreparedCase[]; errors: ImportError[] }> {
  const def = stored.definition;
  const errors: ImportError[] = [];
  const shape = validatorFor(importCaseSchema);
  const fields = def.fields ? validatorFor(def.fields) : undefined;
  const lines = def.lines ? validatorFor({ type: 'array', items: def.lines }) : undefined;
  const err = (c: SourcedCase, pointer: string, message: string) =>
    errors.push({ line: c.line, externalKey: c.value.externalKey || null, pointer, message });

  const kinds = cases.map((c) => c.value.entityKind ?? '');
  const codes = cases.map((c) => c.value.entityCode ?? '');
  const ids = cases.map((c) => c.value.entityId ?? '');
  const entities = await db.query<{
    id: string;
    kind: string;
    code: string;
    name: string;
    agent_id: string | null;
  }>(
    `SELECT e.id, e.kind, e.code, e.name, e.agent_id FROM entities e
     WHERE e.id = ANY($3::text[]) OR (e.kind, e.code) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
    [kinds, codes, ids],
  );
  const byId = new Map(entities.map((e) => [e.id, e]));
  const byCode = new Map(entities.map((e) => [`${e.kind}\u0000${e.code}`, e]));
  const owners = new Set(
    (
      await db.query<{ id: string }>('SELECT id FROM users WHERE id = ANY($1::text[])', [
        cases.map((c) => c.value.ownerId ?? ''),
      ])
    ).map((u) => u.id),
  );

  const seen = new Map<string, number>();
  const valid: PreparedCase[] = [];
  for (const c of cases) {
    const before = errors.length;
    if (c.unreadable) {
      for (const e of c.unreadable) err(c, e.pointer, e.message);
      continue;
    }
    if (!shape(c.value)) {
      for (const e of fieldErrors(shape.errors, c.pointer)) err(c, e.pointer, e.message);
      continue;
    }
    const v = c.value;
    const first = seen.get(v.externalKey);
    if (first !== undefined)
      err(c, `${c.pointer}/externalKey`, `"${v.externalKey}" is also at line ${first}`);
    else seen.set(v.externalKey, c.line);
    let entity: PreparedCase['entity'] = null;
    if (v.entityId !== undefined || v.entityCode !== undefined) {
      const row =
        v.entityId !== undefined
          ? byId.get(v.entityId)
          : byCode.get(`${v.entityKind ?? 'EN'}\u0000${v.entityCode}`);
      if (!row)
        err(
          c,
          `${c.pointer}/${v.entityId !== undefined ? 'entityId' : 'entityCode'}`,
          v.entityId !== undefined
            ? `no entity ${v.entityId}`
            : `no ${v.entityKind ?? 'EN'} entity has the code "${v.entityCode}"`,
        );
      else entity = { id: row.id, name: row.name, agentId: row.agent_id };
    }
    if (v.ownerId !== undefined && !owners.has(v.ownerId))
      err(c, `${c.pointer}/ownerId`, `no user ${v.ownerId}`);
    if (v.status !== undefined) {
      const status = def.statuses.find((s) => s.code === v.status);
      if (!status)
        err(
          c,
          `${c.pointer}/status`,
          `"${v.status}" is not a status of ${def.id} (${def.statuses.map((s) => s.code).join(', ')})`,
        );
      else if (!status.manual && importerRole !== 'admin')
        err(
          c,
          `${c.pointer}/status`,
          `status "${v.status}" is reached through the case's steps; only an administrator may import it`,
        );
    }
    const data = v.data ?? {};
    if (fields && !fields(data))
      for (const e of fieldErrors(fields.errors, `${c.pointer}/data`)) err(c, e.pointer, e.message);
    if (v.lines !== undefined && !lines) err(c, `${c.pointer}/lines`, `case type ${def.id} has no lines`);
    else if (lines && v.lines && !lines(v.lines))
      for (const e of fieldErrors(lines.errors, `${c.pointer}/lines`)) err(c, e.pointer, e.message);
    if (errors.length > before) continue;
    const ownerId = v.ownerId ?? entity?.agentId ?? defaultOwner;
    const content = {
      caseType: def.id,
      entity: entity?.id ?? null,
      ownerId,
      title: v.title ?? null,
      data,
      lines: v.lines ?? [],
      ...(v.status !== undefined ? { status: v.status } : {}),
    };
    valid.push({
      line: c.line,
      externalKey: v.externalKey,
      entity,
      ownerId,
      ownerGiven: v.ownerId !== undefined,
      ...(v.title !== undefined ? { title: v.title } : {}),
      ...(v.status !== undefined ? { status: v.status } : {}),
      data,
      lines: v.lines ?? [],
      linesGiven: v.lines !== undefined,
      hash: createHash('sha256').update(canonicalJson(content)).digest('hex'),
    });
  }
  return { valid, errors };
}

/** Case (and workflow) id of an imported case: derived from its key, so a retried start finds the same case. */
export function importedCaseId(caseType: string, externalKey: string): string {
  return `import-${createHash('sha256').update(`${caseType}\u0000${externalKey}`).digest('hex').slice(0, 32)}`;
}

export interface ImportJobView {
  id: string;
  kind: string;
  format: string;
  filename: string | null;
  caseType: string;
  /** The decimal mark text numbers of the sheet were read with; null for JSON. */
  decimal: DecimalMark | null;
  status: string;
  result: 'imported' | 'unchanged' | 'partial' | null;
  total: number;
  processed: number;
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  percent: number;
  errors: unknown[];
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

/** The job row as the API shows it. */
export function importView(r: Record<string, unknown>): ImportJobView {
  const total = r.total as number;
  const processed = r.processed as number;
  const done = r.status !== 'running';
  const created = r.created as number;
  const updated = (r.updated as number | undefined) ?? 0;
  const failed = r.failed as number;
  return {
    id: r.id as string,
    kind: r.kind as string,
    format: r.format as string,
    filename: (r.filename as string | null) ?? null,
    caseType: r.case_type as string,
    decimal: (r.decimal_mark as DecimalMark | null) ?? null,
    status: r.status as string,
    result: !done ? null : failed > 0 ? 'partial' : created + updated > 0 ? 'imported' : 'unchanged',
    total,
    processed,
    created,
    updated,
    unchanged: r.unchanged as number,
    failed,
    percent: total === 0 ? 100 : Math.floor((processed / total) * 100),
    errors: r.errors as unknown[],
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
    finishedAt: (r.finished_at as string | null) ?? null,
  };
}

/** Stores the job and its rows (with the rejected ones as errors) in one transaction. */
export async function createImportJob(
  db: Db,
  job: {
    id: string;
    format: 'json' | 'csv' | 'xlsx';
    filename: string | null;
    caseType: string;
    definitionVersion: number;
    createdBy: string;
    /** The decimal mark text numbers were read with (sheets only). */
    decimal?: DecimalMark;
  },
  valid: PreparedCase[],
  rejected: ImportError[],
): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO imports (id, kind, format, filename, status, total, errors, created_by, case_type,
         definition_version, decimal_mark)
       VALUES ($1, 'cases', $2, $3, 'running', $4, $5, $6, $7, $8, $9)`,
      [
        job.id,
        job.format,
        job.filename,
        valid.length,
        JSON.stringify(rejected),
        job.createdBy,
        job.caseType,
        job.definitionVersion,
        job.decimal ?? null,
      ],
    );
    const chunk = 1000;
    for (let i = 0; i < valid.length; i += chunk) {
      const part = valid.slice(i, i + chunk);
      await tx.query(
        `INSERT INTO import_rows (import_id, line, external_key, payload)
         SELECT $1, l, k, p FROM unnest($2::int[], $3::text[], $4::jsonb[]) AS r(l, k, p)`,
        [job.id, part.map((c) => c.line), part.map((c) => c.externalKey), part.map((c) => JSON.stringify(c))],
      );
    }
  });
}

/** Deletes a job that never started (its workflow could not be started), with its rows. */
export async function discardImportJob(db: Queryable, id: string): Promise<void> {
  await db.query('DELETE FROM imports WHERE id = $1', [id]);
}

/** How an import reaches the engine: starting a case, and a user's action on it (an Update of its workflow). */
export interface ImportEngine {
  start: (def: CaseTypeDefinition, start: StartInput) => Promise<unknown>;
  /** `updateId` makes a retried action apply at most once. */
  act: (caseId: string, event: ActorEvent, updateId: string) => Promise<unknown>;
}

/**
 * An engine call that did not get an answer (a timeout, the engine unreachable): not the row's fault, so
 * the row stays pending and its batch is retried, instead of the row failing.
 */
export class ImportEngineUnavailableError extends Error {
  override name = 'ImportEngineUnavailableError';
}

/** The case as the read model holds it, what a re-import compares its row with. */
type CurrentCase = {
  status: string;
  data: Record<string, unknown>;
  lines: Record<string, unknown>[];
  entity_id: string | null;
  owner_id: string | null;
  title: string;
};

async function currentCase(db: Queryable, caseId: string): Promise<CurrentCase | undefined> {
  const [row] = await db.query<CurrentCase>(
    'SELECT status, data, lines, entity_id, owner_id, title FROM cases WHERE id = $1',
    [caseId],
  );
  return row;
}

const same = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);

/**
 * What a row changes in its case: the data fields whose value differs, the lines (when the row has lines and
 * they differ), the status (when the row names another one). `fixed` lists what the row names differently but
 * an import does not change (entity, owner, title: set when the case is created).
 */
function differences(c: PreparedCase, current: CurrentCase) {
  const data: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(c.data)) if (!same(current.data[key], value)) data[key] = value;
  const linesGiven = c.linesGiven ?? c.lines.length > 0;
  const lines = linesGiven && !same(current.lines, c.lines) ? c.lines : undefined;
  const status = c.status !== undefined && c.status !== current.status ? c.status : undefined;
  const fixed = [
    ...(c.entity && c.entity.id !== current.entity_id ? ['entity'] : []),
    ...((c.ownerGiven ?? true) && c.ownerId !== current.owner_id ? ['ownerId'] : []),
    ...(c.title !== undefined && c.title !== current.title ? ['title'] : []),
  ];
  return { data, lines, status, fixed };
}

/** What one batch of a job did; `fetched` 0: no row is pending. `stopped`: the job cannot go on (marked failed). */
export interface ImportBatchCounts {
  fetched: number;
  processed: number;
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  stopped?: boolean;
}

/**
 * Processes the next `limit` pending rows of a job (in line order, `concurrency` at a time) and keeps the job
 * row's counters current: the import workflow's batch activity (activities/imports.ts). A new external key
 * starts its case; a known one has what differs changed through its workflow (the same actions as
 * `PATCH /api/cases/:id` and `POST /api/cases/:id/status`, by the job's creator). Safe to call again after a
 * crash and even while another call still runs: a case already started is found by id, each action has an
 * update id of the job's row (so it applies at most once), and a row is recorded with its case and counted in
 * one transaction, only while it is still pending. An engine that does not answer
 * (`ImportEngineUnavailableError`) leaves the row pending and ends the batch with that error, to be retried.
 */
export async function processImportBatch(
  db: Db,
  jobId: string,
  engine: ImportEngine,
  limit: number,
  options: {
    concurrency?: number;
    onRow?: () => void;
    /** Aborted (the activity was cancelled, its workflow ended): the rows in flight finish, no new one starts. */
    signal?: AbortSignal;
  } = {},
): Promise<ImportBatchCounts> {
  const counts: ImportBatchCounts = {
    fetched: 0,
    processed: 0,
    created: 0,
    updated: 0,
    unchanged: 0,
    failed: 0,
  };
  const job = await findImportJob(db, jobId);
  if (!job) return { ...counts, stopped: true };
  const stored = await definitionVersion(db, job.case_type as string, job.definition_version as number);
  if (!stored) {
    await failImportJob(
      db,
      jobId,
      `case type ${String(job.case_type)} version ${String(job.definition_version)} is no longer published`,
    );
    return { ...counts, stopped: true };
  }
  const def = stored.definition;
  const importer = await importerOf(db, job.created_by as string);
  const actor: Actor = { userId: importer.userId, role: importer.role, teams: importer.teams };
  const pending = await db.query<{ line: number; payload: PreparedCase; changes: string[] | null }>(
    `SELECT line, payload, changes FROM import_rows WHERE import_id = $1 AND state = 'pending'
     ORDER BY line LIMIT $2`,
    [jobId, limit],
  );
  counts.fetched = pending.length;

  const processOne = async (row: (typeof pending)[number]): Promise<void> => {
    const c = row.payload;
    // What an earlier attempt at this row set out to change (a pending row keeps it): its Updates may have
    // applied before that attempt stopped, so the case no longer differs, yet the row did change it.
    const planned = row.changes ?? [];
    const [known] = await db.query<{ case_id: string }>(
      'SELECT case_id FROM imported_cases WHERE case_type = $1 AND external_key = $2',
      [def.id, c.externalKey],
    );
    const caseId = known?.case_id ?? importedCaseId(def.id, c.externalKey);
    let state: 'created' | 'updated' | 'unchanged' | 'failed';
    let error: string | null = null;
    const changes: string[] = [];
    try {
      let current = await currentCase(db, caseId);
      if (!current && !known) {
        await engine.start(def, {
          caseId,
          caseType: def.id,
          definitionVersion: stored.version,
          data: c.data,
          lines: c.lines,
          entity: c.entity,
          ownerId: c.ownerId,
          actor: actor.userId,
          ...(c.title !== undefined ? { title: c.title } : {}),
        });
        current = await currentCase(db, caseId);
      }
      if (!current) throw new Error(`case ${caseId} is not in the read model`);
      const diff = differences(c, current);
      if (known && diff.fixed.length > 0)
        throw new Error(
          `${diff.fixed.join(', ')} of case ${caseId} differ from the row; an import sets them only when it creates the case`,
        );
      const intended = [
        ...Object.keys(diff.data).map((k) => `data.${k}`),
        ...(diff.lines !== undefined ? ['lines'] : []),
        ...(diff.status !== undefined ? ['status'] : []),
      ];
      if (intended.some((change) => !planned.includes(change)))
        await db.query(
          `UPDATE import_rows SET changes = $3 WHERE import_id = $1 AND line = $2 AND state = 'pending'`,
          [jobId, row.line, [...new Set([...planned, ...intended])]],
        );
      if (Object.keys(diff.data).length > 0 || diff.lines !== undefined) {
        await engine.act(
          caseId,
          {
            type: 'updateData',
            data: diff.data,
            ...(diff.lines !== undefined ? { lines: diff.lines } : {}),
            actor,
          },
          `${jobId}:${row.line}:data`,
        );
        changes.push(...Object.keys(diff.data).map((k) => `data.${k}`));
        if (diff.lines !== undefined) changes.push('lines');
      }
      if (diff.status !== undefined) {
        await engine.act(
          caseId,
          { type: 'setStatus', status: diff.status, actor },
          `${jobId}:${row.line}:status`,
        );
        changes.push('status');
      }
      changes.unshift(...planned.filter((change) => !changes.includes(change)));
      state = !known ? 'created' : changes.length > 0 ? 'updated' : 'unchanged';
    } catch (err) {
      if (err instanceof ImportEngineUnavailableError) throw err;
      state = 'failed';
      changes.unshift(...planned.filter((change) => !changes.includes(change)));
      const done = changes.length > 0 ? ` (${changes.join(', ')} changed before)` : '';
      error = known
        ? `case ${caseId} was not updated${done}: ${(err as Error).message}`
        : `the case did not start${done}: ${(err as Error).message}`;
    }
    const recorded = await db.transaction(async (tx) => {
      // Only while pending: a batch retried while its first attempt still runs never counts a row twice.
      const marked = await tx.query(
        `UPDATE import_rows SET state = $3, case_id = $4, error = $5, changes = $6
         WHERE import_id = $1 AND line = $2 AND state = 'pending' RETURNING line`,
        [jobId, row.line, state, caseId, error, state === 'updated' ? changes : null],
      );
      if (marked.length === 0) return false;
      if (state !== 'failed')
        await tx.query(
          `INSERT INTO imported_cases (case_type, external_key, case_id, content_hash, import_id)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (case_type, external_key) DO UPDATE SET content_hash = $4, import_id = $5`,
          [def.id, c.externalKey, caseId, c.hash, jobId],
        );
      await tx.query(
        `UPDATE imports SET processed = processed + 1, created = created + $2::int, unchanged = unchanged + $3::int,
           failed = failed + $4::int, updated = updated + $6::int, updated_at = now(),
           errors = CASE WHEN $5::jsonb IS NULL THEN errors ELSE errors || $5::jsonb END
         WHERE id = $1`,
        [
          jobId,
          state === 'created' ? 1 : 0,
          state === 'unchanged' ? 1 : 0,
          state === 'failed' ? 1 : 0,
          error
            ? JSON.stringify([
                {
                  line: row.line,
                  externalKey: c.externalKey,
                  pointer: `/rows/${row.line}`,
                  message: error,
                },
              ])
            : null,
          state === 'updated' ? 1 : 0,
        ],
      );
      return true;
    });
    if (recorded) {
      counts.processed += 1;
      counts[state] += 1;
    }
  };

  let next = 0;
  let stop: unknown;
  const workers = Array.from({ length: Math.min(options.concurrency ?? 8, pending.length) }, async () => {
    while (next < pending.length && stop === undefined && !options.signal?.aborted) {
      const row = pending[next++] as (typeof pending)[number];
      try {
        await processOne(row);
      } catch (err) {
        stop ??= err; // the rows in flight finish; no new one is taken
      }
      options.onRow?.();
    }
  });
  await Promise.all(workers);
  if (stop !== undefined) throw stop;
  options.signal?.throwIfAborted();
  return counts;
}

/** Marks a job completed once none of its rows is pending (the import workflow's last step). */
export async function finishImportJob(db: Queryable, jobId: string): Promise<void> {
  await db.query(
    `UPDATE imports SET status = 'completed', finished_at = now(), updated_at = now()
     WHERE id = $1 AND status = 'running'
       AND NOT EXISTS (SELECT 1 FROM import_rows WHERE import_id = $1 AND state = 'pending')`,
    [jobId],
  );
}

/** Marks a job failed with a job-level error (line 0). */
async function failImportJob(db: Queryable, jobId: string, message: string): Promise<void> {
  await db.query(
    `UPDATE imports SET status = 'failed', finished_at = now(), updated_at = now(),
       errors = errors || $2::jsonb WHERE id = $1`,
    [jobId, JSON.stringify([{ line: 0, externalKey: null, pointer: '', message }])],
  );
}

/**
 * A running job whose progress has not moved for this long has lost what ran it: a job the pre-workflow
 * code left to an API process that stopped, or one whose API process stopped before starting its workflow.
 */
export const STALE_IMPORT_MS = 2 * 60_000;

/**
 * Claims the running jobs whose progress has not moved for `staleMs`, bumping their `updated_at` in the same
 * statement (SKIP LOCKED: two callers never claim the same job, and an API process of the pre-workflow code
 * still running a job keeps it, as its lease said). Returns their ids, for the release step to start their
 * import workflows.
 */
export async function claimStaleImportJobs(db: Queryable, staleMs = STALE_IMPORT_MS): Promise<string[]> {
  const jobs = await db.query<{ id: string }>(
    `UPDATE imports SET updated_at = now()
     WHERE id IN (SELECT id FROM imports
                  WHERE kind = 'cases' AND status = 'running' AND updated_at < now() - make_interval(secs => $1)
                  FOR UPDATE SKIP LOCKED)
     RETURNING id`,
    [staleMs / 1000],
  );
  return jobs.map((j) => j.id);
}

/** The actor of a job's actions: the user who created it, with the role they have now. */
export async function importerOf(db: Queryable, userId: string): Promise<Actor> {
  const [row] = await db.query<{ role: Role }>('SELECT role FROM users WHERE id = $1', [userId]);
  return { userId, role: row?.role ?? 'agent', teams: [] };
}

/** An import job row; undefined when there is none. */
export async function findImportJob(db: Queryable, id: string): Promise<Record<string, unknown> | undefined> {
  const [row] = await db.query('SELECT * FROM imports WHERE id = $1', [id]);
  return row;
}

/** Marks a job running again before its pending rows are processed (`POST /api/imports/:id/resume`). */
export async function reopenImportJob(db: Queryable, id: string): Promise<void> {
  // Only with rows left: a finished job stays finished (its workflow, which marks it, may be gone already).
  await db.query(
    `UPDATE imports SET status = 'running', finished_at = NULL
     WHERE id = $1 AND EXISTS (SELECT 1 FROM import_rows WHERE import_id = $1 AND state = 'pending')`,
    [id],
  );
}

export interface ImportRowView {
  line: number;
  externalKey: string;
  state: 'pending' | 'created' | 'updated' | 'unchanged' | 'failed';
  caseId: string | null;
  /** For an updated row, what it changed: `data.<field>`, `lines`, `status`. */
  changes: string[] | null;
  error: string | null;
}

/** The rows of a job in line order, optionally only those in one state. */
export async function importRows(
  db: Queryable,
  jobId: string,
  state: string | undefined,
  limit: number,
): Promise<ImportRowView[]> {
  const rows = await db.query(
    `SELECT line, external_key, state, case_id, changes, error FROM import_rows
     WHERE import_id = $1 AND ($2::text IS NULL OR state = $2) ORDER BY line LIMIT $3`,
    [jobId, state ?? null, limit],
  );
  return rows.map((r) => ({
    line: r.line as number,
    externalKey: r.external_key as string,
    state: r.state as ImportRowView['state'],
    caseId: (r.case_id as string | null) ?? null,
    // A pending row may hold what its attempt set out to change; only an updated row shows it.
    changes: r.state === 'updated' ? ((r.changes as string[] | null) ?? null) : null,
    error: (r.error as string | null) ?? null,
  }));
}
