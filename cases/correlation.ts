import type { Queryable } from '../db';
import { ConflictError, NotFoundError } from '../lib/domain-errors';
import { visibleCaseSql, type Principal } from '../identity/visibility';

/** How a message from another system names its case: the business key, and the case type when keys repeat. */
export interface BusinessKeyTarget {
  businessKey: string;
  caseType?: string;
}

/**
 * The one running case a message correlates to: the case type's `businessKey` field equals `businessKey`
 * (of `caseType` when given), among the cases `caller` may see (every case for a system sender). None is a
 * not-found (`no-correlated-case`); more than one a conflict (`correlation-ambiguous`) naming them, so the
 * sender can add the case type or address one case by id. Ended cases never receive messages.
 */
export async function correlatedCase(
  db: Queryable,
  target: BusinessKeyTarget,
  caller?: Principal,
): Promise<string> {
  const params: unknown[] = [target.businessKey];
  const where = ['c.business_key = $1', 'c.ended_at IS NULL'];
  if (target.caseType !== undefined) {
    params.push(target.caseType);
    where.push(`c.case_type = $${params.length}`);
  }
  if (caller) where.push(visibleCaseSql(caller, params));
  const rows = await db.query<{ id: string; case_type: string }>(
    `SELECT c.id, c.case_type FROM cases c WHERE ${where.join(' AND ')} ORDER BY c.created_at, c.id LIMIT 10`,
    params,
  );
  const named = target.caseType === undefined ? '' : ` of type "${target.caseType}"`;
  const [only, second] = rows;
  if (!only)
    throw new NotFoundError(
      'no-correlated-case',
      'No running case has this business key',
      `No running case${named} has the business key "${target.businessKey}"`,
      {
        businessKey: target.businessKey,
        ...(target.caseType === undefined ? {} : { caseType: target.caseType }),
      },
    );
  if (second)
    throw new ConflictError(
      'correlation-ambiguous',
      'Several running cases have this business key',
      `${rows.length === 10 ? 'At least 10' : rows.length} running cases${named} have the business key "${target.businessKey}"; name the caseType or send the message to one case by id`,
      { businessKey: target.businessKey, cases: rows.map((r) => ({ id: r.id, caseType: r.case_type })) },
    );
  return only.id;
}
