import type { Queryable } from './index';

/** Counts by state of the background work an operator watches: outbox, imports, campaigns. */
export interface OperationalCounts {
  outbox: { state: string; count: number }[];
  imports: { status: string; count: number; pendingRows: number }[];
  campaignTargets: { state: string; count: number }[];
}

/**
 * Reads the counts `/metrics` reports. Grouped counts over the outbox and the imports, and the targets of
 * running or paused campaigns only (finished ones no longer move).
 */
export async function readOperationalCounts(db: Queryable): Promise<OperationalCounts> {
  const [outbox, imports, campaignTargets] = await Promise.all([
    db.query<{ state: string; count: string }>(
      'SELECT state, count(*) AS count FROM email_outbox GROUP BY state',
    ),
    db.query<{ status: string; count: string; pending_rows: string }>(
      `SELECT status, count(*) AS count, COALESCE(sum(total - processed), 0) AS pending_rows
       FROM imports GROUP BY status`,
    ),
    db.query<{ state: string; count: string }>(
      `SELECT t.state, count(*) AS count FROM campaign_targets t JOIN campaigns c ON c.id = t.campaign_id
       WHERE c.status IN ('running', 'paused') GROUP BY t.state`,
    ),
  ]);
  return {
    outbox: outbox.map((r) => ({ state: r.state, count: Number(r.count) })),
    imports: imports.map((r) => ({
      status: r.status,
      count: Number(r.count),
      pendingRows: Number(r.pending_rows),
    })),
    campaignTargets: campaignTargets.map((r) => ({ state: r.state, count: Number(r.count) })),
  };
}
