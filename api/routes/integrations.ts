import { Type } from '@sinclair/typebox';
import express, { Router } from 'express';
import { AnyObject } from '../../cases/content-schema';
import {
  checkEntityInput,
  entityInputSchema,
  upsertByExternalCode,
  type EntityInput,
} from '../../crm/entities';
import { MAX_INBOUND_BYTES, listInboundMailboxes, receiveEmail, saveInboundMailbox } from '../../crm/inbound';
import { caseTypeExists } from '../../db/definitions';
import { userExists } from '../../identity/users';
import { emailAddressProblem } from '../../lib/email-address';
import { permit } from '../../crm/permissions';
import { callerOf } from '../auth';
import type { ApiContext } from '../context';
import { dateTime, problemResponses, problemSchema, type OperationSpec } from '../operation';
import { ProblemError } from '../problem';
import { check } from '../validation';
import { queryString, unsupportedType } from './crm-common';
import { entitySchema } from './entities';

const mailboxSchema = Type.Object(
  {
    caseType: Type.String({ minLength: 1, maxLength: 100 }),
    entityKind: Type.Optional(Type.Unsafe<'EN' | 'CL' | 'PR'>({ enum: ['EN', 'CL', 'PR'] })),
    ownerId: Type.Optional(
      Type.Unsafe<string | null>({ type: ['string', 'null'], minLength: 1, maxLength: 100 }),
    ),
    caseData: Type.Optional(AnyObject),
    active: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const mailboxView = (r: Record<string, unknown>) => ({
  address: r.address,
  caseType: r.case_type,
  entityKind: r.entity_kind,
  ownerId: r.owner_id,
  caseData: r.case_data,
  active: r.active,
  updatedAt: r.updated_at,
});

const mailboxViewSchema = {
  type: 'object',
  properties: {
    address: { type: 'string', description: 'Lower-case email address' },
    caseType: { type: 'string' },
    entityKind: { enum: ['EN', 'CL', 'PR'], description: 'Kind of the entity created for an unknown sender' },
    ownerId: { type: ['string', 'null'] },
    caseData: { type: 'object', description: 'Data every case opened from this address starts with' },
    active: { type: 'boolean' },
    updatedAt: dateTime,
  },
  required: ['address', 'caseType', 'entityKind', 'ownerId', 'caseData', 'active', 'updatedAt'],
};

const erpOutcomeSchema = {
  type: 'object',
  properties: {
    result: { enum: ['created', 'updated', 'unchanged'] },
    entity: entitySchema,
    changed: { type: 'array', items: { type: 'string' }, description: 'Fields the call changed' },
  },
  required: ['result', 'entity', 'changed'],
};

const inboundResultSchema = {
  type: 'object',
  properties: {
    result: { enum: ['created', 'unchanged'] },
    messageId: { type: 'string' },
    mailbox: { type: 'string', description: 'The inbound address that received it' },
    caseId: { type: 'string' },
    caseType: { type: 'string' },
    entityId: { type: 'string' },
    contactId: { type: ['string', 'null'] },
    entityCreated: { type: 'boolean' },
    contactCreated: { type: 'boolean' },
    attachmentId: {
      type: ['string', 'null'],
      description: 'The message stored as a case attachment; null when unchanged',
    },
  },
  required: ['result', 'messageId', 'mailbox', 'caseId', 'caseType', 'entityId'],
};

/** The query parameter `POST /integrations/inbound-email` reads. */
const inboundQuery = {
  type: 'object',
  properties: {
    to: {
      type: 'string',
      maxLength: 320,
      description: "The inbound address, when the message's To, Cc and Delivered-To headers do not name it",
    },
  },
};

/** The integration routes, for the OpenAPI document. */
export const integrationOperations: OperationSpec[] = [
  {
    method: 'post',
    path: '/api/integrations/erp/customers',
    operationId: 'upsertErpCustomer',
    tag: 'CRM: Integrations',
    summary:
      'ERP hook: creates or updates the entity with the external code of an ERP customer (administrators)',
    description:
      'The body is an entity with `externalCode` and `name` required; `custom` is checked against the entity ' +
      'custom-field schema. Idempotent: the same payload again changes nothing and answers `"result": "unchanged"`. ' +
      'A new entity is of kind CL unless `kind` says otherwise; `Location` names it.',
    body: entityInputSchema,
    responses: {
      '201': { description: 'Entity created', schema: erpOutcomeSchema },
      '200': { description: 'Entity updated or unchanged', schema: erpOutcomeSchema },
      ...problemResponses(400, 401, 403),
      '409': { description: 'The kind and code are already used by another entity', schema: problemSchema },
    },
    problems: ['duplicate-code'],
  },
  {
    method: 'put',
    path: '/api/integrations/inbound-mailboxes/:address',
    operationId: 'putInboundMailbox',
    tag: 'CRM: Integrations',
    summary: 'Configures an inbound address: which case type a message sent to it opens (administrators)',
    description:
      'Replaces the whole configuration: omitted fields take their defaults (entityKind EN, no owner, no case data, active).',
    params: { address: 'The inbound email address (stored in lower case)' },
    body: mailboxSchema,
    responses: {
      '200': { description: 'The mailbox', schema: mailboxViewSchema },
      ...problemResponses(400, 401, 403),
    },
  },
  {
    method: 'get',
    path: '/api/integrations/inbound-mailboxes',
    operationId: 'listInboundMailboxes',
    tag: 'CRM: Integrations',
    summary: 'The configured inbound addresses (administrators and supervisors)',
    responses: {
      '200': {
        description: 'The mailboxes, by address',
        schema: {
          type: 'object',
          properties: { items: { type: 'array', items: mailboxViewSchema } },
          required: ['items'],
        },
      },
      ...problemResponses(401, 403),
    },
  },
  {
    method: 'post',
    path: '/api/integrations/inbound-email',
    operationId: 'receiveInboundEmail',
    tag: 'CRM: Integrations',
    summary:
      'Email-to-case: a raw message opens a case of the type configured for its inbound address (administrators)',
    description:
      `The body is the raw message, \`Content-Type: message/rfc822\`, at most ${MAX_INBOUND_BYTES / 1024 / 1024} MB. ` +
      'The sender is matched to a contact or entity (or both are created) and the message is stored as an attachment ' +
      'of the new case. Idempotent by Message-ID: the same message again answers 200 with `"result": "unchanged"`. ' +
      '`Location` names the case.',
    query: inboundQuery,
    responses: {
      '201': { description: 'Case opened', schema: inboundResultSchema },
      '200': { description: 'Message already received', schema: inboundResultSchema },
      ...problemResponses(400, 401, 403),
      '413': {
        description: `Message larger than ${MAX_INBOUND_BYTES / 1024 / 1024} MB`,
        schema: problemSchema,
      },
      '415': { description: 'The body is not message/rfc822', schema: problemSchema },
      '422': {
        description: 'No active inbound mailbox for the recipients, or its configuration cannot create cases',
        schema: problemSchema,
      },
      '503': {
        description:
          'The case engine did not answer in time; send the message again (idempotent by Message-ID)',
        schema: problemSchema,
      },
    },
    problems: ['unsupported-media-type', 'unknown-mailbox', 'mailbox-misconfigured', 'engine-unavailable'],
  },
];

export function integrationRoutes(ctx: ApiContext): Router {
  const router = Router();

  /**
   * ERP hook: a customer created or changed in the ERP creates or updates the entity with that external code.
   * Idempotent: the same payload again changes nothing and answers `"result": "unchanged"`.
   */
  router.post('/integrations/erp/customers', async (req, res) => {
    const caller = callerOf(req);
    permit(caller, 'integration', 'write');
    const input = checkEntityInput(req.body ?? {}, '/body', false) as EntityInput;
    if (!input.externalCode)
      throw ProblemError.badRequest('The ERP customer needs its external code', [
        { pointer: '/body/externalCode', message: 'is required' },
      ]);
    if (input.name === undefined)
      throw ProblemError.badRequest('The ERP customer needs a name', [
        { pointer: '/body/name', message: 'is required' },
      ]);
    const outcome = await upsertByExternalCode(
      ctx.db,
      { ...input, externalCode: input.externalCode },
      caller.userId,
    );
    res
      .status(outcome.result === 'created' ? 201 : 200)
      .location(`/api/entities/${outcome.entity.id}`)
      .json(outcome);
  });

  /** Configures an inbound address: which case type a message sent to it opens. */
  router.put('/integrations/inbound-mailboxes/:address', async (req, res) => {
    permit(callerOf(req), 'integration', 'write');
    const address = String(req.params.address).toLowerCase();
    const problem = emailAddressProblem(address);
    if (problem)
      throw ProblemError.badRequest('Not an email address', [{ pointer: '/path/address', message: problem }]);
    const body = check(mailboxSchema, req.body ?? {}, '/body');
    if (!(await caseTypeExists(ctx.db, body.caseType)))
      throw ProblemError.badRequest(`Unknown case type "${body.caseType}"`, [
        { pointer: '/body/caseType', message: 'is not a published case type' },
      ]);
    if (body.ownerId) {
      if (!(await userExists(ctx.db, body.ownerId)))
        throw ProblemError.badRequest('Unknown owner', [
          { pointer: '/body/ownerId', message: 'is not a user' },
        ]);
    }
    const row = await saveInboundMailbox(ctx.db, address, body);
    res.json(mailboxView(row ?? {}));
  });

  router.get('/integrations/inbound-mailboxes', async (req, res) => {
    permit(callerOf(req), 'integration', 'read');
    const rows = await listInboundMailboxes(ctx.db);
    res.json({ items: rows.map(mailboxView) });
  });

  /**
   * Email-to-case: the raw message (`Content-Type: message/rfc822`). `?to=` names the inbound address when the
   * message's headers do not (a forwarder that keeps the original To). Same Message-ID again: "unchanged".
   */
  router.post(
    '/integrations/inbound-email',
    express.raw({ type: 'message/rfc822', limit: MAX_INBOUND_BYTES }),
    async (req, res) => {
      permit(callerOf(req), 'integration', 'write');
      if (!Buffer.isBuffer(req.body)) throw unsupportedType(req, ['message/rfc822']);
      const to = queryString(req, 'to', 320);
      const result = await receiveEmail(
        { db: ctx.db, startCase: (def, start) => ctx.gateway.start(def, start) },
        req.body,
        to ? [to] : [],
      );
      res
        .status(result.result === 'created' ? 201 : 200)
        .location(`/api/cases/${result.caseId}`)
        .json(result);
    },
  );

  return router;
}
