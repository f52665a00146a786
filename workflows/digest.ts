import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import { emailActivityOptions } from './email-options';
import type { EmailActivities } from '../activities/email-activities';
import type { DigestRule } from '../activities/schedules';

const { planDigest } = proxyActivities<EmailActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 10 },
});

const { sendDigest } = proxyActivities<EmailActivities>(emailActivityOptions());

/** Digests sent at once; the rest wait their turn, so a large team does not flood the SMTP relay. */
const PARALLEL_SENDS = 10;

export interface DigestOutcome {
  recipients: number;
  sent: number;
  skipped: number;
  failed: number;
}

/**
 * One run of a calendar rule (started by its Temporal Schedule): plans who receives the digest, then sends
 * each person's digest once. The run's workflow id (the schedule's id plus the nominal time) keys the
 * messages, so a retried or replayed run never sends a second copy.
 */
export async function emailDigestWorkflow(rule: DigestRule): Promise<DigestOutcome> {
  const runKey = workflowInfo().workflowId;
  const { userIds } = await planDigest(rule);
  const outcome: DigestOutcome = { recipients: userIds.length, sent: 0, skipped: 0, failed: 0 };
  for (let i = 0; i < userIds.length; i += PARALLEL_SENDS) {
    const batch = userIds.slice(i, i + PARALLEL_SENDS);
    const results = await Promise.allSettled(batch.map((userId) => sendDigest({ ...rule, runKey, userId })));
    for (const result of results) {
      if (result.status === 'rejected') outcome.failed += 1;
      else if (result.value.state === 'sent') outcome.sent += 1;
      else if (result.value.state === 'skipped') outcome.skipped += 1;
      else outcome.failed += 1;
    }
  }
  return outcome;
}
