/** Rows of `parameters`: the general settings administrators change (their registry is api/routes/parameters.ts). */
import type { Queryable } from './index';

/** A stored parameter. */
export type ParameterRow = {
  key: string;
  value: unknown;
  description: string;
  updated_at: string;
  updated_by: string | null;
};

/** The stored row of a parameter, or undefined when it keeps its default. */
export async function findParameter(db: Queryable, key: string): Promise<ParameterRow | undefined> {
  const [row] = await db.query<ParameterRow>('SELECT * FROM parameters WHERE key = $1', [key]);
  return row;
}

/** Every stored parameter, by key. */
export function listParameters(db: Queryable): Promise<ParameterRow[]> {
  return db.query<ParameterRow>('SELECT * FROM parameters ORDER BY key');
}

/** Stores a parameter's value (JSON) with who changed it; the description is kept from the first write. */
export async function saveParameter(
  db: Queryable,
  input: { key: string; value: unknown; description: string; updatedBy: string },
): Promise<ParameterRow> {
  const [row] = await db.query<ParameterRow>(
    `INSERT INTO parameters (key, value, description, updated_at, updated_by) VALUES ($1, $2, $3, now(), $4)
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now(), updated_by = EXCLUDED.updated_by
     RETURNING *`,
    [input.key, JSON.stringify(input.value), input.description, input.updatedBy],
  );
  return row as ParameterRow;
}
