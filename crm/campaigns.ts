/** Campaigns: their targets (from a spreadsheet or a segment), progress and results against the budget. */
import type { Queryable, Row } from '../db';
import { InvalidInputError, type InputError } from '../lib/domain-errors';
import { campaignCaseId } from '../workflows/campaign-messages';
import { findRates, type AppliedRate } from './exchange-rates';
import { forecastCaseTypes, NO_CURRENCY } from './reports';
import type { SheetRow } from './spreadsheet';

/** The data a campaign's cases start with: the campaign's own case data, its name as subject, its id. */
export function campaignCaseData(
  campaign: { id: string; name: string; case_data: Record<string, unknown> },
  fields: { properties?: Record<string, unknown> } | undefined,
): Record<string, unknown> {
  const data: Record<string, unknown> = { ...campaign.case_data };
  if (fields?.properties && 'subject' in fields.properties && data.subject === undefined)
    data.subject = campaign.name;
  data.campaignId = campaign.id;
  return data;
}

/** A campaign row as the API shows it. */
export function campaignView(r: Row) {
  return {
    id: r.id as string,
    name: r.name as string,
    description: (r.description as string | null) ?? null,
    startsOn: (r.starts_on as string | null) ?? null,
    endsOn: (r.ends_on as string | null) ?? null,
    goal: r.goal as Record<string, unknown>,
    budget: Number(r.budget),
    actualCost: Number(r.actual_cost),
    currency: r.currency as string,
    caseType: r.case_type as string,
    definitionVersion: (r.definition_version as number | null) ?? null,
    caseData: r.case_data as Record<string, unknown>,
    segmentId: (r.segment_id as string | null) ?? null,
    status: r.status as string,
    batchSize: r.batch_size as number,
    ratePerSecond: Number(r.rate_per_second),
    startedAt: (r.started_at as string | null) ?? null,
    completedAt: (r.completed_at as string | null) ?? null,
    createdBy: (r.created_by as string | null) ?? null,
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
}
export type CampaignView = ReturnType<typeof campaignView>;

/** Campaign rows select dates as plain YYYY-MM-DD text. */
export const CAMPAIGN_SELECT = `id, name, description, to_char(starts_on, 'YYYY-MM-DD') AS starts_on,
  to_char(ends_on, 'YYYY-MM-DD') AS ends_on, goal, budget, actual_cost, currency, case_type, definition_version,
  case_data, segment_id, status, batch_size, rate_per_second, started_at, completed_at, created_by, created_at,
  updated_at`;

export interface TargetImport {
  result: 'added' | 'unchanged';
  added: number;
  alreadyTargets: number;
  rejected: number;
  errors: (InputError & { line: number })[];
  duplicates: { line: number; sameAs: number }[];
}

/**
 * Adds the rows of a target spreadsheet. Every row is checked first (type EN/CL/PR, an existing entity with that
 * code); when any row is wrong nothing is added unless `acceptValid`, and the 400 lists every wrong line.
 */
export async function addTargetsFromRows(
  db: { transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> } & Queryable,
  campaignId: string,
  rows: SheetRow[],
  source: string,
  acceptValid: boolean,
): Promise<TargetImport> {
  const errors: (InputError & { line: number })[] = [];
  const duplicates: { line: number; sameAs: number }[] = [];
  const seen = new Map<string, number>();
  const candidates: SheetRow[] = [];
  for (const row of rows) {
    const type = row.type.toUpperCase();
    if (!['EN', 'CL', 'PR'].includes(type)) {
      errors.push({
        line: row.line,
        pointer: `/body/rows/${row.line}/type`,
        message: `line ${row.line}: entity type "${row.type}" is not EN, CL or PR`,
      });
      continue;
    }
    if (row.code === '') {
      errors.push({
        line: row.line,
        pointer: `/body/rows/${row.line}/code`,
        message: `line ${row.line}: the code is empty`,
      });
      continue;
    }
    const key = `${type}\u0000${row.code}`;
    const first = seen.get(key);
    if (first !== undefined) {
      duplicates.push({ line: row.line, sameAs: first });
      continue;
    }
    seen.set(key, row.line);
    candidates.push({ ...row, type });
  }
  const found = await db.query<{ id: string; kind: string; code: string }>(
    `SELECT e.id, e.kind, e.code FROM entities e
     JOIN unnest($1::text[], $2::text[]) AS k(kind, code) ON e.kind = k.kind AND e.code = k.code`,
    [candidates.map((r) => r.type), candidates.map((r) => r.code)],
  );
  const byKey = new Map(found.map((e) => [`${e.kind}\u0000${e.code}`, e.id]));
  const valid: string[] = [];
  for (const row of candidates) {
    const id = byKey.get(`${row.type}\u0000${row.code}`);
    if (id) valid.push(id);
    else
      errors.push({
        line: row.line,
        pointer: `/body/rows/${row.line}/code`,
        message: `line ${row.line}: no ${row.type} entity has the code "${row.code}"`,
      });
  }
  errors.sort((a, b) => a.line - b.line);
  if (errors.length > 0 && !acceptValid) {
    throw new InvalidInputError(
      `${errors.length} of ${rows.length} row(s) cannot be used; nothing was added. Fix them, or send ?acceptValid=true to add the ${valid.length} valid row(s).`,
      errors,
    );
  }
  const added = await insertTargets(db, campaignId, valid, source);
  return {
    result: added > 0 ? 'added' : 'unchanged',
    added,
    alreadyTargets: valid.length - added,
    rejected: errors.length,
    errors,
    duplicates,
  };
}

/** Inserts targets (ignoring those already there); returns how many were new. */
async function insertTargets(
  db: Queryable,
  campaignId: string,
  entityIds: string[],
  source: string,
): Promise<number> {
  if (entityIds.length === 0) return 0;
  const rows = await db.query(
    `INSERT INTO campaign_targets (campaign_id, entity_id, case_id, source)
     SELECT $1, id, $2 || id, $3 FROM unnest($4::text[]) AS id
     ON CONFLICT (campaign_id, entity_id) DO NOTHING RETURNING entity_id`,
    [campaignId, campaignCaseId(campaignId, ''), source, entityIds],
  );
  return rows.length;
}

/** Adds every entity matching a compiled segment predicate (its values already in `params`). */
export async function addTargetsFromSegment(
  db: Queryable,
  campaignId: string,
  predicate: string,
  params: unknown[],
  source: string,
): Promise<{ result: 'added' | 'unchanged'; added: number; alreadyTargets: number }> {
  const base = params.length;
  const rows = await db.query<{ added: number; matched: number }>(
    `WITH matched AS (SELECT e.id FROM entities e WHERE ${predicate}),
          ins AS (
            INSERT INTO campaign_targets (campaign_id, entity_id, case_id, source)
            SELECT $${base + 1}, id, $${base + 2} || id, $${base + 3} FROM matched
            ON CONFLICT (campaign_id, entity_id) DO NOTHING RETURNING 1)
     SELECT (SELECT count(*) FROM ins) AS added, (SELECT count(*) FROM matched) AS matched`,
    [...params, campaignId, campaignCaseId(campaignId, ''), source],
  );
  const { added, matched } = rows[0] ?? { added: 0, matched: 0 };
  return { result: added > 0 ? 'added' : 'unchanged', added, alreadyTargets: matched - added };
}

export interface CampaignProgressView {
  targets: number;
  pending: number;
  started: number;
  failed: number;
  casesCreated: number;
}

/** Where the start of a campaign is: targets by state, and how many of their cases exist in the read model. */
export async function campaignProgress(db: Queryable, campaignId: string): Promise<CampaignProgressView> {
  const [r] = await db.query<Record<string, number>>(
    `SELECT count(*) AS targets,
            count(*) FILTER (WHERE t.state = 'pending') AS pending,
            count(*) FILTER (WHERE t.state = 'started') AS started,
            count(*) FILTER (WHERE t.state = 'failed') AS failed,
            count(c.id) AS cases_created
     FROM campaign_targets t LEFT JOIN cases c ON c.id = t.case_id WHERE t.campaign_id = $1`,
    [campaignId],
  );
  return {
    targets: r?.targets ?? 0,
    pending: r?.pending ?? 0,
    started: r?.started ?? 0,
    failed: r?.failed ?? 0,
    casesCreated: r?.cases_created ?? 0,
  };
}

/** What a campaign aims at (`campaigns.goal`): counts, a won amount in a currency, and a free text. */
export interface CampaignGoal {
  leads?: number;
  opportunities?: number;
  opportunitiesWon?: number;
  wonAmount?: number;
  /** The currency of `wonAmount`; default the campaign's. */
  currency?: string;
  text?: string;
}

/**
 * Checks what the goal's schema cannot say: a currency belongs to the won-amount goal. A 400 at
 * `pointer`/currency otherwise.
 */
export function checkGoal(goal: CampaignGoal | undefined, pointer: string): void {
  if (goal?.currency !== undefined && goal.wonAmount === undefined)
    throw new InvalidInputError('A goal currency is the currency of the won-amount goal', [
      { pointer: `${pointer}/currency`, message: 'only with wonAmount (the currency of that goal)' },
    ]);
}

/** The won opportunities of one currency, and the rate that converted them into the campaign's (null: none). */
export interface WonInCurrency {
  currency: string;
  count: number;
  amount: number;
  rate: AppliedRate | null;
  converted: boolean;
}

/** A count goal against the results: actual / goal x 100 (null for a goal of 0). */
export interface CountGoal {
  goal: number;
  actual: number;
  percent: number | null;
}

/** The won-amount goal in its currency: only amounts a rate converts count; the others are listed as they are. */
export interface AmountGoal extends CountGoal {
  currency: string;
  complete: boolean;
  unconverted: { currency: string; count: number; amount: number }[];
  /** Set when something could not be converted: what and why. */
  detail?: string;
  /** The rates that converted into the goal's currency (absent when none was needed). */
  rates?: AppliedRate[];
}

export interface CampaignResults {
  leads: number;
  opportunitiesOpened: number;
  opportunitiesWon: number;
  /** The campaign's currency: wonAmount, budget, actual cost and ROI are in it. */
  currency: string;
  /** Won amount in the campaign's currency: its own and those a rate converts; never another currency added. */
  wonAmount: number;
  wonByCurrency: WonInCurrency[];
  /** False when some won amount has no rate into the campaign's currency (listed in unconverted). */
  complete: boolean;
  unconverted: string[];
  /** The day whose exchange rates converted (today, UTC). */
  rateDate: string;
  budget: number;
  actualCost: number;
  costPerLead: number | null;
  /** (won amount - actual cost) / actual cost. */
  roi: number | null;
  /** Actual cost / budget. */
  budgetUsed: number | null;
  /** Each goal the campaign sets, against the results; the budget (when set) against the actual cost. */
  goals: {
    leads?: CountGoal;
    opportunities?: CountGoal;
    opportunitiesWon?: CountGoal;
    wonAmount?: AmountGoal;
    budget?: CountGoal & { currency: string };
    text?: string;
  };
}

const cents = (x: number) => Math.round(x * 100) / 100;
const percentOf = (actual: number, goal: number) =>
  goal > 0 ? Math.round((actual / goal) * 10000) / 100 : null;

/** Won amounts per currency converted into `target` with the rates valid on `day`; the rest listed apart. */
async function convertWon(
  db: Queryable,
  won: { currency: string; count: number; amount: number }[],
  target: string,
  day: string,
) {
  const { rates, missing } = await findRates(
    db,
    won.map((w) => w.currency),
    target,
    day,
  );
  let total = 0;
  for (const w of won) {
    if (w.currency === target) total += w.amount;
    else if (rates.has(w.currency)) total += w.amount * (rates.get(w.currency) as AppliedRate).rate;
  }
  return { total: cents(total), rates, missing };
}

/**
 * Results against the budget and the goals. Cases count for a campaign when their data carries its id
 * (`campaignId`). Opportunities: such cases of a forecast type (a definition with an `amount` field). Leads: the
 * campaign's target cases that reached a won-category status (a qualified follow-up), plus any other
 * non-forecast case carrying the campaign id (an inbound-email lead, for instance). Won amounts are per currency
 * (a case's `data.currency`, else its definition's default) and converted only with the exchange-rate table.
 */
export async function campaignResults(
  db: Queryable,
  campaign: CampaignView,
  rateDate: string = new Date().toISOString().slice(0, 10),
): Promise<CampaignResults> {
  const forecastTypes = await forecastCaseTypes(db);
  const [r] = await db.query<Record<string, number>>(
    `SELECT count(*) FILTER (WHERE NOT x.opp AND (t.case_id IS NULL OR c.status_category = 'won')) AS leads,
            count(*) FILTER (WHERE x.opp) AS opportunities,
            count(*) FILTER (WHERE x.opp AND c.status_category = 'won') AS won
     FROM cases c LEFT JOIN campaign_targets t ON t.case_id = c.id AND t.campaign_id = $1
     CROSS JOIN LATERAL (SELECT c.case_type = ANY($2::text[]) AS opp) x
     WHERE c.campaign_id = $1`,
    [campaign.id, forecastTypes],
  );
  const wonRows = await db.query<{ currency: string; n: number; amount: string }>(
    `SELECT coalesce(c.forecast_currency, v.content -> 'fields' -> 'properties' -> 'currency' ->> 'default', $3)
              AS currency,
            count(*)::int AS n, coalesce(sum(c.forecast_amount), 0) AS amount
     FROM cases c
     LEFT JOIN case_type_versions v ON v.case_type = c.case_type AND v.version = c.definition_version
     WHERE c.campaign_id = $1 AND c.case_type = ANY($2::text[]) AND c.status_category = 'won'
     GROUP BY 1 ORDER BY 1`,
    [campaign.id, forecastTypes, NO_CURRENCY],
  );
  const won = wonRows.map((w) => ({ currency: w.currency, count: w.n, amount: Number(w.amount) }));
  const own = await convertWon(db, won, campaign.currency, rateDate);
  const leads = r?.leads ?? 0;
  const opportunitiesOpened = r?.opportunities ?? 0;
  const opportunitiesWon = r?.won ?? 0;
  const wonAmount = own.total;
  const round = (n: number) => Math.round(n * 10000) / 10000;
  const goal = campaign.goal as CampaignGoal;
  const goals: CampaignResults['goals'] = {};
  const count = (g: number, actual: number): CountGoal => ({
    goal: g,
    actual,
    percent: percentOf(actual, g),
  });
  if (goal.leads !== undefined) goals.leads = count(goal.leads, leads);
  if (goal.opportunities !== undefined) goals.opportunities = count(goal.opportunities, opportunitiesOpened);
  if (goal.opportunitiesWon !== undefined)
    goals.opportunitiesWon = count(goal.opportunitiesWon, opportunitiesWon);
  if (goal.wonAmount !== undefined) {
    const currency = goal.currency ?? campaign.currency;
    const into = currency === campaign.currency ? own : await convertWon(db, won, currency, rateDate);
    const unconverted = won
      .filter((w) => into.missing.includes(w.currency))
      .map((w) => ({ currency: w.currency, count: w.count, amount: w.amount }));
    goals.wonAmount = {
      ...count(goal.wonAmount, into.total),
      currency,
      complete: unconverted.length === 0,
      unconverted,
      ...(unconverted.length > 0
        ? {
            detail: `No exchange rate into ${currency} valid on ${rateDate} for ${unconverted
              .map((u) => `${u.amount} ${u.currency}`)
              .join(', ')}: not counted towards the goal`,
          }
        : {}),
      ...(into.rates.size > 0
        ? { rates: [...into.rates.values()].sort((a, b) => a.from.localeCompare(b.from)) }
        : {}),
    };
  }
  if (campaign.budget > 0)
    goals.budget = { ...count(campaign.budget, campaign.actualCost), currency: campaign.currency };
  if (goal.text !== undefined) goals.text = goal.text;
  return {
    leads,
    opportunitiesOpened,
    opportunitiesWon,
    currency: campaign.currency,
    wonAmount,
    wonByCurrency: won.map((w) => {
      const rate = own.rates.get(w.currency) ?? null;
      return { ...w, rate, converted: w.currency === campaign.currency || rate !== null };
    }),
    complete: own.missing.length === 0,
    unconverted: own.missing,
    rateDate,
    budget: campaign.budget,
    actualCost: campaign.actualCost,
    costPerLead: leads > 0 ? round(campaign.actualCost / leads) : null,
    roi: campaign.actualCost > 0 ? round((wonAmount - campaign.actualCost) / campaign.actualCost) : null,
    budgetUsed: campaign.budget > 0 ? round(campaign.actualCost / campaign.budget) : null,
    goals,
  };
}
