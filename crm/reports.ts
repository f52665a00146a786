/**
 * Pipeline reports: the forecast (by status, agent and expected-close month) and the open-cases report.
 *
 * Both read `case_pipeline_totals` (migration 030): exact totals per case type, definition version, status, owner
 * and close month, kept by triggers on `cases`, so a report aggregates a few thousand rows whatever the number
 * of cases. A filter the totals cannot answer (a saved segment, a period that does not start and end on month
 * boundaries) aggregates the cases themselves, over the covering `cases_forecast` index.
 */
import type { Queryable } from '../db';

/** Which cases a report covers. Every filter is ANDed; an empty or undefined filter does not restrict. */
export interface ReportScope {
  caseTypes?: string[];
  /** Owners the caller may report on; undefined means everyone (administrators). */
  visibleOwners?: string[];
  agentId?: string;
  teamId?: string;
  /** Expected close date range, inclusive (YYYY-MM-DD). */
  from?: string;
  to?: string;
  /** SQL predicate over `entities e` with its parameters already in `params` (a saved segment). */
  segmentPredicate?: string;
}

/** Where a report's figures come from: the maintained totals, or an aggregation of the cases. */
export type ReportSource = 'totals' | 'cases';

function lastDayOfMonth(month: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return `${month}-${String(new Date(Date.UTC(y, m, 0)).getUTCDate()).padStart(2, '0')}`;
}

/** The totals answer a scope without a segment whose period starts and ends on month boundaries. */
export function totalsCanAnswer(scope: ReportScope): boolean {
  if (scope.segmentPredicate) return false;
  if (scope.from && !scope.from.endsWith('-01')) return false;
  if (scope.to && scope.to !== lastDayOfMonth(scope.to.slice(0, 7)) && !scope.to.endsWith('-31'))
    return false;
  return true;
}

/** Predicates over `c`, the totals or the cases; the column names are the same except the close date. */
function scopeSql(scope: ReportScope, params: unknown[], source: ReportSource): string[] {
  const where: string[] = [];
  const p = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  if (source === 'totals') where.push('c.cases <> 0');
  if (scope.caseTypes && scope.caseTypes.length > 0)
    where.push(`c.case_type = ANY(${p(scope.caseTypes)}::text[])`);
  if (scope.visibleOwners) where.push(`c.owner_id = ANY(${p(scope.visibleOwners)}::text[])`);
  if (scope.agentId) where.push(`c.owner_id = ${p(scope.agentId)}`);
  if (scope.teamId)
    where.push(`c.owner_id IN (SELECT user_id FROM team_members WHERE team_id = ${p(scope.teamId)})`);
  if (source === 'totals') {
    if (scope.from) where.push(`c.close_month >= ${p(scope.from.slice(0, 7))}`);
    if (scope.to) where.push(`c.close_month <> '' AND c.close_month <= ${p(scope.to.slice(0, 7))}`);
  } else {
    if (scope.from) where.push(`c.expected_close >= ${p(scope.from)}`);
    if (scope.to) where.push(`c.expected_close <= ${p(scope.to)}`);
    if (scope.segmentPredicate)
      where.push(`c.entity_id IN (SELECT e.id FROM entities e WHERE ${scope.segmentPredicate})`);
  }
  return where;
}

/** Case types whose definition declares an `amount` field: what the forecast covers by default. */
export async function forecastCaseTypes(db: Queryable): Promise<string[]> {
  const rows = await db.query<{ case_type: string }>(
    `SELECT DISTINCT case_type FROM case_type_versions WHERE content -> 'fields' -> 'properties' ? 'amount'`,
  );
  return rows.map((r) => r.case_type);
}

export interface ForecastFigures {
  count: number;
  amount: number;
  weightedAmount: number;
  openCount: number;
  openAmount: number;
  openWeightedAmount: number;
  wonCount: number;
  wonAmount: number;
  lostCount: number;
  lostAmount: number;
}

export interface ForecastReport {
  totals: ForecastFigures;
  byStatus: (ForecastFigures & { caseType: string; status: string; statusName: string; category: string })[];
  byAgent: (ForecastFigures & { agentId: string | null; agentName: string | null })[];
  byMonth: (ForecastFigures & { month: string | null })[];
}

const ZERO: ForecastFigures = {
  count: 0,
  amount: 0,
  weightedAmount: 0,
  openCount: 0,
  openAmount: 0,
  openWeightedAmount: 0,
  wonCount: 0,
  wonAmount: 0,
  lostCount: 0,
  lostAmount: 0,
};

/** The forecast of no case at all (no case type has an amount). */
export function emptyForecast(): ForecastReport {
  return { totals: { ...ZERO }, byStatus: [], byAgent: [], byMonth: [] };
}

/**
 * The forecast. Probability of a case: its `data.probability` when set, else the default probability of its
 * status in the definition version the case runs on. Weighted amount = amount x probability / 100.
 */
