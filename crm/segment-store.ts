/** Saved segments: load by id and compile for use in entity lists, campaigns and reports. */
import type { Queryable } from '../db';
import { InvalidInputError } from '../lib/domain-errors';
import { compileSegment, type SegmentFilter } from './segments';

export interface StoredSegment {
  id: string;
  name: string;
  description: string | null;
  filter: SegmentFilter;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
}

/** Loads a saved segment by id or name. */
export async function findSegment(db: Queryable, idOrName: string): Promise<StoredSegment | undefined> {
  const rows = await db.query(
    'SELECT id, name, description, filter, created_by, created_at, updated_at FROM segments WHERE id = $1 OR name = $1',
    [idOrName],
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    id: r.id as string,
    name: r.name as string,
    description: (r.description as string | null) ?? null,
    filter: r.filter as SegmentFilter,
    createdBy: (r.created_by as string | null) ?? null,
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
}

/**
 * The SQL predicate over `entities e` of a saved segment, with its values appended to `params`; 400 at
 * `pointer` when the segment does not exist.
 */
export async function loadSegmentPredicate(
  db: Queryable,
  idOrName: string,
  params: unknown[],
  pointer: string,
): Promise<string> {
  const segment = await findSegment(db, idOrName);
  if (!segment)
    throw new InvalidInputError(`Unknown segment "${idOrName}"`, [
      { pointer, message: 'is not a saved segment' },
    ]);
  return compileSegment(segment.filter, params);
}
