import type { Request, Response } from 'express';
import { Router } from 'express';
import {
  forecast,
  emptyForecast,
  forecastCaseTypes,
  checkReportFilters,
  FIGURE_KEYS,
  totalsCanAnswer,
  openCases,
  openCasesPage,
  toCsv,
  type ReportScope,
  type ReportSource,
  type StatusSelector,
} from '../../crm/reports';
import { loadSegmentPredicate } from '../../crm/segment-store';
import { permit } from '../../crm/permissions';
import { callerOf, type Caller } from '../auth';
import type { ApiContext } from '../context';
import { caseViewSchema, problemResponses, type OperationSpec } from '../operation';
import { ProblemError } from '../problem';
import { knownQuery } from '../request-guards';
import { caseView } from '../views';
import { decodeCursor, encodeCursor, pageLimit, queryString } from './crm-common';

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const MONTH = /^\d{4}-\d{2}$/;

/** `from`/`to` as YYYY-MM-DD or YYYY-MM (a month covers all its days). */
function dateParam(req: Request, name: 'from' | 'to'): string | undefined {
  const raw = queryString(req, name, 10);
  if (raw === undefined) return undefined;
  if (DAY.test(raw) && isCalendarDay(raw)) return raw;
  if (MONTH.test(raw) && isCalendarDay(`${raw}-01`)) return name === 'from' ? `${raw}-01` : `${raw}-31`;
  throw ProblemError.badRequest(`${name} must be a date`, [
    {
      pointer: `/query/${name}`,
      message: `must be a day YYYY-MM-DD or a month YYYY-MM of the calendar (month 01 to 12); got ${raw}`,
    },
  ]);
}

