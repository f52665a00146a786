import { proxyActivities } from '@temporalio/workflow';
import { emailActivityOptions } from './email-options';
import type { EmailActivities } from '../activities/email-activities';
import type { SendEmailResult } from '../activities/types';

const { resendEmail } = proxyActivities<EmailActivities>(emailActivityOptions(['UnknownOutboxRowError']));

/** Sends an explicit resend (an outbox row the API created), with the same delivery guarantees as a rule. */
export async function resendEmailWorkflow(input: { outboxId: number }): Promise<SendEmailResult> {
  return resendEmail(input);
}
