import {
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type * as campaignTypes from '../activities/campaign-types';
import {
  campaignProgressQuery,
  pauseCampaignSignal,
  resumeCampaignSignal,
  startCampaignSignal,
  type CampaignProgress,
  type CampaignWorkflowInput,
} from './campaign-messages';

const { campaignPlan, campaignFinished } = proxyActivities<campaignTypes.CampaignActivities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: ['CampaignNotStartableError', 'UnknownCaseTypeError'],
  },
});

const { campaignStartBatch } = proxyActivities<campaignTypes.CampaignActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: ['CampaignNotStartableError', 'UnknownCaseTypeError'],
  },
});

/** Batches per run before continuing as new: each batch adds a handful of events. */
const DEFAULT_BATCHES_PER_RUN = 500;

/**
 * Starts one case per campaign target, in batches, at most `ratePerSecond`. Each batch is an activity that
 * starts the targets' case workflows (ids `campaign-<campaign>-<entity>`, never reused) with the worker's
 * client and marks the targets in Postgres, so a retried, resumed or repeated start never creates a second
 * case. The cases are independent workflows, not children: their starts do not queue on this workflow's
 * history, and they outlive it. Pause and resume by signal; a repeated start signals the running one.
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
  /** A start request came in since the targets were last looked at. */
  let startRequested = false;
  setHandler(startCampaignSignal, () => {
    startRequested = true;
  });

  const plan = input.plan ?? (await campaignPlan(input.campaignId));
  const batchesPerRun = input.batchesPerRun ?? DEFAULT_BATCHES_PER_RUN;

  for (let inThisRun = 0; ; inThisRun++) {
    if (inThisRun >= batchesPerRun || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof campaignWorkflow>({ ...input, plan, progress });
    }
    await condition(() => !progress.paused);
    const began = Date.now();
    startRequested = false;
    const batch = await campaignStartBatch({ plan, limit: plan.batchSize });
    if (batch.fetched === 0) {
      // A start asked for while this batch looked, or while the campaign was being marked finished, may
      // have made targets pending again (a repeated start): look once more.
      if (startRequested) continue;
      await campaignFinished(plan.campaignId);
      if (!startRequested) break;
      await campaignPlan(plan.campaignId); // running again
      continue;
    }
    progress.started += batch.started;
    progress.existing += batch.existing;
    progress.failed += batch.failed;
    progress.batches += 1;
    // Rate limit: a batch of n targets takes at least n / rate seconds.
    const minimumMs = (batch.fetched / plan.ratePerSecond) * 1000;
    const elapsed = Date.now() - began;
    if (elapsed < minimumMs) await sleep(minimumMs - elapsed);
  }
  return progress;
}