export async function forecast(
  db: Queryable,
  scope: ReportScope,
  params: unknown[],
  source: ReportSource = totalsCanAnswer(scope) ? 'totals' : 'cases',
): Promise<ForecastReport & { source: ReportSource }> {
  const where = scopeSql(scope, params, source);
  const base =
    source === 'totals'
      ? `SELECT c.case_type, c.definition_version, c.status, c.status_category AS category,
                nullif(c.owner_id, '') AS owner_id, nullif(c.close_month, '') AS month, c.cases AS n, c.amount,
                c.weighted_override, c.amount_default
         FROM case_pipeline_totals c WHERE ${where.join(' AND ')}`
      : `SELECT c.case_type, c.definition_version, c.status, c.status_category AS category, c.owner_id,
                left(c.expected_close, 7) AS month, count(*) AS n,
                coalesce(sum(c.forecast_amount), 0) AS amount,
                coalesce(sum(c.forecast_amount * c.forecast_probability), 0) AS weighted_override,
                coalesce(sum(c.forecast_amount) FILTER (WHERE c.forecast_probability IS NULL), 0) AS amount_default
         FROM cases c ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         GROUP BY 1, 2, 3, 4, 5, 6`;
  const rows = await db.query(
    `WITH base AS (${base}
     ), statuses AS (
       SELECT v.case_type, v.version, s ->> 'code' AS status, s ->> 'name' AS name,
              coalesce((s ->> 'probability')::numeric, 0) AS probability
       FROM case_type_versions v CROSS JOIN LATERAL jsonb_array_elements(v.content -> 'statuses') s
       WHERE (v.case_type, v.version) IN (SELECT DISTINCT case_type, definition_version FROM base)
     ), weighted AS (
       SELECT b.*, (b.weighted_override + b.amount_default * coalesce(s.probability, 0)) / 100 AS weighted,
              s.name AS status_name
       FROM base b LEFT JOIN statuses s
         ON s.case_type = b.case_type AND s.version = b.definition_version AND s.status = b.status
     )
     SELECT GROUPING(case_type, status) AS g_status, GROUPING(owner_id) AS g_agent, GROUPING(month) AS g_month,
            case_type, status, owner_id, month,
            max(status_name) AS status_name, max(category) AS category,
            sum(n) AS count, sum(amount) AS amount, round(sum(weighted), 2) AS weighted,
            coalesce(sum(n) FILTER (WHERE category = 'open'), 0) AS open_count,
            coalesce(sum(amount) FILTER (WHERE category = 'open'), 0) AS open_amount,
            round(coalesce(sum(weighted) FILTER (WHERE category = 'open'), 0), 2) AS open_weighted,
            coalesce(sum(n) FILTER (WHERE category = 'won'), 0) AS won_count,
            coalesce(sum(amount) FILTER (WHERE category = 'won'), 0) AS won_amount,
            coalesce(sum(n) FILTER (WHERE category = 'lost'), 0) AS lost_count,
            coalesce(sum(amount) FILTER (WHERE category = 'lost'), 0) AS lost_amount
     FROM weighted
     GROUP BY GROUPING SETS ((case_type, status), (owner_id), (month), ())
     ORDER BY case_type, status, owner_id, month`,
    params,
  );
  const figures = (r: Record<string, unknown>): ForecastFigures => ({
    count: Number(r.count ?? 0),
    amount: Number(r.amount ?? 0),
    weightedAmount: Number(r.weighted ?? 0),
    openCount: Number(r.open_count ?? 0),
    openAmount: Number(r.open_amount ?? 0),
    openWeightedAmount: Number(r.open_weighted ?? 0),
    wonCount: Number(r.won_count ?? 0),
    wonAmount: Number(r.won_amount ?? 0),
    lostCount: Number(r.lost_count ?? 0),
    lostAmount: Number(r.lost_amount ?? 0),
  });
  const report: ForecastReport & { source: ReportSource } = { ...emptyForecast(), source };
  const agents = new Set<string>();
  for (const r of rows) {
    if (r.g_status === 0)
      report.byStatus.push({
        caseType: r.case_type as string,
        status: r.status as string,
        statusName: (r.status_name as string | null) ?? (r.status as string),
        category: r.category as string,
        ...figures(r),
      });
    else if (r.g_agent === 0) {
      report.byAgent.push({ agentId: (r.owner_id as string | null) ?? null, agentName: null, ...figures(r) });
      if (r.owner_id) agents.add(r.owner_id as string);
    } else if (r.g_month === 0)
      report.byMonth.push({ month: (r.month as string | null) ?? null, ...figures(r) });
    else report.totals = figures(r);
  }
  if (agents.size > 0) {
    const names = await db.query<{ id: string; name: string }>(
      'SELECT id, name FROM users WHERE id = ANY($1)',
      [[...agents]],
    );
    const byId = new Map(names.map((u) => [u.id, u.name]));
    for (const a of report.byAgent) a.agentName = a.agentId ? (byId.get(a.agentId) ?? null) : null;
  }
  return report;
}

