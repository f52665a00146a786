import type { CaseTypeDefinition } from '../engine/types';

/** What a campaign's start needs, loaded once and pinned for the whole campaign. */
export interface CampaignPlan {
  campaignId: string;
  caseType: string;
  definition: CaseTypeDefinition;
  definitionVersion: number;
  /** Data of every case the campaign starts (includes `campaignId`). */
  caseData: Record<string, unknown>;
  /** Owner of a target's case when its entity has no assigned agent. */
  fallbackOwner: string | null;
  batchSize: number;
  ratePerSecond: number;
}

export interface CampaignTarget {
  entityId: string;
  entityName: string;
  agentId: string | null;
  caseId: string;
}

/** The activities of the campaign workflow. Implemented by `createCampaignActivities`. */
export interface CampaignActivities {
  campaignPlan(campaignId: string): Promise<CampaignPlan>;
  /** The next targets not yet started, in entity id order. */
  campaignBatch(input: { campaignId: string; limit: number }): Promise<CampaignTarget[]>;
  /** Marks targets as started (their case workflow exists). */
  campaignTargetsStarted(input: {
    campaignId: string;
    entityIds: string[];
    failed: { entityId: string; error: string }[];
  }): Promise<void>;
  campaignFinished(campaignId: string): Promise<void>;
}
