/**
 * Sales quotas (migration 079): a target amount, in a currency, per agent or per team and period (a calendar
 * month `2026-12` or quarter `2026-Q4`), and the quota report that sets the forecast against them.
 *
 * The report's figures are the forecast's (crm/reports.ts), over the same cases and with the same rules: a case
 * belongs to the period of its expected close date (`data.expectedCloseDate`, for won deals as for open ones:
 * the read model keeps no other close date), a won case weighs 100 %, a lost one 0 %, an open one its
 * probability. Deals in another currency than the quota's are converted only with the exchange-rate table
 * (crm/exchange-rates.ts); a currency without a rate is listed as unconverted and never added.
 */
import type { Queryable } from '../db';
import type { Principal } from '../identity/visibility';
import { InvalidInputError, NotFoundError, type InputError } from '../lib/domain-errors';
import { findRates, type AppliedRate } from './exchange-rates';
import { mayQuota, permit, permitQuota, type QuotaSubject } from './permissions';
import { forecast, forecastCaseTypes, type ForecastFigures } from './reports';

/** A quota period and the days it covers (inclusive). */
export interface QuotaPeriod {
  period: string;
  from: string;
  to: string;
}

const PERIOD = /^(\d{4})-(?:(0[1-9]|1[0-2])|Q([1-4]))$/;