/** A YYYY-MM-DD that names a real day (no month 13, no 30 February). */
export function isCalendarDay(day: string): boolean {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/** `from` after `to` selects nothing: say so instead of answering zeros. */
function checkPeriod(from: string | undefined, to: string | undefined): void {
  if (from && to && from > to)
    throw ProblemError.badRequest('from is after to', [
      { pointer: '/query/to', message: `must not be before from (${from})` },
    ]);
}

/** `?currency=XXX&rateDate=YYYY-MM-DD`: the reporting currency and the day whose rates convert into it. */
function conversionParams(req: Request): { currency: string; rateDate: string; pointer: string } | undefined {
  const currency = queryString(req, 'currency', 3);
  const rateDate = queryString(req, 'rateDate', 10);
  if (currency !== undefined && !/^[A-Z]{3}$/.test(currency))
    throw ProblemError.badRequest('currency is an ISO 4217 code', [
      { pointer: '/query/currency', message: 'must be three capital letters, e.g. EUR' },
    ]);
  if (rateDate !== undefined && !(DAY.test(rateDate) && isCalendarDay(rateDate)))
    throw ProblemError.badRequest('rateDate must be a date', [
      { pointer: '/query/rateDate', message: 'must be YYYY-MM-DD' },
    ]);
  if (currency === undefined) {
    if (rateDate !== undefined)
      throw ProblemError.badRequest('rateDate needs currency', [
        { pointer: '/query/rateDate', message: 'only with currency' },
      ]);
    return undefined;
  }
  return {
    currency,
    rateDate: rateDate ?? new Date().toISOString().slice(0, 10),
    pointer: '/query/currency',
  };
}

function listParam(req: Request, name: string): string[] | undefined {
  const raw = queryString(req, name, 2000);
  return raw === undefined
    ? undefined
    : raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
}

/**
 * What the caller may report on: administrators everything, supervisors their teams' members and themselves,
 * agents their own cases. Asking for another agent than allowed is a 403, not an empty report.
 */
async function scopeFor(
  ctx: ApiContext,
  req: Request,
  caller: Caller,
  params: unknown[],
): Promise<ReportScope> {
  const scope: ReportScope = {};
  const agentId = queryString(req, 'agent');
  const teamId = queryString(req, 'team');
  if (caller.role === 'agent') {
    if (agentId && agentId !== caller.userId)
      throw ProblemError.forbidden('Agents report on their own cases only');
    scope.visibleOwners = [caller.userId];
  } else if (caller.role === 'supervisor') {
    const allowed = [caller.userId, ...caller.supervisedUsers];
    if (agentId && !allowed.includes(agentId))
      throw ProblemError.forbidden('Supervisors report on the members of the teams they supervise');
    if (teamId && !caller.supervisedTeams.includes(teamId))
      throw ProblemError.forbidden('Supervisors report on the teams they supervise');
    scope.visibleOwners = allowed;
  }
  if (agentId) scope.agentId = agentId;
  if (teamId) scope.teamId = teamId;
  const caseTypes = listParam(req, 'caseType');
  if (caseTypes) scope.caseTypes = caseTypes;
  const segmentId = queryString(req, 'segmentId');
  if (segmentId)
    scope.segmentPredicate = await loadSegmentPredicate(ctx.db, segmentId, params, '/query/segmentId');
  return scope;
}

/** `?source=cases` forces the aggregation of the cases (to compare with the totals); default: the fastest. */
function sourceParam(req: Request): ReportSource | undefined {
  const raw = queryString(req, 'source', 10);
  if (raw === undefined) return undefined;
  if (raw === 'cases' || raw === 'totals') return raw;
  throw ProblemError.badRequest('source is totals or cases', [
    { pointer: '/query/source', message: 'must be totals or cases' },
  ]);
}

/** Whether the report is asked as CSV: `?format=csv`, else `Accept: text/csv`. */
export function wantsCsv(req: Request): boolean {
  const format = queryString(req, 'format', 10);
  if (format !== undefined && format !== 'csv' && format !== 'json')
    throw ProblemError.badRequest('format is csv or json', [
      { pointer: '/query/format', message: 'must be csv or json' },
    ]);
  if (format) return format === 'csv';
  return req.accepts(['application/json', 'text/csv']) === 'text/csv';
}

/** Sends a CSV attachment. */
export function sendCsv(res: Response, filename: string, csv: string): void {
  res.status(200).type('text/csv; charset=utf-8').attachment(filename).send(csv);
}

const FIGURES = FIGURE_KEYS;

/** The query parameters both reports read to choose the cases they cover (see `scopeFor`). */
const scopeQueryProperties = {
  agent: {
    type: 'string',
    maxLength: 200,
    description: 'Only cases owned by this user (agents: themselves; supervisors: members of their teams)',
  },
  team: {
    type: 'string',
    maxLength: 200,
    description: "Only cases owned by this team's members (supervisors: a team they supervise)",
  },
  caseType: { type: 'string', maxLength: 2000, description: 'Comma-separated case types' },
  segmentId: {
    type: 'string',
    maxLength: 200,
    description: 'Id or name of a saved segment: only cases of its entities',
  },
  source: {
    type: 'string',
    enum: ['totals', 'cases'],
    description: 'totals (maintained per month) or cases (aggregated); default: the fastest that can answer',
  },
  format: {
    type: 'string',
    enum: ['json', 'csv'],
    description: 'Default: from the Accept header (text/csv for CSV)',
  },
};

const period = { type: 'string', pattern: '^\\d{4}-\\d{2}(-\\d{2})?$' };

/** The query parameters `GET /reports/forecast` reads. */
const forecastQuery = {
  type: 'object',
  properties: {
    ...scopeQueryProperties,
    caseType: {
      ...scopeQueryProperties.caseType,
      description: 'Comma-separated case types (default: those whose definition has an amount field)',
    },
    from: { ...period, description: 'Expected close from (YYYY-MM-DD, or YYYY-MM for the whole month)' },
    to: { ...period, description: 'Expected close until, inclusive (YYYY-MM-DD or YYYY-MM)' },
    groupBy: {
      type: 'string',
      enum: ['status', 'agent', 'month'],
      description: 'Only this breakdown (and the totals); default: all three',
    },
    currency: {
      type: 'string',
      pattern: '^[A-Z]{3}$',
      description:
        'Reporting currency: every amount converted into it with the exchange-rate table (GET /api/exchange-rates), ' +
        'the rates used listed in `conversion`; a currency without a rate on rateDate is a 400 no-exchange-rate. ' +
        'Default: no conversion, one row per currency',
    },
    rateDate: {
      type: 'string',
      format: 'date',
      description:
        'With currency: the day whose rates apply (the latest rate valid on it); default today (UTC)',
    },
  },
};

/** The query parameters `GET /reports/open-cases` reads. */
const openCasesQuery = {
  type: 'object',
  properties: {
    ...scopeQueryProperties,
    statuses: {
      type: 'string',
      maxLength: 2000,
      description:
        'Comma-separated statuses that count as open, `STATUS` or `caseType:STATUS` (default: the open category)',
    },
    limit: {
      type: 'string',
      pattern: '^[0-9]{1,6}$',
      description: 'Cases per page (default 50, at most the page size limit); 0 for the counts alone',
    },
    cursor: { type: 'string', maxLength: 1000, description: 'nextCursor of the previous page' },
  },
};

const numberSchema = { type: 'number' };
const figureProperties = {
  currency: { type: 'string', description: 'ISO 4217 code of every amount in this row' },
  count: { type: 'integer' },
  amount: numberSchema,
  weightedAmount: { type: 'number', description: 'Amount x probability / 100' },
  openCount: { type: 'integer' },
  openAmount: numberSchema,
  openWeightedAmount: numberSchema,
  wonCount: { type: 'integer' },
  wonAmount: numberSchema,
  lostCount: { type: 'integer' },
  lostAmount: numberSchema,
};
const figuresSchema = {
  type: 'object',
  properties: figureProperties,
  required: Object.keys(figureProperties),
};
const rowsOf = (properties: Record<string, unknown>) => ({
  type: 'array',
  items: { type: 'object', properties: { ...properties, ...figureProperties } },
});

const forecastSchema = {
  type: 'object',
  properties: {
    filters: {
      type: 'object',
      properties: {
        caseTypes: { type: 'array', items: { type: 'string' } },
        agent: { type: ['string', 'null'] },
        team: { type: ['string', 'null'] },
        from: {
          type: 'string',
          description: 'YYYY-MM-DD (a month becomes its first day); absent when not asked',
        },
        to: { type: 'string', description: 'YYYY-MM-DD (a month becomes YYYY-MM-31); absent when not asked' },
        source: { enum: ['totals', 'cases'], description: 'Where the figures come from' },
        currency: { type: ['string', 'null'], description: 'The reporting currency asked for, or null' },
      },
    },
    currencies: {
      type: 'array',
      items: { type: 'string' },
      description: 'The currencies of the figures (one with currency=)',
    },
    totals: { type: 'array', items: figuresSchema, description: 'One row per currency, never summed across' },
    conversion: {
      type: ['object', 'null'],
      description: 'With currency=: the reporting currency, the rate date and each rate used; else null',
      properties: {
        currency: { type: 'string' },
        rateDate: { type: 'string', format: 'date' },
        rates: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              from: { type: 'string' },
              to: { type: 'string' },
              rate: { type: 'number', description: '1 from = rate to' },
              validFrom: { type: 'string', format: 'date' },
            },
          },
        },
      },
    },
    byStatus: rowsOf({
      caseType: { type: 'string' },
      status: { type: 'string' },
      statusName: { type: 'string' },
      category: { type: 'string' },
    }),
    byAgent: rowsOf({ agentId: { type: ['string', 'null'] }, agentName: { type: ['string', 'null'] } }),
    byMonth: rowsOf({
      month: { type: ['string', 'null'], description: 'YYYY-MM; null without a close date' },
    }),
  },
  required: ['filters', 'currencies', 'totals', 'conversion'],
};

