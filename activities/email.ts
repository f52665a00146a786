import { createHash } from 'node:crypto';
import type { Transporter } from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import type { Db, Queryable } from '../db';
import type { EmailCommand } from '../engine/state';
import { unsubscribeToken, linkSecret } from '../lib/unsubscribe';
import { isDatedAction, loadCaseContext, ruleInfo } from './email-context';
import { NoRecipientsError, PermanentEmailError, TemplateError } from './errors';
import { taskInvite } from './invite';
import { resolveRecipients, type Recipient, type ResolvedRecipients } from './recipients';
import type { TemplateStore } from './templates';
import type { SendEmailInput, SendEmailResult } from './types';

/**
 * Test seams around the one window no SMTP client can close. Production passes none; fault tests use them
 * to fail exactly between the server's acceptance and its recording, or right after the recording.
 */
export interface MailHooks {
  /** After the SMTP server accepted the message, before the acceptance is recorded. */
  afterAccepted?(key: string): void | Promise<void>;
  /** After the acceptance is recorded, before the activity returns. */
  afterRecorded?(key: string): void | Promise<void>;
}

export interface MailDeps {
  db: Db;
  transport: Transporter;
  templates: TemplateStore;
  from: string;
  publicUrl: string;
  /** Host part of generated Message-IDs. */
  messageIdDomain: string;
  hooks?: MailHooks;
}

/** A transient SMTP failure: Temporal retries the activity with backoff. */
export class TransientEmailError extends Error {
  override name = 'TransientEmailError';
  constructor(
    message: string,
    readonly smtpCode?: number,
  ) {
    super(message);
  }
}

/** The case is not in the read model yet (its projection is late): retried. */
export class CaseNotProjectedError extends Error {
  override name = 'CaseNotProjectedError';
}

/** What a message was asked for. Stored on its outbox row, so an explicit resend can rebuild it. */
export interface EmailRequest extends Omit<EmailCommand, 'kind'> {
  kind: 'rule' | 'digest' | 'resend';
  caseId: string | null;
  /** Scheduled emails: whom the digest is for and what it summarizes. */
  digest?: {
    caseType: string;
    kind: 'agent-digest' | 'pipeline-summary';
    userId: string;
    timezone?: string;
  };
}

export interface StoredAttachment {
  filename: string;
  contentType: string;
  content: string;
  /** Set for calendar invitations (iTIP method). */
  method?: string;
}

/** A message ready to send; stored on the outbox row before the first SMTP attempt. */
export interface PreparedMessage {
  to: Recipient[];
  cc: Recipient[];
  bcc: Recipient[];
  skipped: string[];
  subject: string;
  text: string;
  html: string;
  locale: string;
  headers: Record<string, string>;
  attachments: StoredAttachment[];
}

/** Nothing to send (every recipient opted out): recorded as skipped. */
export interface SkippedMessage {
  skip: string;
  skipped: string[];
}

export type EmailState = 'queued' | 'sending' | 'sent' | 'failed' | 'skipped';

type OutboxRow = {
  id: number;
  state: EmailState;
  message_id: string;
  subject: string | null;
  recipients: { to?: Recipient[]; cc?: Recipient[]; bcc?: Recipient[]; skipped?: string[] };
  body_text: string | null;
  body_html: string | null;
  locale: string | null;
  headers: Record<string, string>;
  attachments: StoredAttachment[];
  created_at: string;
};

const FINAL_STATES: readonly EmailState[] = ['sent', 'failed', 'skipped'];
const MAX_TEXT = 2000;

/** The idempotency key of a message: the case, the rule and the triggering event; never the attempt. */
export function emailKey(input: Pick<SendEmailInput, 'caseId' | 'ruleId' | 'eventKey'>): string {
  return `${input.caseId}/${input.ruleId}/${input.eventKey}`;
}

/** A Message-ID derived from the key, so a re-delivery is recognizably the same message. */
export function messageIdFor(key: string, domain: string): string {
  return `<${createHash('sha256').update(key).digest('hex').slice(0, 32)}@${domain}>`;
}

