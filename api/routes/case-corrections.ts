/** The audited correction of a closed deal's amount (crm/deal-corrections.ts): HTTP, access and mapping only. */
import { Router } from 'express';
import {
  amountCorrectionSchema,
  checkAmountCorrection,
  correctClosedAmount,
  listAmountCorrections,
} from '../../crm/deal-corrections';
import { permit } from '../../crm/permissions';
import { callerOf } from '../auth';
import type { ApiContext } from '../context';
import { dateTime, problemResponses, type OperationSpec } from '../operation';

const correctionSchema = {
  type: 'object',
  properties: {
    caseId: { type: 'string' },
    status: { type: 'string' },
    statusCategory: { enum: ['won', 'lost'] },
    currency: { type: ['string', 'null'] },
    previousAmount: { type: ['number', 'null'], description: 'The amount the figures used before' },
    amount: { type: 'number' },
    reason: { type: 'string' },
    correctedBy: { type: 'string' },
    correctedAt: dateTime,
    auditId: { type: 'string' },
  },
  required: [
    'caseId',
    'status',
    'statusCategory',
    'previousAmount',
    'amount',
    'reason',
    'correctedBy',
    'correctedAt',
    'auditId',
  ],
};

export const caseCorrectionOperations: OperationSpec[] = [
  {
    method: 'post',
    path: '/api/cases/:id/amount-correction',
    operationId: 'correctClosedCaseAmount',
    tag: 'CRM: Reports',
    summary:
      "Corrects a won or lost deal's amount, with a reason (a supervisor of the case, or an administrator)",
    description:
      "A closed case's data no longer changes (PATCH answers 409 case-ended). The corrected amount is what the forecast, the pipeline totals, campaign results and segments count from now on; an audit row keeps who, when, the old and new amount and the reason. 409 case-not-closed for an open case.",
    params: { id: 'Case id' },
    body: amountCorrectionSchema,
    responses: {
      '200': { description: 'The correction', schema: correctionSchema },
      ...problemResponses(400, 401, 403, 404, 409),
    },
    problems: ['case-not-closed'],
  },
  {
    method: 'get',
    path: '/api/cases/:id/amount-corrections',
    operationId: 'listCaseAmountCorrections',
    tag: 'CRM: Reports',
    summary: "A closed deal's amount corrections, newest first (the audit trail)",
    description:
      'Whoever may read the case sees who corrected its amount, when, from what to what and why (at most 500).',
    params: { id: 'Case id' },
    responses: {
      '200': {
        description: 'The corrections',
        schema: {
          type: 'object',
          properties: { items: { type: 'array', items: correctionSchema } },
          required: ['items'],
        },
      },
      ...problemResponses(401, 403, 404),
    },
  },
];

export function caseCorrectionRoutes(ctx: ApiContext): Router {
  const router = Router();
  router.post('/cases/:id/amount-correction', async (req, res) => {
    const caller = callerOf(req);
    permit(caller, 'case', 'correctAmount');
    const input = checkAmountCorrection(req.body ?? {});
    res.json(await ctx.db.transaction((tx) => correctClosedAmount(tx, caller, req.params.id, input)));
  });
  router.get('/cases/:id/amount-corrections', async (req, res) => {
    const caller = callerOf(req);
    permit(caller, 'case', 'read');
    res.json({ items: await listAmountCorrections(ctx.db, caller, req.params.id) });
  });
  return router;
}
