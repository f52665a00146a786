import { withHeartbeat } from './heartbeat';
import { projectCase } from './projection';
import { deliver, prepareCaseMessage, sendEmail, type EmailRequest, type MailDeps } from './email';
import {
  planDigest,
  prepareDigestMessage,
  sendDigest,
  type DigestMessageInput,
  type DigestRule,
} from './schedules';
import type { SendEmailInput, SendEmailResult } from './types';

/** Activities of email delivery; workflows import this type only. */
export interface EmailActivities {
  sendEmail(input: SendEmailInput): Promise<SendEmailResult>;
  planDigest(rule: DigestRule): Promise<{ userIds: string[] }>;
  sendDigest(input: DigestMessageInput): Promise<SendEmailResult>;
  /** Sends an outbox row created by an explicit resend (`POST /api/emails/:id/resend`). */
  resendEmail(input: { outboxId: number }): Promise<SendEmailResult>;
}

export class UnknownOutboxRowError extends Error {
  override name = 'UnknownOutboxRowError';
}

/** Sends the resend row: the original's request, rendered and resolved again, under the resend's own key. */
async function resendEmail(deps: MailDeps, outboxId: number): Promise<SendEmailResult> {
  const [row] = await deps.db.query<{ idempotency_key: string; request: EmailRequest }>(
    `SELECT idempotency_key, request FROM email_outbox WHERE id = $1 AND kind = 'resend'`,
    [outboxId],
  );
  if (!row) throw new UnknownOutboxRowError(`Outbox row ${outboxId} is not a resend`);
  const request = row.request;
  const { outboxId: _id, ...result } = await deliver(deps, row.idempotency_key, request, () =>
    request.digest ? prepareDigestMessage(deps, request) : prepareCaseMessage(deps, request),
  );
  return result;
}

/** Builds the email activities over injected dependencies (pool, transport, templates, hooks). */
export function createEmailActivities(deps: MailDeps): EmailActivities {
  return {
    sendEmail: (input) =>
      withHeartbeat(async () => {
        // The change first: the email is rendered from the read model (owner, entity, status).
        const { projection, ...email } = input;
        if (projection) await projectCase(deps.db, projection);
        return sendEmail(deps, email);
      }),
    planDigest: (rule) => planDigest(deps.db, rule),
    sendDigest: (input) => withHeartbeat(() => sendDigest(deps, input)),
    resendEmail: ({ outboxId }) => withHeartbeat(() => resendEmail(deps, outboxId)),
  };
}
