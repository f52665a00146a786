/** Messages of the campaign workflow, shared by the workflow and the API (the API never loads workflow code). */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { CampaignPlan } from '../activities/campaign-types';

export const CAMPAIGN_WORKFLOW_TYPE = 'campaignWorkflow';

/** Workflow id of a campaign's start; one per campaign, so starting twice joins the running one. */
export const campaignWorkflowId = (campaignId: string): string => `campaign-${campaignId}`;

/** Case (and workflow) id of one target's case: the same target never gets two cases. */
export const campaignCaseId = (campaignId: string, entityId: string): string =>
  `campaign-${campaignId}-${entityId}`;

export interface CampaignWorkflowInput {
  campaignId: string;
  /** Carried over by continue-as-new: the plan loaded by the first run, and the counters so far. */
  plan?: CampaignPlan;
  progress?: CampaignProgress;
  /** Continue-as-new after this many batches in one run (bounds history). */
  batchesPerRun?: number;
}

export interface CampaignProgress {
  started: number;
  /** Targets whose case already existed (a resumed or repeated start). */
  existing: number;
  failed: number;
  batches: number;
  paused: boolean;
}

/**
 * A start was asked for (POST .../start, by signal-with-start): the running start looks for pending
 * targets again before it finishes, so a request that arrives while it is finishing is not lost.
 */
export const startCampaignSignal = defineSignal('startCampaign');
export const pauseCampaignSignal = defineSignal('pauseCampaign');
export const resumeCampaignSignal = defineSignal('resumeCampaign');
export const campaignProgressQuery = defineQuery<CampaignProgress>('campaignProgress');
