/** The email outbox as people read it and ask for resends (the API's /api/emails), and opt-outs by link. */
import { visibleEmailSql } from '../crm/permissions';
import type { Db, Queryable, Row } from '../db';
import type { Principal } from '../identity/visibility';
import { ConflictError, NotFoundError } from '../lib/domain-errors';
import { messageIdFor, type EmailRequest } from './email';

type OutboxRow = Row & {
  id: number;
  idempotency_key: string;
  case_id: string | null;
  rule_id: string;
  state: string;
  request: EmailRequest | Record<string, never>;
  resend_of: number | null;
};

const LIST_COLUMNS = `o.id, o.idempotency_key, o.kind, o.case_id, o.rule_id, o.event_key, o.template, o.state, o.message_id,
  o.subject, o.locale, o.recipients, o.attempts, o.deliveries, o.redelivered, o.smtp_response, o.last_error, o.resend_of,
  o.requested_by, o.created_at, o.updated_at, o.sent_at, o.events`;

const BODY_COLUMNS = `${LIST_COLUMNS}, o.body_text, o.body_html, o.headers`;

/** One email of the outbox if `who` may see it (its bodies and headers too with `withBodies`); else undefined. */
export async function findVisibleEmail(
  db: Queryable,
  who: Principal,
  id: string,
  withBodies = false,
): Promise<Row | undefined> {
  const params: unknown[] = [id];
  const [row] = await db.query(
    `SELECT ${withBodies ? BODY_COLUMNS : LIST_COLUMNS} FROM email_outbox o LEFT JOIN cases c ON c.id = o.case_id
     WHERE o.id = $1 AND ${visibleEmailSql(who, params)}`,
    params,
  );
  return row;
}

/** A filter and page of the outbox: ids below `cursor`, at most `limit`, newest first. */
export interface EmailListQuery {
  caseId?: string;
  ruleId?: string;
  state?: string;
  cursor?: string;
  limit: number;
}

/** The outbox emails `who` may see, newest first. */
export function listVisibleEmails(db: Queryable, who: Principal, query: EmailListQuery): Promise<Row[]> {
  const params: unknown[] = [
    query.caseId ?? null,
    query.ruleId ?? null,
    query.state ?? null,
    query.cursor ?? null,
  ];
  const visible = visibleEmailSql(who, params);
  params.push(query.limit);
  return db.query(
    `SELECT ${LIST_COLUMNS} FROM email_outbox o LEFT JOIN cases c ON c.id = o.case_id
     WHERE ($1::text IS NULL OR o.case_id = $1) AND ($2::text IS NULL OR o.rule_id = $2)
       AND ($3::text IS NULL OR o.state = $3) AND ($4::bigint IS NULL OR o.id < $4) AND ${visible}
     ORDER BY o.id DESC LIMIT $${params.length}`,
    params,
  );
}

/**
 * Queues a resend of an email (of its original, for a resend of a resend) in one transaction that locks the
 * original, and audits it; returns the new outbox id. 404 not-found without such an email; 409
 * email-not-resendable for one stored before requests were, 409 email-in-progress while a copy is queued
 * or sending (for less than 15 minutes). The caller starts its delivery.
 */
export async function queueResend(
  db: Db,
  input: { id: string; requestedBy: string; messageIdDomain: string },
): Promise<number> {
  return db.transaction(async (tx) => {
    const [picked] = await tx.query<OutboxRow>('SELECT id, resend_of FROM email_outbox WHERE id = $1', [
      input.id,
    ]);
    // A resend of a resend sends the original again: the key counts resends of the original.
    const originalId = picked?.resend_of ?? picked?.id;
    const [original] = await tx.query<OutboxRow>(
      'SELECT id, idempotency_key, case_id, rule_id, event_key, template, state, request FROM email_outbox WHERE id = $1 FOR UPDATE',
      [originalId],
    );
    if (!original) throw new NotFoundError('not-found', 'Not found', `Email ${input.id} was not found`);
    if (!('kind' in original.request)) {
      throw new ConflictError(
        'email-not-resendable',
        'This email cannot be resent',
        'It predates stored requests',
      );
    }
    // A message still being delivered would race its resend; one stuck for long (its activity gave up) would not.
    const pending = await tx.query<{ id: number }>(
      `SELECT id FROM email_outbox WHERE (id = $1 OR resend_of = $1) AND state IN ('queued', 'sending')
         AND updated_at > now() - interval '15 minutes'`,
      [original.id],
    );
    if (pending[0]) {
      throw new ConflictError(
        'email-in-progress',
        'The email is still being delivered',
        `Email ${pending[0].id} is queued or sending; resend once it is sent or failed`,
      );
    }
    const [{ n } = { n: 0 }] = await tx.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM email_outbox WHERE resend_of = $1',
      [original.id],
    );
    const key = `${original.idempotency_key}/resend/${n + 1}`;
    const request: EmailRequest = { ...(original.request as EmailRequest), kind: 'resend' };
    const [row] = await tx.query<{ id: number }>(
      `INSERT INTO email_outbox (idempotency_key, case_id, rule_id, event_key, template, message_id, state, request,
         kind, resend_of, requested_by, events)
       VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, 'resend', $8, $9,
         jsonb_build_array(jsonb_build_object('at', now(), 'event', 'resend requested', 'attempt', 0, 'detail', $9::text)))
       RETURNING id`,
      [
        key,
        original.case_id,
        original.rule_id,
        original.event_key,
        original.template,
        messageIdFor(key, input.messageIdDomain),
        JSON.stringify(request),
        original.id,
        input.requestedBy,
      ],
    );
    const id = (row as { id: number }).id;
    await tx.query(
      `INSERT INTO email_audit (outbox_id, action, actor, detail) VALUES ($1, 'resend', $2, $3)`,
      [
        original.id,
        input.requestedBy,
        JSON.stringify({ resendId: id, key, requestedFrom: Number(input.id) }),
      ],
    );
    return id;
  });
}

/** Marks a queued resend failed whose delivery could not start, so it blocks no later resend. */
export async function failUnstartedResend(db: Queryable, id: number, reason: string): Promise<void> {
  await db.query(
    `UPDATE email_outbox SET state = 'failed', last_error = $2, updated_at = now() WHERE id = $1`,
    [id, reason],
  );
}

/** Records that an address wants no more marketing email (idempotent; addresses are kept in lower case). */
export async function recordOptOut(db: Queryable, address: string): Promise<void> {
  await db.query(
    `INSERT INTO email_opt_outs (address, source) VALUES ($1, 'unsubscribe-link') ON CONFLICT (address) DO NOTHING`,
    [address.toLowerCase()],
  );
}