const day = (y: number, m: number, d: number) =>
  `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;

/** `2026-12` (a month) or `2026-Q4` (a quarter) as its first and last day; a 400 at `pointer` otherwise. */
export function parsePeriod(raw: string, pointer: string): QuotaPeriod {
  const m = PERIOD.exec(raw);
  if (!m)
    throw new InvalidInputError(`${JSON.stringify(raw)} is not a period`, [
      { pointer, message: 'must be a month YYYY-MM (01 to 12) or a quarter YYYY-Q1 to YYYY-Q4' },
    ]);
  const year = Number(m[1]);
  const first = m[2] ? Number(m[2]) : (Number(m[3]) - 1) * 3 + 1;
  const last = m[2] ? first : first + 2;
  const lastDay = new Date(Date.UTC(year, last, 0)).getUTCDate();
  return { period: raw, from: day(year, first, 1), to: day(year, last, lastDay) };
}

/** A stored quota. */
export interface Quota {
  period: string;
  agentId: string | null;
  teamId: string | null;
  amount: number;
  currency: string;
  updatedBy: string | null;
  updatedAt: string;
}

type QuotaRow = {
  period: string;
  agent_id: string | null;
  team_id: string | null;
  amount: string;
  currency: string;
  updated_by: string | null;
  updated_at: Date | string;
};

const COLUMNS = 'q.period, q.agent_id, q.team_id, q.amount, q.currency, q.updated_by, q.updated_at';

function view(r: QuotaRow): Quota {
  return {
    period: r.period,
    agentId: r.agent_id,
    teamId: r.team_id,
    amount: Number(r.amount),
    currency: r.currency,
    updatedBy: r.updated_by,
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}

const subjectColumn = (subject: QuotaSubject) => (subject.kind === 'agent' ? 'agent_id' : 'team_id');

/**
 * Checks that a quota's subject exists: an active agent or supervisor (the people who own deals), or a team.
 * A 400 at `pointer` otherwise.
 */
async function checkSubject(db: Queryable, subject: QuotaSubject, pointer: string): Promise<void> {
  if (subject.kind === 'team') {
    const rows = await db.query('SELECT 1 FROM teams WHERE id = $1', [subject.id]);
    if (rows.length === 0)
      throw new InvalidInputError(`No team ${subject.id}`, [{ pointer, message: 'is not a team' }]);
    return;
  }
  const [row] = await db.query<{ role: string; active: boolean }>(
    'SELECT role, active FROM users WHERE id = $1',
    [subject.id],
  );
  if (!row || !row.active)
    throw new InvalidInputError(`No active user ${subject.id}`, [
      { pointer, message: 'is not an active user' },
    ]);
  if (row.role !== 'agent' && row.role !== 'supervisor')
    throw new InvalidInputError(`${subject.id} is a ${row.role}, who owns no deals`, [
      { pointer, message: 'must be an agent or a supervisor' },
    ]);
}

/**
 * Sets the quota of `subject` for a period (creating or replacing it), for a caller who may
 * (docs/permissions.md). `created` says whether there was none.
 */
export async function putQuota(
  db: Queryable,
  who: Principal,
  subject: QuotaSubject,
  period: QuotaPeriod,
  target: { amount: number; currency: string },
  pointer: string,
): Promise<{ quota: Quota; created: boolean }> {
  permitQuota(who, 'write', subject);
  await checkSubject(db, subject, pointer);
  const column = subjectColumn(subject);
  const [row] = await db.query<QuotaRow & { created: boolean }>(
    `INSERT INTO sales_quotas AS q (period, ${column}, amount, currency, updated_by)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (period, ${column}) WHERE ${column} IS NOT NULL
     DO UPDATE SET amount = EXCLUDED.amount, currency = EXCLUDED.currency, updated_by = EXCLUDED.updated_by,
                   updated_at = now()
     RETURNING ${COLUMNS}, (q.xmax = 0) AS created`,
    [period.period, subject.id, target.amount, target.currency, who.userId],
  );
  const r = row as QuotaRow & { created: boolean };
  return { quota: view(r), created: r.created };
}

/** Removes the quota of `subject` for a period; 404 when there is none. */
export async function deleteQuota(
  db: Queryable,
  who: Principal,
  subject: QuotaSubject,
  period: QuotaPeriod,
): Promise<void> {
  permitQuota(who, 'write', subject);
  const rows = await db.query(
    `DELETE FROM sales_quotas WHERE period = $1 AND ${subjectColumn(subject)} = $2 RETURNING 1`,
    [period.period, subject.id],
  );
  if (rows.length === 0)
    throw new NotFoundError(
      'not-found',
      'Not found',
      `No quota of ${subject.kind} ${subject.id} for ${period.period}`,
    );
}

/** Which quotas a list or the report covers: optionally one period, one agent, one team. */
export interface QuotaFilter {
  period?: string;
  agentId?: string;
  teamId?: string;
}

/**
 * Checks the filter for a caller: naming an agent or team whose quotas they may not read is a 403 (as the
 * forecast's filters are), naming one that does not exist, or both an agent and a team, a 400 at its query
 * parameter.
 */
async function checkFilter(db: Queryable, who: Principal, filter: QuotaFilter): Promise<void> {
  // A quota is an agent's or a team's: both would select nothing, which would look like "no quota".
  if (filter.agentId && filter.teamId)
    throw new InvalidInputError("A quota is an agent's or a team's: filter by one of them", [
      { pointer: '/query/teamId', message: 'not with agentId' },
    ]);
  if (filter.agentId) permitQuota(who, 'read', { kind: 'agent', id: filter.agentId });
  if (filter.teamId) permitQuota(who, 'read', { kind: 'team', id: filter.teamId });
  const [row] = await db.query<{ agent: boolean; team: boolean }>(
    `SELECT ($1::text IS NULL OR EXISTS (SELECT 1 FROM users WHERE id = $1)) AS agent,
            ($2::text IS NULL OR EXISTS (SELECT 1 FROM teams WHERE id = $2)) AS team`,
    [filter.agentId ?? null, filter.teamId ?? null],
  );
  const errors: InputError[] = [];
  if (!row?.agent) errors.push({ pointer: '/query/agentId', message: `no user ${filter.agentId}` });
  if (!row?.team) errors.push({ pointer: '/query/teamId', message: `no team ${filter.teamId}` });
  if (errors.length > 0)
    throw new InvalidInputError(`The filter names ${errors.length} unknown value(s)`, errors);
}

/**
 * The quotas the caller may read (administrators every one; supervisors their own and those of the teams
 * they supervise and their members; agents their own), by period, agents first.
 */
export async function listQuotas(db: Queryable, who: Principal, filter: QuotaFilter): Promise<Quota[]> {
  permit(who, 'quota', 'read');
  await checkFilter(db, who, filter);
  const rows = await db.query<QuotaRow>(
    `SELECT ${COLUMNS} FROM sales_quotas q
     WHERE ($1::text IS NULL OR q.period = $1) AND ($2::text IS NULL OR q.agent_id = $2)
       AND ($3::text IS NULL OR q.team_id = $3)
       AND ($4::boolean OR q.agent_id = $5 OR q.agent_id = ANY($6::text[]) OR q.team_id = ANY($7::text[]))
     ORDER BY q.period, q.team_id NULLS FIRST, q.agent_id, q.team_id
     LIMIT 10000`,
    [
      filter.period ?? null,
      filter.agentId ?? null,
      filter.teamId ?? null,
      who.role === 'admin',
      who.userId,
      who.supervisedUsers,
      who.supervisedTeams,
    ],
  );
  // The SQL mirrors quotaRelation; keep the policy the last word.
  return rows
    .map(view)
    .filter((q) =>
      mayQuota(
        who,
        'read',
        q.agentId !== null ? { kind: 'agent', id: q.agentId } : { kind: 'team', id: q.teamId as string },
      ),
    );
}

/** The figures of one currency of a quota's deals, and the rate that converted them (null: not converted). */
export interface QuotaCurrencyFigures {
  currency: string;
  wonCount: number;
  wonAmount: number;
  openCount: number;
  openAmount: number;
  openWeightedAmount: number;
  /** The rate into the quota's currency (null for the quota's own currency, and when there is none). */
  rate: AppliedRate | null;
  /** False when no rate converts this currency: these figures are not in the quota's. */
  converted: boolean;
}

/** One quota against the forecast, every amount in the quota's currency. */
export interface QuotaAttainment {
  agentId: string | null;
  agentName: string | null;
  teamId: string | null;
  teamName: string | null;
  target: { amount: number; currency: string };
  currency: string;
  wonCount: number;
  wonAmount: number;
  openCount: number;
  openAmount: number;
  openWeightedAmount: number;
  /** Won amount + weighted open amount (won 100 %, lost 0 %, open by probability). */
  weightedForecast: number;
  /** wonAmount / target x 100, two decimals. */
  attainmentPercent: number;
  /** weightedForecast / target x 100, two decimals. */
  projectedAttainmentPercent: number;
  /** False when some deals' currency has no rate into the quota's: they are in `byCurrency`, not the sums. */
  complete: boolean;
  unconverted: string[];
  byCurrency: QuotaCurrencyFigures[];
}

export interface QuotaReport extends QuotaPeriod {
  rateDate: string;
  items: QuotaAttainment[];
}

const cents = (x: number) => Math.round(x * 100) / 100;
const percent = (x: number, of: number) => Math.round((x / of) * 10000) / 100;

type Sums = Pick<
  ForecastFigures,
  'wonCount' | 'wonAmount' | 'openCount' | 'openAmount' | 'openWeightedAmount'
>;
const SUM_KEYS = ['wonCount', 'wonAmount', 'openCount', 'openAmount', 'openWeightedAmount'] as const;

/**
 * The quota report of a period: each quota the caller may read, with the won amount, the open pipeline, the
 * weighted forecast and the attainment, in the quota's currency. Rates: those valid on `rateDate`.
 */
export async function quotaReport(
  db: Queryable,
  who: Principal,
  period: QuotaPeriod,
  filter: Omit<QuotaFilter, 'period'>,
  rateDate: string,
): Promise<QuotaReport> {
  const quotas = await listQuotas(db, who, { ...filter, period: period.period });
  const teamIds = [...new Set(quotas.flatMap((q) => (q.teamId ? [q.teamId] : [])))];
  const agentIds = [...new Set(quotas.flatMap((q) => (q.agentId ? [q.agentId] : [])))];
  const members = new Map<string, string[]>();
  const names = new Map<string, string>();
  if (quotas.length > 0) {
    const rows = await db.query<{ kind: string; id: string; name: string; members: string[] | null }>(
      `SELECT 'team' AS kind, t.id, t.name,
              (SELECT array_agg(m.user_id ORDER BY m.user_id) FROM team_members m WHERE m.team_id = t.id) AS members
       FROM teams t WHERE t.id = ANY($1::text[])
       UNION ALL
       SELECT 'agent', u.id, u.name, NULL FROM users u WHERE u.id = ANY($2::text[])`,
      [teamIds, agentIds],
    );
    for (const r of rows) {
      names.set(`${r.kind}:${r.id}`, r.name);
      if (r.kind === 'team') members.set(r.id, r.members ?? []);
    }
  }
  const owners = [...new Set([...agentIds, ...[...members.values()].flat()])];
  // Per owner and currency: the forecast's own figures for the period.
  const byOwner = new Map<string, ForecastFigures[]>();
  const caseTypes = owners.length > 0 ? await forecastCaseTypes(db) : [];
  if (caseTypes.length > 0) {
    const report = await forecast(
      db,
      { caseTypes, visibleOwners: owners, from: period.from, to: period.to },
      [],
      'totals',
    );
    for (const row of report.byAgent)
      if (row.agentId) byOwner.set(row.agentId, [...(byOwner.get(row.agentId) ?? []), row]);
  }
  // One rate lookup per quota currency, for every currency the report's deals are in.
  const dealCurrencies = [...new Set([...byOwner.values()].flat().map((r) => r.currency))];
  const ratesByTarget = new Map<string, Map<string, AppliedRate>>();
  for (const target of new Set(quotas.map((q) => q.currency)))
    ratesByTarget.set(target, (await findRates(db, dealCurrencies, target, rateDate)).rates);
  const items: QuotaAttainment[] = [];
  for (const q of quotas) {
    const ids = q.agentId !== null ? [q.agentId] : (members.get(q.teamId as string) ?? []);
    const perCurrency = new Map<string, Sums>();
    for (const id of ids)
      for (const row of byOwner.get(id) ?? []) {
        const into =
          perCurrency.get(row.currency) ??
          ({ wonCount: 0, wonAmount: 0, openCount: 0, openAmount: 0, openWeightedAmount: 0 } as Sums);
        for (const k of SUM_KEYS) into[k] += row[k];
        perCurrency.set(row.currency, into);
      }
    const rates = ratesByTarget.get(q.currency) ?? new Map<string, AppliedRate>();
    const missing = [...perCurrency.keys()].filter((c) => c !== q.currency && !rates.has(c)).sort();
    const total: Sums = { wonCount: 0, wonAmount: 0, openCount: 0, openAmount: 0, openWeightedAmount: 0 };
    const byCurrency: QuotaCurrencyFigures[] = [];
    for (const [currency, sums] of [...perCurrency].sort(([a], [b]) => a.localeCompare(b))) {
      const rate = rates.get(currency) ?? null;
      const converted = currency === q.currency || rate !== null;
      if (converted) {
        const factor = rate ? rate.rate : 1;
        total.wonCount += sums.wonCount;
        total.openCount += sums.openCount;
        total.wonAmount += sums.wonAmount * factor;
        total.openAmount += sums.openAmount * factor;
        total.openWeightedAmount += sums.openWeightedAmount * factor;
      }
      byCurrency.push({
        currency,
        ...sums,
        wonAmount: cents(sums.wonAmount),
        openAmount: cents(sums.openAmount),
        openWeightedAmount: cents(sums.openWeightedAmount),
        rate,
        converted,
      });
    }
    const wonAmount = cents(total.wonAmount);
    const openWeightedAmount = cents(total.openWeightedAmount);
    const weightedForecast = cents(wonAmount + openWeightedAmount);
    items.push({
      agentId: q.agentId,
      agentName: q.agentId ? (names.get(`agent:${q.agentId}`) ?? null) : null,
      teamId: q.teamId,
      teamName: q.teamId ? (names.get(`team:${q.teamId}`) ?? null) : null,
      target: { amount: q.amount, currency: q.currency },
      currency: q.currency,
      wonCount: total.wonCount,
      wonAmount,
      openCount: total.openCount,
      openAmount: cents(total.openAmount),
      openWeightedAmount,
      weightedForecast,
      attainmentPercent: percent(wonAmount, q.amount),
      projectedAttainmentPercent: percent(weightedForecast, q.amount),
      complete: missing.length === 0,
      unconverted: missing,
      byCurrency,
    });
  }
  return { ...period, rateDate, items };
}
