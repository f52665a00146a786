import type { Request, Response } from 'express';
import { Router } from 'express';
import {
  forecast,
  emptyForecast,
  forecastCaseTypes,
  totalsCanAnswer,
  openCases,
  openCasesPage,
  toCsv,
  type ReportScope,
  type ReportSource,
  type StatusSelector,
} from '../../crm/reports';
import { loadSegmentPredicate } from '../../crm/segment-store';
import { requireRole, type Caller } from '../auth';
import type { ApiContext } from '../context';
import { ProblemError } from '../problem';
import { caseView } from '../views';
import { decodeCursor, encodeCursor, pageLimit, queryString } from './crm-common';

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const MONTH = /^\d{4}-\d{2}$/;

/** `from`/`to` as YYYY-MM-DD or YYYY-MM (a month covers all its days). */
function dateParam(req: Request, name: 'from' | 'to'): string | undefined {
  const raw = queryString(req, name, 10);
  if (raw === undefined) return undefined;
  if (DAY.test(raw)) return raw;
  if (MONTH.test(raw)) return name === 'from' ? `${raw}-01` : `${raw}-31`;
  throw ProblemError.badRequest(`${name} must be a date`, [
    { pointer: `/query/${name}`, message: 'must be YYYY-MM-DD or YYYY-MM' },
  ]);
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

function wantsCsv(req: Request): boolean {
  const format = queryString(req, 'format', 10);
  if (format !== undefined && format !== 'csv' && format !== 'json')
    throw ProblemError.badRequest('format is csv or json', [
      { pointer: '/query/format', message: 'must be csv or json' },
    ]);
  if (format) return format === 'csv';
  return req.accepts(['application/json', 'text/csv']) === 'text/csv';
}

function sendCsv(res: Response, filename: string, csv: string): void {
  res.status(200).type('text/csv; charset=utf-8').attachment(filename).send(csv);
}

const FIGURES = [
  'count',
  'amount',
  'weightedAmount',
  'openCount',
  'openAmount',
  'openWeightedAmount',
  'wonCount',
  'wonAmount',
  'lostCount',
  'lostAmount',
] as const;

export function reportRoutes(ctx: ApiContext): Router {
  const router = Router();

  /** Forecast by status, agent and expected-close month. JSON, or CSV with `Accept: text/csv` / `?format=csv`. */
  router.get('/reports/forecast', async (req, res) => {
    const caller = requireRole(req, 'agent', 'supervisor', 'admin');
    const params: unknown[] = [];
    const scope = await scopeFor(ctx, req, caller, params);
    const from = dateParam(req, 'from');
    const to = dateParam(req, 'to');
    if (from) scope.from = from;
    if (to) scope.to = to;
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
        : await forecast(ctx.db, scope, params, source);
    const filters = {
      caseTypes: scope.caseTypes,
      agent: scope.agentId ?? null,
      team: scope.teamId ?? null,
      from,
      to,
      source: report.source,
    };
    if (!wantsCsv(req)) {
      const sections = { status: 'byStatus', agent: 'byAgent', month: 'byMonth' } as const;
      const only = groupBy ? sections[groupBy as keyof typeof sections] : undefined;
      const { source: _source, ...figures } = report;
      res.json(only ? { filters, totals: report.totals, [only]: report[only] } : { filters, ...figures });
      return;
    }
    const rows: unknown[][] = [];
    const want = (g: string) => groupBy === undefined || groupBy === g;
    if (want('status'))
      for (const r of report.byStatus)
        rows.push(['status', r.caseType, r.status, r.statusName, '', '', ...FIGURES.map((f) => r[f])]);
    if (want('agent'))
      for (const r of report.byAgent)
        rows.push(['agent', '', '', '', r.agentId ?? '', '', ...FIGURES.map((f) => r[f])]);
    if (want('month'))
      for (const r of report.byMonth)
        rows.push(['month', '', '', '', '', r.month ?? '', ...FIGURES.map((f) => r[f])]);
    rows.push(['total', '', '', '', '', '', ...FIGURES.map((f) => report.totals[f])]);
    sendCsv(
      res,
      'forecast.csv',
      toCsv(['dimension', 'caseType', 'status', 'statusName', 'agentId', 'month', ...FIGURES], rows),
    );
  });

  /**
   * Open cases counted by type, status and agent, with a page of the cases. `?statuses=A,B,type:C` chooses the
   * statuses that count as open (default: the `open` category of each case's definition).
   */
  router.get('/reports/open-cases', async (req, res) => {
    const caller = requireRole(req, 'agent', 'supervisor', 'admin');
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
