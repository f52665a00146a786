import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setHandler,
  sleep,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type * as campaignTypes from '../activities/campaign-types';
import { caseWorkflow } from './case';
import {
  campaignProgressQuery,
  pauseCampaignSignal,
  resumeCampaignSignal,
  type CampaignProgress,
  type CampaignWorkflowInput,
} from './campaign-messages';
import { CASE_TYPE } from './search-attributes';

const { campaignPlan, campaignBatch, campaignTargetsStarted, campaignFinished } =
  proxyActivities<campaignTypes.CampaignActivities>({
    startToCloseTimeout: '1 minute',
    retry: {
      initialInterval: '1 second',
      maximumInterval: '1 minute',
      nonRetryableErrorTypes: ['CampaignNotStartableError', 'UnknownCaseTypeError'],
    },
  });

/**
 * Children started per run: the abandoned cases keep running and count as pending children of the run that
 * started them, so a run stays well under the server's limit (2,000 by default) and its history stays small.
 */
const DEFAULT_CHILDREN_PER_RUN = 1000;

/**
 * Starts one case per campaign target, in batches, at most `ratePerSecond`. Each case is a child workflow with
 * the id `campaign-<campaign>-<entity>` and REJECT_DUPLICATE, abandoned by the campaign (it lives on its own):
 * a target whose case already exists is counted, never started twice. Targets are read from Postgres in entity
 * order and marked as they start, so a resumed or repeated start picks up where it stopped. Continues as new
 * every few batches to bound history.
 */
export async function campaignWorkflow(input: CampaignWorkflowInput): Promise<CampaignProgress> {
  const progress: CampaignProgress = input.progress ?? {
    started: 0,
    existing: 0,
    failed: 0,
    batches: 0,
    paused: false,
  };
  setHandler(pauseCampaignSignal, () => {
    progress.paused = true;
  });
  setHandler(resumeCampaignSignal, () => {
    progress.paused = false;
  });
  setHandler(campaignProgressQuery, () => progress);

  const plan = input.plan ?? (await campaignPlan(input.campaignId));
  const childrenPerRun = input.childrenPerRun ?? DEFAULT_CHILDREN_PER_RUN;
  let inThisRun = 0;

  for (;;) {
    const full = inThisRun > 0 && inThisRun + plan.batchSize > childrenPerRun;
    if (full || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof campaignWorkflow>({ ...input, plan, progress });
    }
    await condition(() => !progress.paused);
    const began = Date.now();
    const targets = await campaignBatch({ campaignId: plan.campaignId, limit: plan.batchSize });
    if (targets.length === 0) break;
    inThisRun += targets.length;

    const outcomes = await Promise.allSettled(
      targets.map((t) =>
        startChild(caseWorkflow, {
          workflowId: t.caseId,
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
          parentClosePolicy: ParentClosePolicy.ABANDON,
          typedSearchAttributes: [{ key: CASE_TYPE, value: plan.caseType }],
          args: [
            {
              definition: plan.definition,
              start: {
                caseId: t.caseId,
                caseType: plan.caseType,
                definitionVersion: plan.definitionVersion,
                data: plan.caseData,
                entity: { id: t.entityId, name: t.entityName, agentId: t.agentId },
                ownerId: t.agentId ?? plan.fallbackOwner,
                actor: `campaign:${plan.campaignId}`,
              },
            },
          ],
        }),
      ),
    );
    const startedIds: string[] = [];
    const failed: { entityId: string; error: string }[] = [];
    outcomes.forEach((o, i) => {
      const target = targets[i] as campaignTypes.CampaignTarget;
      if (o.status === 'fulfilled') {
        progress.started += 1;
        startedIds.push(target.entityId);
      } else if (o.reason instanceof WorkflowExecutionAlreadyStartedError) {
        progress.existing += 1;
        startedIds.push(target.entityId);
      } else {
        progress.failed += 1;
        failed.push({ entityId: target.entityId, error: String(o.reason) });
        log.warn('Campaign case did not start', { campaignId: plan.campaignId, entityId: target.entityId });
      }
    });
    await campaignTargetsStarted({ campaignId: plan.campaignId, entityIds: startedIds, failed });
    progress.batches += 1;

    // Rate limit: a batch of n targets takes at least n / rate seconds.
    const minimumMs = (targets.length / plan.ratePerSecond) * 1000;
    const elapsed = Date.now() - began;
    if (elapsed < minimumMs) await sleep(minimumMs - elapsed);
  }

  await campaignFinished(plan.campaignId);
  return progress;
}
