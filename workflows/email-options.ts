import type { ActivityOptions } from '@temporalio/workflow';

/**
 * How every email-sending activity runs, wherever a workflow sends: retried with backoff on transient
 * failures, never on permanent ones, and heartbeating while it sends so a dead worker's attempt is
 * retried within seconds. One definition, so the case, digest and resend paths cannot drift apart.
 */
export function emailActivityOptions(moreNonRetryable: string[] = []): ActivityOptions {
  return {
    startToCloseTimeout: '1 minute',
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
        ...moreNonRetryable,
      ],
    },
  };
}
