/** The bare Temporal baseline's update, shared by its workflow and the benchmark's client. */
import { defineUpdate } from '@temporalio/workflow';

/** Runs one local activity and lets the workflow complete. */
export const finishUpdate = defineUpdate<string, [string]>('finish');

export const BASELINE_WORKFLOW_TYPE = 'baselineWorkflow';
