/** Saved segments: stored and listed, loaded by id and compiled for use in entity lists, campaigns and reports. */
import type { Queryable, Row } from '../db';
import { ConflictError, InvalidInputError } from '../lib/domain-errors';
import { ENTITY_SELECT } from './entities';
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

const segmentOf = (r: Row): StoredSegment => ({
  id: r.id as string,
  name: r.name as string,
  description: (r.description as string | null) ?? null,
  filter: r.filter as SegmentFilter,
  createdBy: (r.created_by as string | null) ?? null,
  createdAt: r.created_at as string,
  updatedAt: r.updated_at as string,
});

/** Loads a saved segment by id or name. */
export async function findSegment(db: Queryable, idOrName: string): Promise<StoredSegment | undefined> {
  const rows = await db.query(
    'SELECT id, name, description, filter, created_by, created_at, updated_at FROM segments WHERE id = $1 OR name = $1',
    [idOrName],
  );
  const r = rows[0];
  return r ? segmentOf(r) : undefined;
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

/** Every saved segment, by name (at most 1000). */
export async function listSegments(db: Queryable): Promise<StoredSegment[]> {
  const rows = await db.query(
    'SELECT id, name, description, filter, created_by, created_at, updated_at FROM segments ORDER BY name LIMIT 1000',
  );
  return rows.map(segmentOf);
}

/** A segment's name, description and (checked) filter. */
export interface SegmentInput {
  name: string;
  description?: string | null;
  filter: SegmentFilter;
}

/** Runs a write of a segment's name; a name another segment holds is 409 duplicate-name at `/body/name`. */
async function uniqueName<T>(name: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if ((err as { code?: string }).code !== '23505') throw err;
    throw new ConflictError('duplicate-name', 'Duplicate name', `A segment named "${name}" exists`, {
      errors: [{ pointer: '/body/name', message: 'is already the name of a segment' }],
    });
  }
}

/** Saves a new segment under `id`; 409 duplicate-name when its name is taken. */
export async function createSegment(
  db: Queryable,
  id: string,
  input: SegmentInput,
  createdBy: string,
): Promise<void> {
  await uniqueName(input.name, () =>
    db.query('INSERT INTO segments (id, name, description, filter, created_by) VALUES ($1, $2, $3, $4, $5)', [
      id,
      input.name,
      input.description ?? null,
      JSON.stringify(input.filter),
      createdBy,
    ]),
  );
}

/** Replaces a segment's name, description and filter; false when there is no such segment. */
export async function updateSegment(db: Queryable, id: string, input: SegmentInput): Promise<boolean> {
  const rows = await uniqueName(input.name, () =>
    db.query(
      'UPDATE segments SET name = $2, description = $3, filter = $4, updated_at = now() WHERE id = $1 RETURNING id',
      [id, input.name, input.description ?? null, JSON.stringify(input.filter)],
    ),
  );
  return rows.length > 0;
}

/** Deletes a segment; false when there is no such segment. */
export async function deleteSegment(db: Queryable, id: string): Promise<boolean> {
  const rows = await db.query('DELETE FROM segments WHERE id = $1 RETURNING id', [id]);
  return rows.length > 0;
}

/**
 * The number of entities a filter matches, and up to `limit` of them (rows selected with ENTITY_SELECT) by
 * name and id after the (name, id) `after`.
 */
export async function segmentMembers(
  db: Queryable,
  filter: SegmentFilter,
  limit: number,
  after?: unknown[],
): Promise<{ count: number; rows: Row[] }> {
  const params: unknown[] = [];
  const predicate = compileSegment(filter, params);
  const [{ count } = { count: 0 }] = await db.query<{ count: number }>(
    `SELECT count(*) AS count FROM entities e WHERE ${predicate}`,
    params,
  );
  let keyset = '';
  if (after) {
    params.push(after[0], after[1]);
    keyset = ` AND (e.name, e.id) > ($${params.length - 1}, $${params.length})`;
  }
  params.push(limit);
  const rows = await db.query(
    `SELECT ${ENTITY_SELECT} FROM entities e WHERE ${predicate}${keyset} ORDER BY e.name, e.id LIMIT $${params.length}`,
    params,
  );
  return { count, rows };
}
