import express, { Router } from 'express';
import { checkEntityInput, upsertByExternalCode, type EntityInput } from '../../crm/entities';
import { MAX_INBOUND_BYTES, receiveEmail } from '../../crm/inbound';
import { emailAddressProblem } from '../../lib/email-address';
import { requireRole } from '../auth';
import type { ApiContext } from '../context';
import { ProblemError } from '../problem';
import { check } from '../validation';
import { queryString, unsupportedType } from './crm-common';

const mailboxSchema = {
  type: 'object',
  properties: {
    caseType: { type: 'string', minLength: 1, maxLength: 100 },
    entityKind: { enum: ['EN', 'CL', 'PR'] },
    ownerId: { type: ['string', 'null'], minLength: 1, maxLength: 100 },
    caseData: { type: 'object' },
    active: { type: 'boolean' },
  },
  required: ['caseType'],
  additionalProperties: false,
};

interface MailboxBody {
  caseType: string;
  entityKind?: 'EN' | 'CL' | 'PR';
  ownerId?: string | null;
  caseData?: Record<string, unknown>;
  active?: boolean;
}

const mailboxView = (r: Record<string, unknown>) => ({
  address: r.address,
  caseType: r.case_type,
  entityKind: r.entity_kind,
  ownerId: r.owner_id,
  caseData: r.case_data,
  active: r.active,
  updatedAt: r.updated_at,
});

export function integrationRoutes(ctx: ApiContext): Router {
  const router = Router();

  /**
   * ERP hook: a customer created or changed in the ERP creates or updates the entity with that external code.
   * Idempotent: the same payload again changes nothing and answers `"result": "unchanged"`.
   */
  router.post('/integrations/erp/customers', async (req, res) => {
    const caller = requireRole(req, 'admin');
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
    requireRole(req, 'admin');
    const address = String(req.params.address).toLowerCase();
    const problem = emailAddressProblem(address);
    if (problem)
      throw ProblemError.badRequest('Not an email address', [{ pointer: '/path/address', message: problem }]);
    const body = check<MailboxBody>(mailboxSchema, req.body ?? {}, '/body');
    const [type] = await ctx.db.query('SELECT 1 FROM case_type_versions WHERE case_type = $1 LIMIT 1', [
      body.caseType,
    ]);
    if (!type)
      throw ProblemError.badRequest(`Unknown case type "${body.caseType}"`, [
        { pointer: '/body/caseType', message: 'is not a published case type' },
      ]);
    if (body.ownerId) {
      const [user] = await ctx.db.query('SELECT 1 FROM users WHERE id = $1', [body.ownerId]);
      if (!user)
        throw ProblemError.badRequest('Unknown owner', [
          { pointer: '/body/ownerId', message: 'is not a user' },
        ]);
    }
    const [row] = await ctx.db.query(
      `INSERT INTO inbound_mailboxes (address, case_type, entity_kind, owner_id, case_data, active)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (address) DO UPDATE SET case_type = EXCLUDED.case_type, entity_kind = EXCLUDED.entity_kind,
         owner_id = EXCLUDED.owner_id, case_data = EXCLUDED.case_data, active = EXCLUDED.active, updated_at = now()
       RETURNING *`,
      [
        address,
        body.caseType,
        body.entityKind ?? 'EN',
        body.ownerId ?? null,
        JSON.stringify(body.caseData ?? {}),
        body.active ?? true,
      ],
    );
    res.json(mailboxView(row ?? {}));
  });

  router.get('/integrations/inbound-mailboxes', async (req, res) => {
    requireRole(req, 'admin', 'supervisor');
    const rows = await ctx.db.query('SELECT * FROM inbound_mailboxes ORDER BY address');
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
      requireRole(req, 'admin');
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
