import type { Queryable } from '../db';
import type { ActorEvent } from '../engine/state';
import { ConflictError, NotFoundError } from '../lib/domain-errors';
import type { ActionResult } from '../workflows/messages';
import { findCaseRow } from './case-store';
import { correlatedCase, type BusinessKeyTarget } from './correlation';

/**
 * A message a signed webhook delivery carries to a running case (the body of a webhook route): to a case by
 * id, or to the one running case with a business key.
 */
export type WebhookMessage = {
  source: string;
  deliveryId: string;
  name: string;
  payload?: Record<string, unknown>;
} & ({ caseId: string } | { to: BusinessKeyTarget });

/** What a delivery answers; a repeated delivery id answers the first one's again. */
export interface WebhookDeliveryResult {
  source: string;
  deliveryId: string;
  caseId: string;
  message: string;
  /** The case's status right after the message. */
  caseStatus: string;
  caseEnded: boolean;
  receivedAt: string;
}

/** Sends an event to a case workflow (api/gateway.ts `act`); `updateId` makes the send at most once. */
export type ActOnCase = (caseId: string, event: ActorEvent, updateId: string) => Promise<ActionResult>;

/** Who the timeline names as the sender of a webhook's message. */
export function webhookActor(source: string): string {
  return `webhook:${source}`;
}

/** Days a delivery is remembered by default (WEBHOOK_DELIVERY_RETENTION_DAYS): senders retry for up to 3. */
export const DEFAULT_DELIVERY_RETENTION_DAYS = 7;

/** Expired deliveries each new one removes at most: the table stays near a retention's worth of rows. */
const PRUNE_BATCH = 100;

/** The stored answer of a delivery received within the retention, or undefined. */
async function storedDelivery(
  db: Queryable,
  source: string,
  deliveryId: string,
  retentionDays: number,
): Promise<WebhookDeliveryResult | undefined> {
  const [row] = await db.query<{ result: WebhookDeliveryResult }>(
    `SELECT result FROM webhook_deliveries
     WHERE source = $1 AND delivery_id = $2 AND received_at > now() - make_interval(days => $3)`,
    [source, deliveryId, retentionDays],
  );
  return row?.result;
}

/**
 * Delivers a webhook's message to its case as the messages route does, once per (source, delivery id)
 * within `retentionDays`: a repeated delivery answers the first result and sends nothing. Two copies
 * racing send the same Temporal update id, so the workflow applies the message once; the first stored
 * answer wins. Storing a new delivery removes up to PRUNE_BATCH expired ones.
 */
export async function receiveWebhookMessage(
  db: Queryable,
  act: ActOnCase,
  message: WebhookMessage,
  retentionDays: number = DEFAULT_DELIVERY_RETENTION_DAYS,
): Promise<{ duplicate: boolean; result: WebhookDeliveryResult }> {
  const { source, deliveryId } = message;
  const earlier = await storedDelivery(db, source, deliveryId, retentionDays);
  if (earlier) return { duplicate: true, result: earlier };
  // A repeated delivery answers as the first even after its case ended: the key is looked up only now.
  const caseId = 'caseId' in message ? message.caseId : await correlatedCase(db, message.to);
  const row = await findCaseRow(db, caseId);
  if (!row) throw new NotFoundError('not-found', 'Not found', `Case ${caseId} was not found`);
  if (row.ended_at !== null)
    throw new ConflictError('case-ended', 'The case has ended', `Case ${caseId} is no longer running`);
  const outcome = await act(
    caseId,
    {
      type: 'message',
      name: message.name,
      ...(message.payload === undefined ? {} : { payload: message.payload }),
      actor: { userId: webhookActor(source), role: 'system', teams: [] },
    },
    `webhook:${source}:${deliveryId}`,
  );
  const result: WebhookDeliveryResult = {
    source,
    deliveryId,
    caseId,
    message: message.name,
    caseStatus: outcome.case.status,
    caseEnded: outcome.case.ended,
    receivedAt: new Date().toISOString(),
  };
  // An expired row of the same id is replaced: past the retention a delivery id counts as new.
  const inserted = await db.query(
    `INSERT INTO webhook_deliveries (source, delivery_id, case_id, message, result)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (source, delivery_id) DO UPDATE
       SET case_id = EXCLUDED.case_id, message = EXCLUDED.message, result = EXCLUDED.result, received_at = now()
       WHERE webhook_deliveries.received_at <= now() - make_interval(days => $6)
     RETURNING 1`,
    [source, deliveryId, caseId, message.name, JSON.stringify(result), retentionDays],
  );
  if (inserted.length > 0) {
    await db.query(
      `DELETE FROM webhook_deliveries WHERE ctid IN (
         SELECT ctid FROM webhook_deliveries WHERE received_at <= now() - make_interval(days => $1)
         ORDER BY received_at LIMIT ${PRUNE_BATCH})`,
      [retentionDays],
    );
    return { duplicate: false, result };
  }
  return {
    duplicate: true,
    result: (await storedDelivery(db, source, deliveryId, retentionDays)) ?? result,
  };
}
