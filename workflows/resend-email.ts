import { proxyActivities } from '@temporalio/workflow';
import type { EmailActivities } from '../activities/email-activities';
import type { SendEmailResult } from '../activities/types';

const { resendEmail } = proxyActivities<EmailActivities>({
  startToCloseTimeout: '1 minute',
  // The activity heartbeats while it sends: a dead worker's attempt is retried within seconds.
  heartbeatTimeout: '10 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    maximumAttempts: 20,
    nonRetryableErrorTypes: [
      'PermanentEmailError',
      'TemplateError',
      'NoRecipientsError',
      'UnknownOutboxRowError',
    ],
  },
});

/** Sends an explicit resend (an outbox row the API created), with the same delivery guarantees as a rule. */
export async function resendEmailWorkflow(input: { outboxId: number }): Promise<SendEmailResult> {
  return resendEmail(input);
}