const countOf = (properties: Record<string, unknown>) => ({
  type: 'array',
  items: { type: 'object', properties: { ...properties, count: { type: 'integer' } } },
});

const openCasesSchema = {
  type: 'object',
  properties: {
    total: { type: 'integer' },
    openStatuses: {
      oneOf: [
        { const: 'category:open' },
        {
          type: 'array',
          items: {
            type: 'object',
            properties: { caseType: { type: 'string' }, status: { type: 'string' } },
            required: ['status'],
          },
        },
      ],
      description: 'The statuses counted as open',
    },
    byType: countOf({ caseType: { type: 'string' } }),
    byStatus: countOf({ caseType: { type: 'string' }, status: { type: 'string' } }),
    byAgent: countOf({ agentId: { type: ['string', 'null'] } }),
    source: { enum: ['totals', 'cases'], description: 'Where the counts come from' },
    items: { type: 'array', items: caseViewSchema, description: 'A page of the cases, newest first' },
    nextCursor: { type: ['string', 'null'] },
  },
  required: ['total', 'openStatuses', 'byType', 'byStatus', 'byAgent', 'source', 'items', 'nextCursor'],
};

const reportCallers =
  'agents report on their own cases, supervisors on their teams and themselves, administrators on everything';

/** The report routes, for the OpenAPI document. */
export const reportOperations: OperationSpec[] = [
  {
    method: 'get',
    path: '/api/reports/forecast',
    operationId: 'getForecastReport',
    tag: 'CRM: Reports',
    summary:
      'Pipeline forecast by status, agent and expected-close month (agents, supervisors and administrators)',
    description:
      `Scope: ${reportCallers}; asking for another agent or team is a 403. Weighted amount: a won case 100 %, a ` +
      'lost or closed one 0 %, an open one its `data.probability`, else the default probability of its status. ' +
      'Figures per currency (every row names its currency; a case without one is in its definition default), ' +
      'or converted into `currency` with the dated exchange-rate table. An unknown case type, agent or team, a ' +
      'date that is not in the calendar, from after to or an unknown parameter is a 400. JSON by default; with ' +
      '`format=csv` or `Accept: text/csv`, a text/csv attachment (forecast.csv) with columns dimension, caseType, ' +
      'status, statusName, agentId, month, currency and the figures, one row per breakdown line and currency and ' +
      'a total row per currency. The totals cannot answer a segment or a period not made of whole months: ' +
      '`source=totals` is then a 400.',
    query: forecastQuery,
    responses: {
      '200': {
        description: 'The forecast (byStatus, byAgent, byMonth; only the one asked with groupBy), or CSV',
        schema: forecastSchema,
      },
      ...problemResponses(400, 401, 403),
    },
    problems: ['no-exchange-rate'],
  },
  {
    method: 'get',
    path: '/api/reports/open-cases',
    operationId: 'getOpenCasesReport',
    tag: 'CRM: Reports',
    summary:
      'Open cases counted by type, status and agent, with a page of the cases (agents, supervisors and administrators)',
    description:
      `Scope: ${reportCallers}; asking for another agent or team is a 403. Pages: pass \`nextCursor\` as ` +
      '`cursor` with the same filters. JSON by default; with `format=csv` or `Accept: text/csv`, a text/csv ' +
      'attachment (open-cases.csv) of the cases (id, caseType, status, title, entityId, entityName, ownerId, ' +
      'createdAt; up to 100000, no paging).',
    query: openCasesQuery,
    responses: {
      '200': { description: 'The counts and a page of the cases, or CSV', schema: openCasesSchema },
      ...problemResponses(400, 401, 403),
    },
  },
];

