/** Campaign rows: read, created, changed, and their targets listed (the routes of api/routes/campaigns.ts). */
import type { Queryable } from '../db';
import { CAMPAIGN_SELECT, campaignView, type CampaignGoal, type CampaignView } from './campaigns';

/** The fields of a campaign a request sets (POST /api/campaigns, PATCH /api/campaigns/:id). */
export interface CampaignFields {
  name?: string;
  description?: string | null;
  startsOn?: string | null;
  endsOn?: string | null;
  goal?: CampaignGoal;
  budget?: number;
  actualCost?: number;
  currency?: string;
  caseType?: string;
  caseData?: Record<string, unknown>;
  segmentId?: string | null;
  batchSize?: number;
  ratePerSecond?: number;
}

const COLUMNS: Record<keyof CampaignFields, string> = {
  name: 'name',
  description: 'description',
  startsOn: 'starts_on',
  endsOn: 'ends_on',
  goal: 'goal',
  budget: 'budget',
  actualCost: 'actual_cost',
  currency: 'currency',
  caseType: 'case_type',
  caseData: 'case_data',
  segmentId: 'segment_id',
  batchSize: 'batch_size',
  ratePerSecond: 'rate_per_second',
};

/** The fields given (not undefined), in the order the object holds them. */
const givenKeys = (fields: CampaignFields) =>
  (Object.keys(fields) as (keyof CampaignFields)[]).filter((k) => fields[k] !== undefined);

const param = (key: keyof CampaignFields, value: unknown) =>
  key === 'goal' || key === 'caseData' ? JSON.stringify(value) : value;

/** One campaign, or undefined. */
export async function findCampaign(db: Queryable, id: string): Promise<CampaignView | undefined> {
  const rows = await db.query(`SELECT ${CAMPAIGN_SELECT} FROM campaigns WHERE id = $1`, [id]);
  return rows[0] ? campaignView(rows[0]) : undefined;
}

/** The newest `limit` campaigns, newest first. */
export async function listCampaigns(db: Queryable, limit: number): Promise<CampaignView[]> {
  const rows = await db.query(
    `SELECT ${CAMPAIGN_SELECT} FROM campaigns ORDER BY created_at DESC, id LIMIT $1`,
    [limit],
  );
  return rows.map(campaignView);
}

/** Stores a new campaign with the fields given (the others take their column defaults). */
export async function insertCampaign(
  db: Queryable,
  id: string,
  createdBy: string,
  fields: CampaignFields,
): Promise<void> {
  const keys = givenKeys(fields);
  await db.query(
    `INSERT INTO campaigns (id, created_by, ${keys.map((k) => COLUMNS[k]).join(', ')})
       VALUES ($1, $2, ${keys.map((_, i) => `$${i + 3}`).join(', ')})`,
    [id, createdBy, ...keys.map((k) => param(k, fields[k]))],
  );
}

/** Changes the fields given (nothing when none is). */
export async function updateCampaign(db: Queryable, id: string, fields: CampaignFields): Promise<void> {
  const keys = givenKeys(fields);
  if (keys.length > 0)
    await db.query(
      `UPDATE campaigns SET ${keys.map((k, i) => `${COLUMNS[k]} = $${i + 2}`).join(', ')}, updated_at = now() WHERE id = $1`,
      [id, ...keys.map((k) => param(k, fields[k]))],
    );
}

/** Pins the version of the case type the campaign's cases start on, unless one is pinned already. */
export async function pinCampaignDefinitionVersion(
  db: Queryable,
  id: string,
  version: number,
): Promise<void> {
  await db.query(
    'UPDATE campaigns SET definition_version = $2 WHERE id = $1 AND definition_version IS NULL',
    [id, version],
  );
}

/** Sets the status a pause or resume leaves the campaign in. */
export async function setCampaignStatus(db: Queryable, id: string, status: string): Promise<void> {
  await db.query('UPDATE campaigns SET status = $2, updated_at = now() WHERE id = $1', [id, status]);
}

/** A target as GET /api/campaigns/:id/targets lists it. */
export interface CampaignTargetView {
  entity: { id: string; kind: string; code: string; name: string };
  caseId: string;
  source: string;
  state: string;
  error: string | null;
  addedAt: string;
  startedAt: string | null;
  caseStatus: string | null;
  caseStatusCategory: string | null;
}

/** The first `limit` targets of a campaign by entity id, with the status of their case where it exists. */
export async function listCampaignTargets(
  db: Queryable,
  campaignId: string,
  limit: number,
): Promise<CampaignTargetView[]> {
  const rows = await db.query(
    `SELECT t.entity_id, e.kind, e.code, e.name, t.case_id, t.source, t.state, t.error, t.added_at, t.started_at,
              c.status AS case_status, c.status_category
       FROM campaign_targets t JOIN entities e ON e.id = t.entity_id LEFT JOIN cases c ON c.id = t.case_id
       WHERE t.campaign_id = $1 ORDER BY t.entity_id LIMIT $2`,
    [campaignId, limit],
  );
  return rows.map((r) => ({
    entity: {
      id: r.entity_id as string,
      kind: r.kind as string,
      code: r.code as string,
      name: r.name as string,
    },
    caseId: r.case_id as string,
    source: r.source as string,
    state: r.state as string,
    error: r.error as string | null,
    addedAt: r.added_at as string,
    startedAt: r.started_at as string | null,
    caseStatus: (r.case_status as string | null) ?? null,
    caseStatusCategory: (r.status_category as string | null) ?? null,
  }));
}
