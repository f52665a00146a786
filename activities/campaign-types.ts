/** What a campaign's start reads once and pins: the case type version every target's case runs. */
export interface CampaignPlan {
  campaignId: string;
  caseType: string;
  definitionVersion: number;
  batchSize: number;
  ratePerSecond: number;
}

/** What one batch did. `fetched` 0 means no target is left pending. */
export interface CampaignBatchResult {
  fetched: number;
  started: number;
  /** Targets whose case already existed (a resumed or repeated start). */
  existing: number;
  failed: number;
}

/** The activities of the campaign workflow. Implemented by `createCampaignActivities`. */
export interface CampaignActivities {
  campaignPlan(campaignId: string): Promise<CampaignPlan>;
  /**
   * Starts the cases of the next `limit` pending targets (entity id order), each as its own workflow
   * `campaign-<campaign>-<entity>`, and marks the targets. Safe to retry: a case that exists is counted, not
   * started again.
   */
  campaignStartBatch(input: { plan: CampaignPlan; limit: number }): Promise<CampaignBatchResult>;
  campaignFinished(campaignId: string): Promise<void>;
}
