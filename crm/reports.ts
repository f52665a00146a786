/**
 * Pipeline reports: the forecast (by status, agent and expected-close month) and the open-cases report.
 *
 * Both read `case_pipeline_totals` (migration 030): exact totals per case type, definition version, status, owner
 * and close month, kept by triggers on `cases`, so a report aggregates a few thousand rows whatever the number
 * of cases. A filter the totals cannot answer (a saved segment, a period that does not start and end on month
 * boundaries) aggregates the cases themselves, over the covering `cases_forecast` index.
 */
import type { Queryable } from '../db';
import { InvalidInputError, type InputError } from '../lib/domain-errors';
import { ratesInto, type AppliedRate } from './exchange-rates';

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
  /** ISO 4217 code every amount of these figures is in. */
  currency: string;
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

/** The figures that are sums (everything but the currency). */
export const FIGURE_KEYS = [
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

type StatusRow = ForecastFigures & { caseType: string; status: string; statusName: string; category: string };
type AgentRow = ForecastFigures & { agentId: string | null; agentName: string | null };
type MonthRow = ForecastFigures & { month: string | null };

export interface ForecastReport {
  /** The currencies the figures are in, sorted: one row per currency in every breakdown and the totals. */
  currencies: string[];
  totals: ForecastFigures[];
  byStatus: StatusRow[];
  byAgent: AgentRow[];
  byMonth: MonthRow[];
  /** Set when the amounts were converted into one reporting currency: the rates used. */
  conversion: { currency: string; rateDate: string; rates: AppliedRate[] } | null;
}

/** The forecast of no case at all (no case type has an amount). */
export function emptyForecast(): ForecastReport {
  return { currencies: [], totals: [], byStatus: [], byAgent: [], byMonth: [], conversion: null };
}

/** Currency of a case without one (or of a definition without a default): ISO 4217 "no currency". */
export const NO_CURRENCY = 'XXX';

/**
 * The forecast, in each case's own currency (never adding one currency to another). Weighted amount: a
 * `won` case counts 100 %, a `lost` or `closed` one 0 %; an open case its `data.probability` when set, else
 * the default probability of its status in the definition version the case runs on (amount x probability /
 * 100). A case without a currency is in its definition's default currency (`fields.properties.currency.default`).
 * With `convert`, every amount is converted into `convert.currency` with the rate of each currency valid on
 * `convert.rateDate` (crm/exchange-rates.ts; a 400 `no-exchange-rate` when one is missing).
 */
export async function forecast(
  db: Queryable,
  scope: ReportScope,
  params: unknown[],
  source: ReportSource = totalsCanAnswer(scope) ? 'totals' : 'cases',
  convert?: { currency: string; rateDate: string; pointer: string },
): Promise<ForecastReport & { source: ReportSource }> {
  const where = scopeSql(scope, params, source);
  const base =
    source === 'totals'
      ? `SELECT c.case_type, c.definition_version, c.status, c.status_category AS category,
                nullif(c.owner_id, '') AS owner_id, nullif(c.close_month, '') AS month, c.currency, c.cases AS n,
                c.amount, c.weighted_override, c.amount_default
         FROM case_pipeline_totals c WHERE ${where.join(' AND ')}`
      : `SELECT c.case_type, c.definition_version, c.status, c.status_category AS category, c.owner_id,
                left(c.expected_close, 7) AS month, coalesce(c.forecast_currency, '') AS currency, count(*) AS n,
                coalesce(sum(c.forecast_amount), 0) AS amount,
                coalesce(sum(c.forecast_amount * c.forecast_probability), 0) AS weighted_override,
                coalesce(sum(c.forecast_amount) FILTER (WHERE c.forecast_probability IS NULL), 0) AS amount_default
         FROM cases c ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         GROUP BY 1, 2, 3, 4, 5, 6, 7`;
  params.push(NO_CURRENCY);
  const noCurrency = `$${params.length}`;
  const rows = await db.query(
    `WITH base AS (${base}
     ), versions AS (
       SELECT v.case_type, v.version, v.content
       FROM case_type_versions v
       WHERE (v.case_type, v.version) IN (SELECT DISTINCT case_type, definition_version FROM base)
     ), statuses AS (
       SELECT v.case_type, v.version, s.st ->> 'code' AS status, s.st ->> 'name' AS name, s.ord,
              coalesce((s.st ->> 'probability')::numeric, 0) AS probability
       FROM versions v CROSS JOIN LATERAL jsonb_array_elements(v.content -> 'statuses') WITH ORDINALITY s(st, ord)
     ), weighted AS (
       SELECT b.*,
              CASE b.category WHEN 'won' THEN b.amount WHEN 'lost' THEN 0 WHEN 'closed' THEN 0
                ELSE (b.weighted_override + b.amount_default * coalesce(s.probability, 0)) / 100 END AS weighted,
              coalesce(nullif(b.currency, ''), v.content -> 'fields' -> 'properties' -> 'currency' ->> 'default',
                       ${noCurrency}) AS cur,
              s.name AS status_name, s.ord AS status_ord
       FROM base b
       LEFT JOIN statuses s
         ON s.case_type = b.case_type AND s.version = b.definition_version AND s.status = b.status
       LEFT JOIN versions v ON v.case_type = b.case_type AND v.version = b.definition_version
     )
     SELECT GROUPING(case_type, status) AS g_status, GROUPING(owner_id) AS g_agent, GROUPING(month) AS g_month,
            case_type, status, owner_id, month, cur,
            max(status_name) AS status_name, max(category) AS category, CASE WHEN GROUPING(case_type, status) = 0 THEN min(status_ord) END AS status_ord,
            sum(n) AS count, sum(amount) AS amount, round(sum(weighted), 2) AS weighted,
            coalesce(sum(n) FILTER (WHERE category = 'open'), 0) AS open_count,
            coalesce(sum(amount) FILTER (WHERE category = 'open'), 0) AS open_amount,
            round(coalesce(sum(weighted) FILTER (WHERE category = 'open'), 0), 2) AS open_weighted,
            coalesce(sum(n) FILTER (WHERE category = 'won'), 0) AS won_count,
            coalesce(sum(amount) FILTER (WHERE category = 'won'), 0) AS won_amount,
            coalesce(sum(n) FILTER (WHERE category = 'lost'), 0) AS lost_count,
            coalesce(sum(amount) FILTER (WHERE category = 'lost'), 0) AS lost_amount
     FROM weighted
     GROUP BY GROUPING SETS ((case_type, status, cur), (owner_id, cur), (month, cur), (cur))
     ORDER BY case_type, status_ord, status, owner_id, month, cur`,
    params,
  );
  const figures = (r: Record<string, unknown>): ForecastFigures => ({
    currency: r.cur as string,
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
  let report: ForecastReport & { source: ReportSource } = { ...emptyForecast(), source };
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
    else report.totals.push(figures(r));
  }
  report.currencies = report.totals.map((t) => t.currency).sort();
  if (convert) {
    const rates = await ratesInto(db, report.currencies, convert.currency, convert.rateDate, convert.pointer);
    report = {
      ...convertReport(report, convert.currency, rates),
      conversion: {
        currency: convert.currency,
        rateDate: convert.rateDate,
        rates: [...rates.values()].sort((a, b) => a.from.localeCompare(b.from)),
      },
      source,
    };
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

const cents = (x: number) => Math.round(x * 100) / 100;

/** Rows of every currency merged per key, their amounts multiplied by their currency's rate (1 for the target). */
function mergeConverted<R extends ForecastFigures>(
  rows: R[],
  key: (r: R) => string,
  target: string,
  rates: Map<string, AppliedRate>,
): R[] {
  const merged = new Map<string, R>();
  for (const r of rows) {
    const rate = r.currency === target ? 1 : (rates.get(r.currency) as AppliedRate).rate;
    const k = key(r);
    const into =
      merged.get(k) ??
      ({ ...r, currency: target, ...Object.fromEntries(FIGURE_KEYS.map((f) => [f, 0])) } as R);
    for (const f of FIGURE_KEYS)
      (into[f] as number) += f.endsWith('Count') || f === 'count' ? r[f] : r[f] * rate;
    merged.set(k, into);
  }
  const out = [...merged.values()];
  for (const r of out) for (const f of FIGURE_KEYS) (r[f] as number) = cents(r[f]);
  return out;
}

function convertReport(
  report: ForecastReport,
  target: string,
  rates: Map<string, AppliedRate>,
): ForecastReport {
  const totals = mergeConverted(report.totals, () => '', target, rates);
  return {
    currencies: totals.length > 0 ? [target] : [],
    totals,
    byStatus: mergeConverted(report.byStatus, (r) => `${r.caseType}\u0000${r.status}`, target, rates),
    byAgent: mergeConverted(report.byAgent, (r) => r.agentId ?? '', target, rates),
    byMonth: mergeConverted(report.byMonth, (r) => r.month ?? '', target, rates),
    conversion: null,
  };
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
  // Statuses in pipeline order: their position in the latest version of the case type's definition.
  const rows = await db.query(
    `SELECT g.*,
            (SELECT o.ord FROM case_type_versions v
               CROSS JOIN LATERAL jsonb_array_elements(v.content -> 'statuses') WITH ORDINALITY o(st, ord)
             WHERE g.status IS NOT NULL AND v.case_type = g.case_type AND o.st ->> 'code' = g.status
             ORDER BY v.version DESC LIMIT 1) AS status_ord
     FROM (
       SELECT GROUPING(case_type) AS g_type, GROUPING(status) AS g_status, GROUPING(owner_id) AS g_agent,
              case_type, status, ${source === 'totals' ? "nullif(owner_id, '')" : 'owner_id'} AS owner,
              ${n} AS count
       FROM ${source === 'totals' ? 'case_pipeline_totals' : 'cases'} c WHERE ${where.join(' AND ')}
       GROUP BY GROUPING SETS ((case_type), (case_type, status), (owner_id), ())
     ) g
     ORDER BY g.case_type, status_ord, g.status, g.owner`,
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

/**
 * Checks that every filter names something that exists: a report on an unknown case type, agent, team or
 * status would answer zeros that look like real figures. A 400 at each offending query parameter.
 */
export async function checkReportFilters(
  db: Queryable,
  filters: { caseTypes?: string[]; agentId?: string; teamId?: string; statuses?: StatusSelector[] },
): Promise<void> {
  const [row] = await db.query<{
    types: string[] | null;
    agent: boolean;
    team: boolean;
    statuses: { case_type: string; status: string }[] | null;
  }>(
    `SELECT
       (SELECT array_agg(DISTINCT case_type) FROM case_type_versions WHERE case_type = ANY($1::text[])) AS types,
       ($2::text IS NULL OR EXISTS (SELECT 1 FROM users WHERE id = $2)) AS agent,
       ($3::text IS NULL OR EXISTS (SELECT 1 FROM teams WHERE id = $3)) AS team,
       (SELECT jsonb_agg(DISTINCT jsonb_build_object('case_type', v.case_type, 'status', s ->> 'code'))
        FROM case_type_versions v CROSS JOIN LATERAL jsonb_array_elements(v.content -> 'statuses') s
        WHERE s ->> 'code' = ANY($4::text[])) AS statuses`,
    [
      filters.caseTypes ?? [],
      filters.agentId ?? null,
      filters.teamId ?? null,
      (filters.statuses ?? []).map((s) => s.status),
    ],
  );
  const errors: InputError[] = [];
  const knownTypes = new Set(row?.types ?? []);
  const unknownTypes = (filters.caseTypes ?? []).filter((t) => !knownTypes.has(t));
  if (unknownTypes.length > 0)
    errors.push({ pointer: '/query/caseType', message: `unknown case type(s): ${unknownTypes.join(', ')}` });
  if (!row?.agent) errors.push({ pointer: '/query/agent', message: `no user ${filters.agentId}` });
  if (!row?.team) errors.push({ pointer: '/query/team', message: `no team ${filters.teamId}` });
  const known = row?.statuses ?? [];
  const unknownStatuses = (filters.statuses ?? []).filter(
    (s) =>
      !known.some(
        (k) =>
          k.status === s.status &&
          (s.caseType
            ? k.case_type === s.caseType
            : !filters.caseTypes || filters.caseTypes.includes(k.case_type)),
      ),
  );
  if (unknownStatuses.length > 0)
    errors.push({
      pointer: '/query/statuses',
      message: `no such status in the case types reported on: ${unknownStatuses
        .map((s) => (s.caseType ? `${s.caseType}:${s.status}` : s.status))
        .join(', ')}`,
    });
  if (errors.length > 0)
    throw new InvalidInputError(`The report has ${errors.length} unknown filter value(s)`, errors);
}