export function reportRoutes(ctx: ApiContext): Router {
  const router = Router();

  /** Forecast by status, agent and expected-close month. JSON, or CSV with `Accept: text/csv` / `?format=csv`. */
  router.get('/reports/forecast', async (req, res) => {
    const caller = callerOf(req);
    permit(caller, 'report', 'read');
    knownQuery(req, forecastQuery);
    const params: unknown[] = [];
    const scope = await scopeFor(ctx, req, caller, params);
    const from = dateParam(req, 'from');
    const to = dateParam(req, 'to');
    checkPeriod(from, to);
    const convert = conversionParams(req);
    if (from) scope.from = from;
    if (to) scope.to = to;
    await checkReportFilters(ctx.db, {
      ...(scope.caseTypes ? { caseTypes: scope.caseTypes } : {}),
      ...(scope.agentId ? { agentId: scope.agentId } : {}),
      ...(scope.teamId ? { teamId: scope.teamId } : {}),
    });
    scope.caseTypes ??= await forecastCaseTypes(ctx.db);
    const groupBy = queryString(req, 'groupBy', 10);
    if (groupBy !== undefined && !['status', 'agent', 'month'].includes(groupBy))
      throw ProblemError.badRequest('groupBy is status, agent or month', [
        { pointer: '/query/groupBy', message: 'must be status, agent or month' },
      ]);
    const source = sourceParam(req);
    if (source === 'totals' && !totalsCanAnswer(scope))
      throw ProblemError.badRequest(
        'The totals cannot answer a segment or a period not made of whole months',
        [{ pointer: '/query/source', message: 'use cases, or whole months' }],
      );
    const report =
      scope.caseTypes.length === 0
        ? { ...emptyForecast(), source: 'totals' as const }
        : await forecast(ctx.db, scope, params, source, convert);
    if (report.conversion === null && convert)
      report.conversion = { currency: convert.currency, rateDate: convert.rateDate, rates: [] };
    const filters = {
      caseTypes: scope.caseTypes,
      agent: scope.agentId ?? null,
      team: scope.teamId ?? null,
      from,
      to,
      source: report.source,
      currency: convert?.currency ?? null,
    };
    if (!wantsCsv(req)) {
      const sections = { status: 'byStatus', agent: 'byAgent', month: 'byMonth' } as const;
      const only = groupBy ? sections[groupBy as keyof typeof sections] : undefined;
      const { source: _source, ...figures } = report;
      res.json(
        only
          ? {
              filters,
              currencies: report.currencies,
              totals: report.totals,
              conversion: report.conversion,
              [only]: report[only],
            }
          : { filters, ...figures },
      );
      return;
    }
    const rows: unknown[][] = [];
    const want = (g: string) => groupBy === undefined || groupBy === g;
    if (want('status'))
      for (const r of report.byStatus)
        rows.push([
          'status',
          r.caseType,
          r.status,
          r.statusName,
          '',
          '',
          r.currency,
          ...FIGURES.map((f) => r[f]),
        ]);
    if (want('agent'))
      for (const r of report.byAgent)
        rows.push(['agent', '', '', '', r.agentId ?? '', '', r.currency, ...FIGURES.map((f) => r[f])]);
    if (want('month'))
      for (const r of report.byMonth)
        rows.push(['month', '', '', '', '', r.month ?? '', r.currency, ...FIGURES.map((f) => r[f])]);
    for (const t of report.totals)
      rows.push(['total', '', '', '', '', '', t.currency, ...FIGURES.map((f) => t[f])]);
    sendCsv(
      res,
      'forecast.csv',
      toCsv(
        ['dimension', 'caseType', 'status', 'statusName', 'agentId', 'month', 'currency', ...FIGURES],
        rows,
      ),
    );
  });

  /**
   * Open cases counted by type, status and agent, with a page of the cases. `?statuses=A,B,type:C` chooses the
   * statuses that count as open (default: the `open` category of each case's definition).
   */
  router.get('/reports/open-cases', async (req, res) => {
    const caller = callerOf(req);
    permit(caller, 'report', 'read');
    knownQuery(req, openCasesQuery);
    const params: unknown[] = [];
    const scope = await scopeFor(ctx, req, caller, params);
    const statuses: StatusSelector[] | undefined = listParam(req, 'statuses')?.map((s) => {
      const i = s.indexOf(':');
      return i > 0 ? { caseType: s.slice(0, i), status: s.slice(i + 1) } : { status: s };
    });
    if (statuses && statuses.length === 0)
      throw ProblemError.badRequest('statuses lists at least one status', [
        { pointer: '/query/statuses', message: 'is empty' },
      ]);
    await checkReportFilters(ctx.db, {
      ...(scope.caseTypes ? { caseTypes: scope.caseTypes } : {}),
      ...(scope.agentId ? { agentId: scope.agentId } : {}),
      ...(scope.teamId ? { teamId: scope.teamId } : {}),
      ...(statuses ? { statuses } : {}),
    });
    const scopeParams = [...params];
    const source = sourceParam(req);
    if (source === 'totals' && !totalsCanAnswer(scope))
      throw ProblemError.badRequest('The totals cannot answer a segment filter', [
        { pointer: '/query/source', message: 'use cases' },
      ]);
    const figures = await openCases(ctx.db, scope, statuses, params, source);
    const csv = wantsCsv(req);
    const limit = csv ? 100_000 : req.query.limit === '0' ? 0 : pageLimit(req, 50, ctx.maxPageSize);
    const cursor = decodeCursor(req, 2) as [string, string] | undefined;
    let items: ReturnType<typeof caseView>[] = [];
    let nextCursor: string | null = null;
    if (limit > 0) {
      const rows = await openCasesPage(ctx.db, scope, statuses, csv ? limit : limit + 1, cursor, scopeParams);
      items = rows.slice(0, limit).map(caseView);
      const last = items[items.length - 1];
      if (!csv && rows.length > limit && last) nextCursor = encodeCursor([last.createdAt, last.id]);
    }
    if (csv) {
      sendCsv(
        res,
        'open-cases.csv',
        toCsv(
          ['id', 'caseType', 'status', 'title', 'entityId', 'entityName', 'ownerId', 'createdAt'],
          items.map((c) => [
            c.id,
            c.caseType,
            c.status,
            c.title,
            c.entity?.id,
            c.entity?.name,
            c.ownerId,
            c.createdAt,
          ]),
        ),
      );
      return;
    }
    res.json({ ...figures, items, nextCursor });
  });

  return router;
}
