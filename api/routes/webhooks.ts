import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Static, TSchema } from '@sinclair/typebox';
import { Router, type Request, type RequestHandler } from 'express';
import type { BusinessKeyTarget } from '../../cases/correlation';
import { receiveWebhookMessage } from '../../cases/webhook-deliveries';
import type { ApiContext } from '../context';
import { problemResponses, problemSchema, type OperationSpec } from '../operation';
import { ProblemError } from '../problem';
import { check } from '../validation';
import { caseMessageSchema, correlatedMessageSchema } from './cases';
import { unsupportedType } from './crm-common';

/** How far a delivery's X-Webhook-Timestamp may be from the server's clock (replays are refused past it). */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

const PATH_PREFIX = '/api/webhooks/';

/** The raw bytes of a webhook request's JSON body, kept by `keepWebhookBody` (the signature covers them). */
const rawBodies = new WeakMap<IncomingMessage, Buffer>();

/**
 * The `verify` callback of the JSON body parser: keeps the raw body of webhook requests only (their
 * signature is over the exact bytes sent), within the same size limit as every body.
 */
export function keepWebhookBody(req: IncomingMessage, _res: unknown, buf: Buffer): void {
  if (req.url?.startsWith(PATH_PREFIX)) rawBodies.set(req, buf);
}

/** Same answer for an unknown source, a missing header and a wrong signature: nothing to probe. */
function signatureProblem(): ProblemError {
  return new ProblemError(
    401,
    'webhook-signature-invalid',
    'The webhook signature is missing or invalid',
    'Sign `<X-Webhook-Timestamp>.<raw body>` with HMAC-SHA256 and the source\'s secret; send "X-Webhook-Signature: sha256=<hex>"',
  );
}

/**
 * Checks the delivery's signature: HMAC-SHA256 with the source's secret over `<timestamp>.<raw body>`,
 * compared in constant time, then that the timestamp is within WEBHOOK_TOLERANCE_SECONDS of now.
 */
function verifySignature(req: Request, secret: string | undefined, raw: Buffer): void {
  const timestamp = req.get('x-webhook-timestamp') ?? '';
  const signature = /^sha256=([0-9a-f]{64})$/i.exec(req.get('x-webhook-signature') ?? '')?.[1];
  if (secret === undefined || !/^\d{1,12}$/.test(timestamp) || signature === undefined)
    throw signatureProblem();
  const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(raw).digest();
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) throw signatureProblem();
  const skew = Math.abs(Date.now() / 1000 - Number(timestamp));
  if (skew > WEBHOOK_TOLERANCE_SECONDS)
    throw new ProblemError(
      401,
      'webhook-timestamp-stale',
      'The webhook timestamp is too old or in the future',
      `X-Webhook-Timestamp must be within ${WEBHOOK_TOLERANCE_SECONDS} seconds of the server's clock; sign the delivery again with the current time`,
    );
}

const deliveryHeader = { type: 'string', pattern: '^[\\x21-\\x7e]{1,200}$' } as const;

const deliveryResultSchema = {
  type: 'object',
  properties: {
    source: { type: 'string' },
    deliveryId: { type: 'string', description: 'The X-Webhook-Delivery of the first delivery' },
    caseId: { type: 'string' },
    message: { type: 'string', description: 'Name of the message delivered' },
    caseStatus: { type: 'string', description: 'The case status right after the message' },
    caseEnded: { type: 'boolean' },
    receivedAt: { type: 'string', format: 'date-time' },
  },
  required: ['source', 'deliveryId', 'caseId', 'message', 'caseStatus', 'caseEnded', 'receivedAt'],
};

/** What both webhook routes answer: the delivery's result, or why it was refused. */
const deliveryResponses: OperationSpec['responses'] = {
  '200': {
    description: "Message delivered, or a repeated delivery id: the first delivery's result",
    schema: deliveryResultSchema,
  },
  ...problemResponses(400, 404, 409, 503),
  '401': {
    description: 'Missing or invalid signature, unknown source, or a timestamp more than 300 s off',
    schema: problemSchema,
  },
  '415': { description: 'The body is not JSON', schema: problemSchema },
};

