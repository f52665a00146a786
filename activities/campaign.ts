import type { Db } from '../db';
import { definitionVersion, latestDefinition } from '../db/definitions';
import { UnknownCaseTypeError } from './errors';
import type { CampaignActivities, CampaignPlan, CampaignTarget } from './campaign-types';

/** A campaign that cannot start (deleted, or its case type unpublished). Not retryable. */
export class CampaignNotStartableError extends Error {
  override name = 'CampaignNotStartableError';
}

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

/** Builds the campaign activities over the pool. */
export function createCampaignActivities(db: Db): CampaignActivities {
  return {
    async campaignPlan(campaignId): Promise<CampaignPlan> {
      const [c] = await db.query<{
        id: string;
        name: string;
        case_type: string;
        case_data: Record<string, unknown>;
        created_by: string | null;
        batch_size: number;
        rate_per_second: number;
        definition_version: number | null;
      }>(
        `UPDATE campaigns SET started_at = coalesce(started_at, now()), updated_at = now(),
           -- A pause signalled before this run began is kept: the API wrote it and the run honours it.
           status = CASE WHEN status = 'paused' THEN 'paused' ELSE 'running' END
         WHERE id = $1 RETURNING id, name, case_type, case_data, created_by, batch_size, rate_per_second,
           definition_version`,
        [campaignId],
      );
      if (!c) throw new CampaignNotStartableError(`Campaign ${campaignId} does not exist`);
      const stored = c.definition_version
        ? await definitionVersion(db, c.case_type, c.definition_version)
        : await latestDefinition(db, c.case_type);
      if (!stored) throw new UnknownCaseTypeError(`Case type "${c.case_type}" is not published`);
      return {
        campaignId,
        caseType: c.case_type,
        definition: stored.definition,
        definitionVersion: stored.version,
        caseData: campaignCaseData(c, stored.definition.fields as never),
        fallbackOwner: c.created_by,
        batchSize: c.batch_size,
        ratePerSecond: Number(c.rate_per_second),
      };
    },

    async campaignBatch({ campaignId, limit }): Promise<CampaignTarget[]> {
      const rows = await db.query<{
        entity_id: string;
        name: string;
        agent_id: string | null;
        case_id: string;
      }>(
        `SELECT t.entity_id, e.name, e.agent_id, t.case_id FROM campaign_targets t JOIN entities e ON e.id = t.entity_id
         WHERE t.campaign_id = $1 AND t.state = 'pending' ORDER BY t.entity_id LIMIT $2`,
        [campaignId, limit],
      );
      return rows.map((r) => ({
        entityId: r.entity_id,
        entityName: r.name,
        agentId: r.agent_id,
        caseId: r.case_id,
      }));
    },

    async campaignTargetsStarted({ campaignId, entityIds, failed }): Promise<void> {
      await db.transaction(async (tx) => {
        if (entityIds.length > 0)
          await tx.query(
            `UPDATE campaign_targets SET state = 'started', started_at = now(), error = NULL
             WHERE campaign_id = $1 AND entity_id = ANY($2::text[])`,
            [campaignId, entityIds],
          );
        if (failed.length > 0)
          await tx.query(
            `UPDATE campaign_targets t SET state = 'failed', error = f.error
             FROM unnest($2::text[], $3::text[]) AS f(entity_id, error)
             WHERE t.campaign_id = $1 AND t.entity_id = f.entity_id`,
            [campaignId, failed.map((f) => f.entityId), failed.map((f) => f.error)],
          );
      });
    },

    async campaignFinished(campaignId): Promise<void> {
      await db.query(
        `UPDATE campaigns SET status = 'completed', completed_at = now(), updated_at = now() WHERE id = $1`,
        [campaignId],
      );
    },
  };
}
