/**
 * SQL for GET /api/cases: one keyset page of the cases a caller may see (identity/visibility.ts visibleCaseSql), with
 * filters. The route validates the query and cursor; this module only builds the statement.
 */
import { visibleCaseSql } from '../identity/visibility';
import type { Caller } from './auth';
import { prefixTsQuery } from './inbox-query';

export type CaseSortField = 'created' | 'updated' | 'title';
export type CaseSortOrder = 'asc' | 'desc';

export interface CaseListFilters {
  caseType?: string[];
  status?: string[];
  category?: string[];
  entityId?: string;
  /** The case type's business key value (`businessKey` in the definition). */
  businessKey?: string;
  ownerId?: string;
  /** Cases the team works on: owned by a member, or holding a task of the team or of a member. */
  team?: string;
  /** ISO instants: `after` inclusive, `before` exclusive. */
  createdAfter?: string;
  createdBefore?: string;
  updatedAfter?: string;
  updatedBefore?: string;
  /** Words that each start a word of the title or entity name; or the exact case id. */
  q?: string;
}

/** The column each sort reads; the case id breaks ties, so the order is total. */
export const CASE_SORT_COLUMNS: Record<CaseSortField, { expr: string; cast: 'timestamptz' | 'text' }> = {
  created: { expr: 'c.created_at', cast: 'timestamptz' },
  updated: { expr: 'c.updated_at', cast: 'timestamptz' },
  title: { expr: 'c.title', cast: 'text' },
};

export interface CaseListQuery {
  caller: Caller;
  filters: CaseListFilters;
  sort: CaseSortField;
  order: CaseSortOrder;
  /** Rows to return; the statement fetches one more to know whether a next page exists. */
  limit: number;
  /** The sort value (as Postgres text) and id of the last row of the previous page. */
  after?: [string, string];
}

/** One page of cases; each row carries its sort value as text in `k0`, for the next cursor. */
export function caseListSql(q: CaseListQuery): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const add = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  const f = q.filters;
  const where: string[] = [visibleCaseSql(q.caller, params)];
  if (f.caseType) where.push(`c.case_type = ANY(${add(f.caseType)}::text[])`);
  if (f.status) where.push(`c.status = ANY(${add(f.status)}::text[])`);
  if (f.category) where.push(`c.status_category = ANY(${add(f.category)}::text[])`);
  if (f.entityId !== undefined) where.push(`c.entity_id = ${add(f.entityId)}`);
  if (f.businessKey !== undefined) where.push(`c.business_key = ${add(f.businessKey)}`);
  if (f.ownerId !== undefined) where.push(`c.owner_id = ${add(f.ownerId)}`);
  if (f.team !== undefined) {
    const team = add(f.team);
    const members = `SELECT tm.user_id FROM team_members tm WHERE tm.team_id = ${team}`;
    where.push(`(c.owner_id IN (${members})
      OR EXISTS (SELECT 1 FROM tasks tt WHERE tt.case_id = c.id
        AND (tt.candidate_teams @> ARRAY[${team}]::text[] OR tt.assignee IN (${members}))))`);
  }
  if (f.createdAfter !== undefined) where.push(`c.created_at >= ${add(f.createdAfter)}::timestamptz`);
  if (f.createdBefore !== undefined) where.push(`c.created_at < ${add(f.createdBefore)}::timestamptz`);
  if (f.updatedAfter !== undefined) where.push(`c.updated_at >= ${add(f.updatedAfter)}::timestamptz`);
  if (f.updatedBefore !== undefined) where.push(`c.updated_at < ${add(f.updatedBefore)}::timestamptz`);
  if (f.q !== undefined) {
    const tsquery = prefixTsQuery(f.q);
    const words =
      tsquery === null
        ? 'false'
        : `to_tsvector('simple', c.title || ' ' || COALESCE(c.entity_name, '')) @@ to_tsquery('simple', ${add(tsquery)})`;
    where.push(`(${words} OR c.id = ${add(f.q)})`);
  }
  const key = CASE_SORT_COLUMNS[q.sort];
  const dir = q.order === 'asc' ? 'ASC' : 'DESC';
  if (q.after) {
    // A row comparison: both keys run in the same direction.
    where.push(
      `(${key.expr}, c.id) ${q.order === 'asc' ? '>' : '<'} (${add(q.after[0])}::${key.cast}, ${add(q.after[1])}::text)`,
    );
  }
  const sql = `SELECT c.*, (${key.expr})::text AS k0 FROM cases c
  WHERE ${where.join('\n    AND ')}
  ORDER BY ${key.expr} ${dir}, c.id ${dir}
  LIMIT ${add(q.limit + 1)}`;
  return { sql, params };
}