export const webhookOperations: OperationSpec[] = [
  {
    method: 'post',
    path: '/api/webhooks/:source/cases/:caseId/messages',
    operationId: 'receiveWebhookMessage',
    tag: 'Cases',
    auth: false,
    summary: 'Another system sends a message to a running case, signed with its webhook secret',
    description:
      'No bearer token or session: the source signs each delivery with its secret from WEBHOOK_SECRETS. ' +
      'Headers: `X-Webhook-Timestamp` (Unix seconds, within 300 s of the server clock), ' +
      '`X-Webhook-Signature: sha256=<hex of HMAC-SHA256(secret, "<timestamp>.<raw body>")>` and ' +
      '`X-Webhook-Delivery` (the delivery id, 1-200 visible ASCII characters). The body is a message as for ' +
      '`POST /api/cases/{id}/messages`, and acts exactly as one; the timeline names `webhook:<source>` as its sender. ' +
      'Idempotent by delivery id per source: a repeated delivery answers the first result and delivers nothing. ' +
      'Delivery ids are remembered for WEBHOOK_DELIVERY_RETENTION_DAYS (default 7); after that the same id counts as a new delivery.',
    params: {
      source: 'The sending system, as named in WEBHOOK_SECRETS',
      caseId: 'Case id',
    },
    body: caseMessageSchema,
    responses: deliveryResponses,
    problems: [
      'webhook-signature-invalid',
      'webhook-timestamp-stale',
      'unsupported-media-type',
      'unknown-message',
      'case-ended',
      'engine-unavailable',
    ],
  },
  {
    method: 'post',
    path: '/api/webhooks/:source/messages',
    operationId: 'receiveCorrelatedWebhookMessage',
    tag: 'Cases',
    auth: false,
    summary:
      'Another system sends a message to the running case with a business key, signed with its webhook secret',
    description:
      'Signed and deduplicated as `POST /api/webhooks/{source}/cases/{caseId}/messages`; the body names the ' +
      'case by its business key instead of its id (`businessKey`, and `caseType` when several types share key ' +
      'values), as `POST /api/messages`. No running case with the key: 404 `no-correlated-case`; several: 409 ' +
      '`correlation-ambiguous`. A repeated delivery id answers the first result, even after the case ended.',
    params: { source: 'The sending system, as named in WEBHOOK_SECRETS' },
    body: correlatedMessageSchema,
    responses: deliveryResponses,
    problems: [
      'webhook-signature-invalid',
      'webhook-timestamp-stale',
      'unsupported-media-type',
      'no-correlated-case',
      'correlation-ambiguous',
      'unknown-message',
      'case-ended',
      'engine-unavailable',
    ],
  },
];

/**
 * Webhook routes: mounted under `/api` before the authenticated routes, as they authenticate by signature.
 * `limitFailures` counts their 401s with the other failed authentications of the client address.
 */
export function webhookRoutes(
  ctx: ApiContext,
  { secrets, retentionDays }: { secrets: Record<string, string>; retentionDays: number },
  limitFailures: RequestHandler,
): Router {
  const router = Router();
  router.use(ctx.metrics.markBase);
  /** Checks a delivery's signature, delivery id and body, then delivers it once to the case it names. */
  const deliver =
    <S extends TSchema & { static: { name: string; payload?: Record<string, unknown> } }>(
      schema: S,
      target: (req: Request, body: Static<S>) => { caseId: string } | { to: BusinessKeyTarget },
    ): RequestHandler =>
    async (req, res) => {
      res.set('Cache-Control', 'no-store');
      if (!req.is('application/json')) throw unsupportedType(req, ['application/json']);
      const source = String(req.params.source);
      const secret = Object.hasOwn(secrets, source) ? secrets[source] : undefined;
      verifySignature(req, secret, rawBodies.get(req) ?? Buffer.alloc(0));
      const deliveryId = req.get('x-webhook-delivery');
      check(deliveryHeader, deliveryId ?? '', '/headers/x-webhook-delivery');
      const body = check(schema, req.body ?? {}, '/body');
      const { result } = await receiveWebhookMessage(
        ctx.db,
        (caseId, event, updateId) => ctx.gateway.act(caseId, event, updateId),
        {
          source,
          deliveryId: deliveryId as string,
          name: body.name,
          ...(body.payload === undefined ? {} : { payload: body.payload }),
          ...target(req, body),
        },
        retentionDays,
      );
      res.json(result);
    };
  router.post(
    '/webhooks/:source/cases/:caseId/messages',
    limitFailures,
    deliver(caseMessageSchema, (req) => ({ caseId: String(req.params.caseId) })),
  );
  router.post(
    '/webhooks/:source/messages',
    limitFailures,
    deliver(correlatedMessageSchema, (_req, body) => ({
      to: {
        businessKey: body.businessKey,
        ...(body.caseType === undefined ? {} : { caseType: body.caseType }),
      },
    })),
  );
  return router;
}
