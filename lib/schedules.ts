import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptions,
} from '@temporalio/client';
import type { DigestRule } from '../activities/schedules';
import type { CaseTypeDefinition, ScheduledEmail } from '../engine/types';

/** The workflow a calendar rule's schedule starts (`workflows/digest.ts`). */
export const DIGEST_WORKFLOW_TYPE = 'emailDigestWorkflow';
/** Memo marking the schedules this module owns, so it never touches anyone else's. */
const MANAGED_BY = 'crm-email-rules';

/** The schedule id of a calendar rule. */
export function scheduleIdFor(caseType: string, ruleId: string): string {
  return `email-${caseType}-${ruleId}`;
}

export interface SyncResult {
  created: string[];
  updated: string[];
  deleted: string[];
}

function desired(def: CaseTypeDefinition, rule: ScheduledEmail, taskQueue: string) {
  const input: DigestRule = { caseType: def.id, ruleId: rule.id, kind: rule.kind, template: rule.template };
  if (rule.timezone !== undefined) input.timezone = rule.timezone;
  const scheduleId = scheduleIdFor(def.id, rule.id);
  return {
    scheduleId,
    spec: { cronExpressions: [rule.cron], ...(rule.timezone ? { timezone: rule.timezone } : {}) },
    action: {
      type: 'startWorkflow' as const,
      workflowType: DIGEST_WORKFLOW_TYPE,
      // The schedule appends the nominal time, giving each run its own id (the digest's idempotency key).
      workflowId: scheduleId,
      taskQueue,
      args: [input],
      workflowExecutionTimeout: '1 hour',
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
    memo: { managedBy: MANAGED_BY, caseType: def.id, ruleId: rule.id },
  } satisfies ScheduleOptions;
}

/**
 * Makes Temporal's schedules match the calendar rules (`scheduledEmails`) of `definitions` (the latest
 * published version of each case type): creates missing ones, updates every existing one to the current
 * spec and action (pause state is kept), and deletes the schedules of rules that disappeared from a case
 * type in the list. Case types not in the list are left alone. Safe to run from several processes.
 */
export async function syncSchedules(
  client: Client,
  definitions: CaseTypeDefinition[],
  taskQueue: string,
): Promise<SyncResult> {
  const result: SyncResult = { created: [], updated: [], deleted: [] };
  const wanted = new Map<string, ReturnType<typeof desired>>();
  for (const def of definitions) {
    for (const rule of def.scheduledEmails ?? []) {
      const options = desired(def, rule, taskQueue);
      wanted.set(options.scheduleId, options);
    }
  }
  for (const options of wanted.values()) {
    const handle = client.schedule.getHandle(options.scheduleId);
    try {
      await handle.update((previous) => ({
        ...previous,
        spec: options.spec,
        action: options.action,
        policies: options.policies,
      }));
      result.updated.push(options.scheduleId);
      continue;
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
    try {
      await client.schedule.create(options);
      result.created.push(options.scheduleId);
    } catch (err) {
      // Another process created it between our update and create: it holds the same spec.
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      result.updated.push(options.scheduleId);
    }
  }
  const caseTypes = new Set(definitions.map((d) => d.id));
  for await (const summary of client.schedule.list()) {
    const memo = summary.memo as { managedBy?: string; caseType?: string } | undefined;
    if (memo?.managedBy !== MANAGED_BY || !memo.caseType || !caseTypes.has(memo.caseType)) continue;
    if (wanted.has(summary.scheduleId)) continue;
    try {
      await client.schedule.getHandle(summary.scheduleId).delete();
      result.deleted.push(summary.scheduleId);
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  }
  return result;
}