/** A status set entry: a status code in every case type, or in one (`caseType:STATUS`). */
export interface StatusSelector {
  caseType?: string;
  status: string;
}

export interface OpenCasesReport {
  total: number;
  openStatuses: StatusSelector[] | 'category:open';
  byType: { caseType: string; count: number }[];
  byStatus: { caseType: string; status: string; count: number }[];
  byAgent: { agentId: string | null; count: number }[];
}

function statusSetSql(statuses: StatusSelector[] | undefined, params: unknown[]): string {
  if (!statuses) return `c.status_category = 'open'`;
  const anyType = statuses.filter((s) => !s.caseType).map((s) => s.status);
  const typed = statuses.filter((s) => s.caseType);
  const parts: string[] = [];
  if (anyType.length > 0) {
    params.push(anyType);
    parts.push(`c.status = ANY($${params.length}::text[])`);
  }
  if (typed.length > 0) {
    params.push(
      typed.map((s) => s.caseType),
      typed.map((s) => s.status),
    );
    parts.push(
      `(c.case_type, c.status) IN (SELECT * FROM unnest($${params.length - 1}::text[], $${params.length}::text[]))`,
    );
  }
  return `(${parts.join(' OR ')})`;
}

/**
 * The open-cases report: cases whose status is in the chosen set (default: every status of category `open`
 * in the definition the case runs on), counted by type, status and agent.
 */
export async function openCases(
  db: Queryable,
  scope: Omit<ReportScope, 'from' | 'to'>,
  statuses: StatusSelector[] | undefined,
  params: unknown[],
  source: ReportSource = totalsCanAnswer(scope) ? 'totals' : 'cases',
): Promise<OpenCasesReport & { source: ReportSource }> {
  const where = [...scopeSql(scope, params, source), statusSetSql(statuses, params)];
  const n = source === 'totals' ? 'sum(c.cases)' : 'count(*)';
  const rows = await db.query(
    `SELECT GROUPING(case_type) AS g_type, GROUPING(status) AS g_status, GROUPING(owner_id) AS g_agent,
            case_type, status, ${source === 'totals' ? "nullif(owner_id, '')" : 'owner_id'} AS owner, ${n} AS count
     FROM ${source === 'totals' ? 'case_pipeline_totals' : 'cases'} c WHERE ${where.join(' AND ')}
     GROUP BY GROUPING SETS ((case_type), (case_type, status), (owner_id), ())
     ORDER BY case_type, status, owner_id`,
    params,
  );
  const report: OpenCasesReport & { source: ReportSource } = {
    total: 0,
    openStatuses: statuses ?? 'category:open',
    byType: [],
    byStatus: [],
    byAgent: [],
    source,
  };
  for (const r of rows) {
    const count = Number(r.count);
    if (r.g_type === 0 && r.g_status === 0)
      report.byStatus.push({ caseType: r.case_type as string, status: r.status as string, count });
    else if (r.g_type === 0) report.byType.push({ caseType: r.case_type as string, count });
    else if (r.g_agent === 0) report.byAgent.push({ agentId: (r.owner as string | null) ?? null, count });
    else report.total = count;
  }
  return report;
}

/**
 * A page of the cases in the chosen statuses, newest first (`before`: the created_at and id of the last case of
 * the previous page). One index range per status, merged: no scan of every open case. `params` holds the
 * values of the scope's segment predicate, if any.
 */
export async function openCasesPage(
  db: Queryable,
  scope: Omit<ReportScope, 'from' | 'to'>,
  statuses: StatusSelector[] | undefined,
  limit: number,
  before: [string, string] | undefined,
  params: unknown[],
): Promise<Record<string, unknown>[]> {
  const common = scopeSql(scope, params, 'cases');
  if (before) {
    params.push(before[0], before[1]);
    common.push(`(c.created_at, c.id) < ($${params.length - 1}::timestamptz, $${params.length})`);
  }
  params.push(limit);
  const lim = `$${params.length}`;
  const branch = (cond: string) =>
    `(SELECT c.* FROM cases c WHERE ${[cond, ...common].join(' AND ')} ORDER BY c.created_at DESC, c.id DESC LIMIT ${lim})`;
  const branches = statuses
    ? statuses.map((s) => {
        params.push(s.status);
        let cond = `c.status = $${params.length}`;
        if (s.caseType) {
          params.push(s.caseType);
          cond += ` AND c.case_type = $${params.length}`;
        }
        return branch(cond);
      })
    : [branch(`c.status_category = 'open'`)];
  return db.query(
    `SELECT * FROM (${branches.join(' UNION ALL ')}) u ORDER BY created_at DESC, id DESC LIMIT ${lim}`,
    params,
  );
}

/** One CSV field (RFC 4180): quoted when it holds a comma, quote or line break; formula-looking text is defused. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let s = typeof value === 'number' ? String(value) : String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A CSV document from a header and rows. */
export function toCsv(header: string[], rows: unknown[][]): string {
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}
