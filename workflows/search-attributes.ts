import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Search attributes that make cases findable in the Temporal UI and CLI. */
export const CASE_TYPE = defineSearchAttributeKey('CaseType', SearchAttributeType.KEYWORD);
export const CASE_STATUS = defineSearchAttributeKey('CaseStatus', SearchAttributeType.KEYWORD);

/** Name -> type, as the operator service registers them. */
export const SEARCH_ATTRIBUTES = { CaseType: 'Keyword', CaseStatus: 'Keyword' } as const;
