import { Context } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Db } from '../db';
import { definitionVersion, latestDefinition } from '../db/definitions';
import { campaignCaseData } from '../crm/campaigns';
import type { CaseWorkflowInput } from '../workflows/messages';
import { CASE_WORKFLOW_TYPE } from '../workflows/messages';
import { CASE_TYPE } from '../workflows/search-attributes';
import type { CampaignActivities, CampaignBatchResult, CampaignPlan } from './campaign-types';
import { UnknownCaseTypeError } from './errors';

/** A campaign that cannot start (deleted, or its case type unpublished). Not retryable. */
export class CampaignNotStartableError extends Error {
  override name = 'CampaignNotStartableError';
}

/** Case starts in flight at once within a batch. */
const START_CONCURRENCY = 32;

type CampaignRow = {
  id: string;
  name: string;
  case_type: string;
  case_data: Record<string, unknown>;
  created_by: string | null;
  batch_size: number;
  rate_per_second: number;
  definition_version: number | null;
};

/** Builds the campaign activities over the pool. Cases are started with the worker's own Temporal client. */
export function createCampaignActivities(db: Db): CampaignActivities {
  return {
    async campaignPlan(campaignId): Promise<CampaignPlan> {
      const [c] = await db.query<CampaignRow>(
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
        definitionVersion: stored.version,
        batchSize: c.batch_size,
        ratePerSecond: Number(c.rate_per_second),
      };
    },

    async campaignStartBatch({ plan, limit }): Promise<CampaignBatchResult> {
      const ctx = Context.current();
      const [campaign] = await db.query<CampaignRow>('SELECT * FROM campaigns WHERE id = $1', [
        plan.campaignId,
      ]);
      if (!campaign) throw new CampaignNotStartableError(`Campaign ${plan.campaignId} does not exist`);
      const stored = await definitionVersion(db, plan.caseType, plan.definitionVersion);
      if (!stored)
        throw new UnknownCaseTypeError(`Case type "${plan.caseType}" v${plan.definitionVersion} is gone`);
      const data = campaignCaseData(campaign, stored.definition.fields as never);
      const targets = await db.query<{
        entity_id: string;
        name: string;
        agent_id: string | null;
        case_id: string;
      }>(
        `SELECT t.entity_id, e.name, e.agent_id, t.case_id FROM campaign_targets t JOIN entities e ON e.id = t.entity_id
         WHERE t.campaign_id = $1 AND t.state = 'pending' ORDER BY t.entity_id LIMIT $2`,
        [plan.campaignId, limit],
      );
      const result: CampaignBatchResult = { fetched: targets.length, started: 0, existing: 0, failed: 0 };
      const done: string[] = [];
      const failed: { entityId: string; error: string }[] = [];
      let next = 0;
      const startOne = async (t: (typeof targets)[number]): Promise<void> => {
        const input: CaseWorkflowInput = {
          definition: stored.definition,
          start: {
            caseId: t.case_id,
            caseType: plan.caseType,
            definitionVersion: plan.definitionVersion,
            data,
            entity: { id: t.entity_id, name: t.name, agentId: t.agent_id },
            ownerId: t.agent_id ?? campaign.created_by,
            actor: `campaign:${plan.campaignId}`,
          },
        };
        try {
          await ctx.client.workflow.start(CASE_WORKFLOW_TYPE, {
            workflowId: t.case_id,
            taskQueue: ctx.info.taskQueue,
            args: [input],
            // Never a second case for a target, even once the first one has ended.
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
            typedSearchAttributes: [{ key: CASE_TYPE, value: plan.caseType }],
          });
          result.started += 1;
          done.push(t.entity_id);
        } catch (err) {
          if (err instanceof WorkflowExecutionAlreadyStartedError) {
            result.existing += 1;
            done.push(t.entity_id);
          } else {
            result.failed += 1;
            failed.push({ entityId: t.entity_id, error: String(err) });
          }
        }
      };
      await Promise.all(
        Array.from({ length: Math.min(START_CONCURRENCY, targets.length) }, async () => {
          while (next < targets.length) {
            await startOne(targets[next++] as (typeof targets)[number]);
            ctx.heartbeat(next);
          }
        }),
      );
      await db.transaction(async (tx) => {
        if (done.length > 0)
          await tx.query(
            `UPDATE campaign_targets SET state = 'started', started_at = now(), error = NULL
             WHERE campaign_id = $1 AND entity_id = ANY($2::text[])`,
            [plan.campaignId, done],
          );
        if (failed.length > 0)
          await tx.query(
            `UPDATE campaign_targets t SET state = 'failed', error = f.error
             FROM unnest($2::text[], $3::text[]) AS f(entity_id, error)
             WHERE t.campaign_id = $1 AND t.entity_id = f.entity_id`,
            [plan.campaignId, failed.map((f) => f.entityId), failed.map((f) => f.error)],
          );
      });
      return result;
    },

    async campaignFinished(campaignId): Promise<void> {
      await db.query(
        `UPDATE campaigns SET status = 'completed', completed_at = now(), updated_at = now() WHERE id = $1`,
        [campaignId],
      );
    },
  };
}