/** The Message-ID domain for a public URL: workers and the API must derive the same one. */
export function messageIdDomainFor(publicUrl: string): string {
  try {
    return new URL(publicUrl).hostname || 'crm.local';
  } catch {
    return 'crm.local';
  }
}

const clip = (text: string): string => (text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}...` : text);

/** Appends to the row's attempt log in the same statement that changes its state. */
const EVENT = (event: string, detail: string, attempt = 'attempts') =>
  `events = events || jsonb_build_array(jsonb_build_object('at', now(), 'event', ${event}::text, 'attempt', ${attempt}, 'detail', ${detail}::text))`;

/**
 * How an SMTP failure relates to acceptance. A reply code is definitive: 5xx to the envelope or the data is
 * permanent for this message, anything else was not accepted. Without a reply (a dropped connection or a
 * timeout) the server may have accepted the data already, unless the failure happened while connecting.
 */
export function classifySmtpError(err: unknown): 'permanent' | 'not-accepted' | 'uncertain' {
  const e = err as {
    responseCode?: unknown;
    code?: unknown;
    command?: unknown;
    syscall?: unknown;
    message?: unknown;
  };
  if (typeof e.responseCode === 'number') {
    const aboutMessage = e.command === 'MAIL FROM' || e.command === 'RCPT TO' || e.command === 'DATA';
    return e.responseCode >= 500 && e.responseCode < 600 && aboutMessage && e.code !== 'EAUTH'
      ? 'permanent'
      : 'not-accepted';
  }
  if (e.syscall === 'connect' || e.syscall === 'getaddrinfo') return 'not-accepted';
  if (['EDNS', 'ETLS', 'EAUTH', 'EENVELOPE', 'ECONNREFUSED', 'EREQUIRETLS'].includes(String(e.code)))
    return 'not-accepted';
  if (/Greeting never received|Connection timeout/.test(String(e.message))) return 'not-accepted';
  return 'uncertain';
}

async function claim(
  db: Queryable,
  key: string,
  request: EmailRequest,
  messageId: string,
): Promise<OutboxRow> {
  const [row] = await db.query<OutboxRow>(
    `INSERT INTO email_outbox (idempotency_key, case_id, rule_id, event_key, template, message_id, state, request, kind)
     VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8)
     ON CONFLICT (idempotency_key) DO UPDATE SET idempotency_key = EXCLUDED.idempotency_key
     RETURNING id, state, message_id, subject, recipients, body_text, body_html, locale, headers, attachments, created_at`,
    [
      key,
      request.caseId,
      request.ruleId,
      request.eventKey,
      request.template,
      messageId,
      JSON.stringify(request),
      request.kind,
    ],
  );
  return row as OutboxRow;
}

const recipientsJson = (m: Pick<PreparedMessage, 'to' | 'cc' | 'bcc' | 'skipped'>): string =>
  JSON.stringify({
    to: m.to.map(({ address, name }) => ({ address, name })),
    cc: m.cc.map(({ address, name }) => ({ address, name })),
    bcc: m.bcc.map(({ address, name }) => ({ address, name })),
    skipped: m.skipped,
  });

/** Records a message that will never be sent: failed (with why) or skipped. */
async function markFinal(
  db: Queryable,
  id: number,
  state: 'failed' | 'skipped',
  reason: string,
  skipped: string[],
): Promise<void> {
  await db.query(
    `UPDATE email_outbox SET state = $2, last_error = $3, recipients = recipients || jsonb_build_object('skipped', $4::jsonb),
       updated_at = now(), ${EVENT('$2', '$3')} WHERE id = $1`,
    [id, state, clip(reason), JSON.stringify(skipped)],
  );
}

function storedMessage(row: OutboxRow): PreparedMessage {
  const list = (l: Recipient[] | undefined): Recipient[] =>
    (l ?? []).map((r) => ({ ...r, locale: row.locale ?? 'en' }));
  return {
    to: list(row.recipients.to),
    cc: list(row.recipients.cc),
    bcc: list(row.recipients.bcc),
    skipped: row.recipients.skipped ?? [],
    subject: row.subject ?? '',
    text: row.body_text ?? '',
    html: row.body_html ?? '',
    locale: row.locale ?? 'en',
    headers: row.headers,
    attachments: row.attachments,
  };
}

function mailOptions(deps: MailDeps, row: OutboxRow, m: PreparedMessage): Mail.Options {
  const address = (r: Recipient): Mail.Address => ({ name: r.name, address: r.address });
  const invite = m.attachments.find((a) => a.method !== undefined);
  return {
    from: deps.from,
    to: m.to.map(address),
    cc: m.cc.map(address),
    bcc: m.bcc.map(address),
    subject: m.subject,
    text: m.text,
    ...(m.html ? { html: m.html } : {}),
    messageId: row.message_id,
    // The date of the first attempt: a re-delivery is the same message, not a newer one.
    date: new Date(row.created_at),
    headers: m.headers,
    ...(invite
      ? { icalEvent: { method: invite.method as string, filename: invite.filename, content: invite.content } }
      : {}),
    attachments: m.attachments
      .filter((a) => a.method === undefined)
      .map((a) => ({ filename: a.filename, contentType: a.contentType, content: a.content })),
  };
}

/**
 * Sends one outbox message exactly once per key. The row is claimed (created `queued`) first; a final state
 * (sent, failed, skipped) returns at once. The prepared message is stored with the `sending` mark, and the
 * acceptance is recorded by the very next statement on an already held connection. An attempt that finds
 * `sending` follows a crash between acceptance and recording (or an answer that never came): it re-sends the
 * stored message with the same Message-ID and records the re-delivery.
 */
export async function deliver(
  deps: MailDeps,
  key: string,
  request: EmailRequest,
  prepare: () => Promise<PreparedMessage | SkippedMessage>,
): Promise<SendEmailResult & { outboxId: number }> {
  const row = await claim(deps.db, key, request, messageIdFor(key, deps.messageIdDomain));
  const done = { messageId: row.message_id, outboxId: row.id };
  if (FINAL_STATES.includes(row.state))
    return {
      ...done,
      state: row.state === 'sent' ? 'sent' : row.state === 'skipped' ? 'skipped' : 'failed',
      duplicate: true,
    };

  const redelivery = row.state === 'sending';
  let message: PreparedMessage;
  if (redelivery) {
    message = storedMessage(row);
  } else {
    let prepared: PreparedMessage | SkippedMessage;
    try {
      prepared = await prepare();
    } catch (err) {
      if (err instanceof TemplateError || err instanceof NoRecipientsError) {
        const skipped = (err as { skipped?: string[] }).skipped ?? [];
        await markFinal(deps.db, row.id, 'failed', err.message, skipped);
      }
      throw err;
    }
    if ('skip' in prepared) {
      await markFinal(deps.db, row.id, 'skipped', prepared.skip, prepared.skipped);
      return { ...done, state: 'skipped', duplicate: false };
    }
    message = prepared;
  }

  const client = await deps.db.pool.connect();
  try {
    if (redelivery) {
      await client.query(
        `UPDATE email_outbox SET attempts = attempts + 1, updated_at = now(),
           ${EVENT("'redelivering'", "'the previous attempt may have been accepted'", 'attempts + 1')}
         WHERE id = $1`,
        [row.id],
      );
    } else {
      await client.query(
        `UPDATE email_outbox SET state = 'sending', attempts = attempts + 1, subject = $2, recipients = $3,
           body_text = $4, body_html = $5, locale = $6, headers = $7, attachments = $8, updated_at = now(),
           ${EVENT("'sending'", "''", 'attempts + 1')}
         WHERE id = $1`,
        [
          row.id,
          message.subject,
          recipientsJson(message),
          message.text,
          message.html || null,
          message.locale,
          JSON.stringify(message.headers),
          JSON.stringify(message.attachments),
        ],
      );
    }
    let info: { response?: string; rejected?: unknown[] };
    try {
      info = (await deps.transport.sendMail(mailOptions(deps, row, message))) as typeof info;
    } catch (err) {
      const outcome = classifySmtpError(err);
      const text = clip(String((err as Error).message));
      const code = (err as { responseCode?: number }).responseCode;
      if (outcome === 'permanent') {
        await client.query(
          `UPDATE email_outbox SET state = 'failed', smtp_response = $2, last_error = $2, updated_at = now(),
             ${EVENT("'failed'", '$2')} WHERE id = $1`,
          [row.id, text],
        );
        throw new PermanentEmailError(text, code);
      }
      // Not accepted: the next attempt is a first delivery. Uncertain: it stays `sending`, so the next
      // attempt re-sends the stored message and records it as a possible re-delivery.
      await client.query(
        `UPDATE email_outbox SET state = CASE WHEN $3 THEN 'queued' ELSE state END, last_error = $2, updated_at = now(),
           ${EVENT("CASE WHEN $3 THEN 'transient' ELSE 'uncertain' END", '$2')} WHERE id = $1`,
        [row.id, text, outcome === 'not-accepted'],
      );
      throw new TransientEmailError(text, code);
    }
    await deps.hooks?.afterAccepted?.(key);
    await client.query(
      `UPDATE email_outbox SET state = 'sent', deliveries = deliveries + 1, redelivered = redelivered OR $3,
         smtp_response = $2, sent_at = now(), last_error = NULL, updated_at = now(),
         recipients = recipients || jsonb_build_object('rejected', $4::jsonb),
         ${EVENT("CASE WHEN $3 THEN 'redelivered' ELSE 'sent' END", '$2')} WHERE id = $1`,
      [row.id, clip(String(info.response ?? '')), redelivery, JSON.stringify(info.rejected ?? [])],
    );
    await deps.hooks?.afterRecorded?.(key);
    return { ...done, state: 'sent', duplicate: false };
  } finally {
    client.release();
  }
}

/** Recipients with no one in them, after resolution: why, for the outbox. */
class NoRecipients extends NoRecipientsError {
  constructor(
    message: string,
    readonly skipped: string[],
  ) {
    super(message);
  }
}

/**
 * Builds a case email for its recipients: context from the read model, the template in the first
 * recipient's locale, an unsubscribe link for marketing, a calendar invitation for dated tasks.
 */
export async function prepareCaseMessage(
  deps: MailDeps,
  request: EmailRequest,
  resolved?: ResolvedRecipients,
): Promise<PreparedMessage | SkippedMessage> {
  const caseId = request.caseId;
  if (caseId === null) throw new TemplateError(`Rule ${request.ruleId}: a case email needs a case`);
  // The read model first: the workflow may send before its projection of the same change is written, and
  // recipients resolved from a missing row ("owner: nobody") would drop the email for good; this retries.
  const loaded = await loadCaseContext(deps.db, caseId, request.taskId, deps.publicUrl, request.status);
  if (!loaded) throw new CaseNotProjectedError(`Case ${caseId} is not in the read model yet`);
  const recipients =
    resolved ??
    (await resolveRecipients(
      deps.db,
      request,
      { caseId, taskId: request.taskId },
      { respectOptOuts: request.marketing === true || request.bypassOptOut !== true },
    ));
  const main = recipients.to[0] ?? recipients.cc[0] ?? recipients.bcc[0];
  if (!main) {
    if (recipients.optedOut.length > 0)
      return { skip: 'every recipient opted out', skipped: recipients.skipped };
    throw new NoRecipients(
      `Rule ${request.ruleId}: no valid recipient for case ${caseId} (${recipients.skipped.join('; ') || 'none configured'})`,
      recipients.skipped,
    );
  }
  const headers: Record<string, string> = { 'X-CRM-Case': caseId, 'X-CRM-Rule': request.ruleId };
  let unsubscribe: { url: string } | null = null;
  if (request.marketing) {
    const url = `${deps.publicUrl}/unsubscribe/${unsubscribeToken(await linkSecret(deps.db), main.address)}`;
    unsubscribe = { url };
    headers['List-Unsubscribe'] = `<${url}>`;
    headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
  }
  const rendered = deps.templates.render(
    request.template,
    {
      ...loaded.context,
      recipient: { name: main.name, email: main.address, locale: main.locale },
      rule: ruleInfo(loaded.definition, request.ruleId),
      unsubscribe,
      now: new Date().toISOString(),
    },
    main.locale,
  );
  const attachments: StoredAttachment[] = [];
  const task = loaded.task;
  if (request.attachInvite && task?.dueAt && isDatedAction(loaded.definition, task.action)) {
    attachments.push({
      filename: 'invite.ics',
      contentType: 'text/calendar',
      method: 'REQUEST',
      content: taskInvite({
        task: { ...task, dueAt: task.dueAt },
        caseTitle: String((loaded.context.case as { title: string }).title),
        url: String((loaded.context.task as { url: string }).url),
        organizer: senderOf(deps.from),
        attendees: recipients.to,
        uidDomain: deps.messageIdDomain,
      }),
    });
  }
  return {
    to: recipients.to,
    cc: recipients.cc,
    bcc: recipients.bcc,
    skipped: recipients.skipped,
    subject: rendered.subject,
    text: rendered.text,
    html: rendered.html,
    locale: rendered.locale,
    headers,
    attachments,
  };
}

/** Name and address of a From value such as `CRM <crm@example.com>`. */
export function senderOf(from: string): { name: string; email: string } {
  const match = /^\s*"?([^"<]*?)"?\s*<([^>]+)>\s*$/.exec(from);
  return match ? { name: match[1] ?? '', email: match[2] as string } : { name: '', email: from.trim() };
}

/** The outbox request of a rule's email command. */
export function ruleRequest(input: SendEmailInput): EmailRequest {
  const request: EmailRequest = {
    kind: 'rule',
    caseId: input.caseId,
    ruleId: input.ruleId,
    eventKey: input.eventKey,
    template: input.template,
    to: input.to,
    cc: input.cc,
    bcc: input.bcc,
  };
  if (input.taskId !== undefined) request.taskId = input.taskId;
  if (input.status !== undefined) request.status = input.status;
  if (input.marketing) request.marketing = true;
  if (input.bypassOptOut) request.bypassOptOut = true;
  if (input.attachInvite) request.attachInvite = true;
  return request;
}

/**
 * Sends a rule's email exactly once per (case, rule, triggering event). A service email is one message to
 * all its recipients. A marketing email is one message per recipient (each with its own unsubscribe link
 * and key `<key>/<address>`), never to opted-out addresses, and never exposes one contact to another.
 */
export async function sendEmail(deps: MailDeps, input: SendEmailInput): Promise<SendEmailResult> {
  const key = emailKey(input);
  const request = ruleRequest(input);
  if (!request.marketing) {
    const { outboxId: _id, ...result } = await deliver(deps, key, request, () =>
      prepareCaseMessage(deps, request),
    );
    return result;
  }
  const resolved = await resolveRecipients(
    deps.db,
    request,
    { caseId: input.caseId, taskId: input.taskId },
    { respectOptOuts: true },
  );
  const people = [...resolved.to, ...resolved.cc, ...resolved.bcc];
  if (people.length === 0) {
    const { outboxId: _id, ...result } = await deliver(deps, key, request, () =>
      prepareCaseMessage(deps, request, resolved),
    );
    return result;
  }
  const results: SendEmailResult[] = [];
  const failures: string[] = [];
  for (const person of people) {
    const single: EmailRequest = { ...request, to: [person.address], cc: [], bcc: [] };
    const only: ResolvedRecipients = {
      to: [person],
      cc: [],
      bcc: [],
      skipped: resolved.skipped,
      optedOut: [],
    };
    try {
      const { outboxId: _id, ...result } = await deliver(
        deps,
        `${key}/${person.address.toLowerCase()}`,
        single,
        () => prepareCaseMessage(deps, single, only),
      );
      results.push(result);
    } catch (err) {
      // One bad address must not stop the others; transient failures retry the whole (idempotent) batch.
      if (!(err instanceof PermanentEmailError)) throw err;
      failures.push(err.message);
    }
  }
  if (failures.length > 0)
    throw new PermanentEmailError(`${failures.length} of ${people.length} failed: ${failures[0]}`);
  const first = results[0] as SendEmailResult;
  return { state: first.state, messageId: first.messageId, duplicate: results.every((r) => r.duplicate) };
}
