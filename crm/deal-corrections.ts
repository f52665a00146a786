/**
 * The audited correction of a closed deal's amount (issue 15). A won or lost case's workflow has ended and its
 * data no longer changes (PATCH /api/cases/:id answers 409 case-ended); a supervisor of the case or an
 * administrator records the right amount with a reason. The corrected amount is kept in the read model
 * (`cases.amount_corrected`, migration 074) and every figure reads it through `forecast_amount`; the audit row
 * keeps who, when, the old and the new amount and why.
 */
import type { Queryable } from '../db';
import { visibleCaseSql, type Principal } from '../identity/visibility';
import { ConflictError, InvalidInputError, NotFoundError } from '../lib/domain-errors';
import { fieldErrors, validatorFor } from '../lib/json-validation';
import { permit, permitRelation } from './permissions';

/** Request schema of a correction. */
export const amountCorrectionSchema = {
  type: 'object',
  properties: {
    amount: { type: 'number', minimum: 0, description: 'The right amount, in the case currency' },
    reason: {
      type: 'string',
      minLength: 3,
      maxLength: 1000,
      pattern: '\\S',
      description: 'Why (kept in the audit)',
    },
  },
  required: ['amount', 'reason'],
  additionalProperties: false,
} as const;

export interface AmountCorrection {
  caseId: string;
  status: string;
  statusCategory: 'won' | 'lost';
  currency: string | null;
  /** The amount the figures used before (the case data's, or an earlier correction). */
  previousAmount: number | null;
  amount: number;
  reason: string;
  correctedBy: string;
  correctedAt: string;
  auditId: string;
}

/** Validates a correction request; one 400 lists every error. */
export function checkAmountCorrection(body: unknown): { amount: number; reason: string } {
  const validate = validatorFor(amountCorrectionSchema);
  if (!validate(body))
    throw new InvalidInputError('The correction is not valid', fieldErrors(validate.errors, '/body'));
  return body as { amount: number; reason: string };
}

/**
 * Corrects the amount of closed case `caseId` for `who` (a supervisor who sees the case, or an administrator):
 * 403 for other roles, 404 for a case the caller does not see, 409 `case-not-closed` for an open one.
 */
export async function correctClosedAmount(
  tx: Queryable,
  who: Principal,
  caseId: string,
  input: { amount: number; reason: string },
): Promise<AmountCorrection> {
  permit(who, 'case', 'correctAmount');
  const row = await findCase<{
    status: string;
    status_category: string;
    forecast_amount: string | null;
    currency: string | null;
  }>(tx, who, caseId, "c.status, c.status_category, c.forecast_amount, c.data ->> 'currency' AS currency", {
    lock: true,
  });
  if (!row) throw new NotFoundError('not-found', 'Not found', `Case ${caseId} was not found`);
  permitRelation(who, 'case', 'correctAmount', row.visible ? 'own' : 'other', `Case ${caseId}`);
  if (row.status_category !== 'won' && row.status_category !== 'lost')
    throw new ConflictError(
      'case-not-closed',
      'The case is not a closed deal',
      `Case ${caseId} is ${row.status} (${row.status_category}); only a won or lost deal's amount is corrected here: change an open case with PATCH /api/cases/${caseId}`,
      { status: row.status, statusCategory: row.status_category },
    );
  const previousAmount = row.forecast_amount === null ? null : Number(row.forecast_amount);
  await tx.query('UPDATE cases SET amount_corrected = $2 WHERE id = $1', [caseId, input.amount]);
  const [audit] = await tx.query<{ id: string; at: Date }>(
    `INSERT INTO crm_audit (actor, action, record_type, record_id, reason, detail)
     VALUES ($1, 'case.amount-corrected', 'case', $2, $3, $4) RETURNING id::text, at`,
    [
      who.userId,
      caseId,
      input.reason,
      JSON.stringify({ previousAmount, amount: input.amount, currency: row.currency, status: row.status }),
    ],
  );
  const { id, at } = audit as { id: string; at: Date };
  return {
    caseId,
    status: row.status,
    statusCategory: row.status_category,
    currency: row.currency,
    previousAmount,
    amount: input.amount,
    reason: input.reason,
    correctedBy: who.userId,
    correctedAt: new Date(at).toISOString(),
    auditId: id,
  };
}

/**
 * The amount corrections of case `caseId`, newest first, from the audit: for whoever may read the case
 * (404 for a case the caller does not see, as GET /api/cases/:id answers).
 */
export async function listAmountCorrections(
  db: Queryable,
  who: Principal,
  caseId: string,
): Promise<AmountCorrection[]> {
  permit(who, 'case', 'read');
  const found = await findCase<{ status_category: string }>(db, who, caseId, 'c.status_category');
  if (!found?.visible) throw new NotFoundError('not-found', 'Not found', `Case ${caseId} was not found`);
  const rows = await db.query<{
    id: string;
    actor: string;
    at: Date;
    reason: string;
    detail: Record<string, unknown>;
  }>(
    `SELECT id::text, actor, at, reason, detail FROM crm_audit
     WHERE record_type = 'case' AND record_id = $1 AND action = 'case.amount-corrected'
     ORDER BY crm_audit.at DESC, crm_audit.id DESC LIMIT 500`,
    [caseId],
  );
  return rows.map((r) => ({
    caseId,
    status: String(r.detail.status),
    statusCategory: found.status_category as 'won' | 'lost',
    currency: (r.detail.currency as string | null) ?? null,
    previousAmount: (r.detail.previousAmount as number | null) ?? null,
    amount: Number(r.detail.amount),
    reason: r.reason,
    correctedBy: r.actor,
    correctedAt: new Date(r.at).toISOString(),
    auditId: r.id,
  }));
}

/**
 * Case `caseId`'s `columns` (constant SQL from this module, never input) and whether `who` sees it, or
 * undefined when no such case exists; `lock` takes the row for the transaction.
 */
async function findCase<T>(
  db: Queryable,
  who: Principal,
  caseId: string,
  columns: string,
  opts: { lock?: boolean } = {},
): Promise<(T & { visible: boolean }) | undefined> {
  const params: unknown[] = [caseId];
  const visible = visibleCaseSql(who, params);
  const [row] = await db.query<T & { visible: boolean }>(
    `SELECT ${columns}, ${visible} AS visible FROM cases c WHERE c.id = $1${opts.lock ? ' FOR UPDATE' : ''}`,
    params,
  );
  return row;
}
