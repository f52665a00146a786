import { createHash } from 'node:crypto';
import type { Transporter } from 'nodemailer';
import type { Db } from '../db';
import type { CaseTypeDefinition } from '../engine/types';
import { NoRecipientsError, PermanentEmailError } from './errors';
import { resolveRecipients, type Recipient } from './recipients';
import type { TemplateStore } from './templates';
import type { SendEmailInput, SendEmailResult } from './types';

export interface MailDeps {
  db: Db;
  transport: Transporter;
  templates: TemplateStore;
  from: string;
  publicUrl: string;
  /** Host part of generated Message-IDs. */
  messageIdDomain: string;
}

/** The idempotency key of a message: the case, the rule and the triggering event; never the attempt. */
export function emailKey(input: Pick<SendEmailInput, 'caseId' | 'ruleId' | 'eventKey'>): string {
  return `${input.caseId}/${input.ruleId}/${input.eventKey}`;
}

/** A Message-ID derived from the key, so a re-delivery is recognizably the same message. */
export function messageIdFor(key: string, domain: string): string {
  return `<${createHash('sha256').update(key).digest('hex').slice(0, 32)}@${domain}>`;
}

type OutboxRow = { id: number; state: 'queued' | 'sending' | 'sent' | 'failed'; message_id: string };

const format = (r: Recipient): string => `"${r.name.replace(/["\\]/g, '')}" <${r.address}>`;

/** Loads what templates may use about a case. */
async function caseContext(db: Db, caseId: string, taskId: string | undefined, publicUrl: string) {
  const [row] = await db.query<{
    id: string;
    case_type: string;
    title: string;
    status: string;
    data: Record<string, unknown>;
    lines: unknown[];
    entity_name: string | null;
    content: CaseTypeDefinition | null;
  }>(
    `SELECT c.id, c.case_type, c.title, c.status, c.data, c.lines, c.entity_name, v.content
     FROM cases c LEFT JOIN case_type_versions v ON v.case_type = c.case_type AND v.version = c.definition_version
     WHERE c.id = $1`,
    [caseId],
  );
  if (!row) return undefined;
  const status = row.content?.statuses.find((s) => s.code === row.status);
  const [task] =
    taskId === undefined
      ? []
      : await db.query(
          'SELECT id, title, action, due_at, priority, assignee, outcome FROM tasks WHERE id = $1',
          [taskId],
        );
  return {
    case: { id: row.id, type: row.case_type, title: row.title },
    data: row.data,
    lines: row.lines,
    status: { code: row.status, name: status?.name ?? row.status, category: status?.category },
    entity: { name: row.entity_name },
    task: task ?? null,
    links: { case: `${publicUrl}/api/cases/${encodeURIComponent(row.id)}` },
  };
}

function isPermanent(err: unknown): err is { responseCode: number; message: string } {
  const code = (err as { responseCode?: unknown }).responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
}

/**
 * Sends one email exactly once per (case, rule, triggering event).
 *
 * The outbox row is claimed before sending and marked sent right after the SMTP server accepts. A retry
 * that finds `sent` sends nothing. A retry that finds `sending` means the previous attempt died between
 * SMTP acceptance and recording it (or before acceptance: SMTP cannot tell us which); it sends again with
 * the same Message-ID and records the re-delivery.
 */
export async function sendEmail(deps: MailDeps, input: SendEmailInput): Promise<SendEmailResult> {
  const key = emailKey(input);
  const messageId = messageIdFor(key, deps.messageIdDomain);
  const [claimed] = await deps.db.query<OutboxRow>(
    `INSERT INTO email_outbox (idempotency_key, case_id, rule_id, event_key, template, message_id, state)
     VALUES ($1, $2, $3, $4, $5, $6, 'queued')
     ON CONFLICT (idempotency_key) DO UPDATE SET updated_at = now()
     RETURNING id, state, message_id`,
    [key, input.caseId, input.ruleId, input.eventKey, input.template, messageId],
  );
  const row = claimed as OutboxRow;
  if (row.state === 'sent') return { state: 'sent', messageId: row.message_id, duplicate: true };
  if (row.state === 'failed') return { state: 'failed', messageId: row.message_id, duplicate: true };

  const recipients = await resolveRecipients(deps.db, input, { caseId: input.caseId, taskId: input.taskId });
  if (recipients.to.length + recipients.cc.length + recipients.bcc.length === 0) {
    await deps.db.query(
      `UPDATE email_outbox SET state = 'failed', last_error = $2, updated_at = now() WHERE id = $1`,
      [row.id, `no valid recipient (${recipients.skipped.join(', ') || 'none configured'})`],
    );
    throw new NoRecipientsError(`Rule ${input.ruleId}: no valid recipient for case ${input.caseId}`);
  }
  const context = await caseContext(deps.db, input.caseId, input.taskId, deps.publicUrl);
  const main = recipients.to[0] ?? recipients.cc[0] ?? recipients.bcc[0];
  const rendered = deps.templates.render(
    input.template,
    { ...context, recipient: { name: main?.name, email: main?.address } },
    main?.locale,
  );

  const redelivery = row.state === 'sending';
  await deps.db.query(
    `UPDATE email_outbox SET state = 'sending', attempts = attempts + 1, subject = $2, recipients = $3,
       redelivered = redelivered OR $4, updated_at = now() WHERE id = $1`,
    [
      row.id,
      rendered.subject,
      JSON.stringify({
        to: recipients.to.map((r) => r.address),
        cc: recipients.cc.map((r) => r.address),
        bcc: recipients.bcc.map((r) => r.address),
        skipped: recipients.skipped,
      }),
      redelivery,
    ],
  );
  try {
    const info = await deps.transport.sendMail({
      from: deps.from,
      to: recipients.to.map(format),
      cc: recipients.cc.map(format),
      bcc: recipients.bcc.map(format),
      subject: rendered.subject,
      text: rendered.text,
      html: rendered.html || undefined,
      messageId,
      headers: { 'X-CRM-Case': input.caseId, 'X-CRM-Rule': input.ruleId },
    });
    // Recorded immediately after acceptance: the only window where a crash re-delivers is this one statement.
    await deps.db.query(
      `UPDATE email_outbox SET state = 'sent', deliveries = deliveries + 1, smtp_response = $2, sent_at = now(),
         last_error = NULL, updated_at = now() WHERE id = $1`,
      [row.id, String(info.response ?? '')],
    );
    return { state: 'sent', messageId, duplicate: false };
  } catch (err) {
    if (isPermanent(err)) {
      await deps.db.query(
        `UPDATE email_outbox SET state = 'failed', smtp_response = $2, last_error = $2, updated_at = now() WHERE id = $1`,
        [row.id, err.message],
      );
      throw new PermanentEmailError(err.message, err.responseCode);
    }
    // Transient: nothing was accepted, so the next attempt is not a re-delivery.
    await deps.db.query(
      `UPDATE email_outbox SET state = 'queued', last_error = $2, updated_at = now() WHERE id = $1`,
      [row.id, (err as Error).message],
    );
    throw err;
  }
}
