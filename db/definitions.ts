import type { Queryable } from './index';
import type { CaseTypeDefinition } from '../engine/types';

export interface StoredDefinition {
  caseType: string;
  version: number;
  label: string;
  hash: string;
  definition: CaseTypeDefinition;
  publishedAt: string;
}

type Row = {
  case_type: string;
  version: number;
  label: string;
  hash: string;
  content: CaseTypeDefinition;
  published_at: string;
};

const toStored = (r: Row): StoredDefinition => ({
  caseType: r.case_type,
  version: r.version,
  label: r.label,
  hash: r.hash,
  definition: r.content,
  publishedAt: r.published_at,
});

/**
 * Publishes a definition: a content not seen before becomes a new immutable version (n + 1).
 * Returns the stored version and whether it is new.
 */
export async function publishDefinition(
  db: Queryable,
  definition: CaseTypeDefinition,
  hash: string,
): Promise<{ stored: StoredDefinition; created: boolean }> {
  const existing = await db.query<Row>(
    'SELECT * FROM case_type_versions WHERE case_type = $1 AND hash = $2',
    [definition.id, hash],
  );
  if (existing[0]) return { stored: toStored(existing[0]), created: false };
  const rows = await db.query<Row>(
    `INSERT INTO case_type_versions (case_type, version, label, hash, content)
     SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4 FROM case_type_versions WHERE case_type = $1
     ON CONFLICT (case_type, hash) DO UPDATE SET hash = EXCLUDED.hash
     RETURNING *`,
    [definition.id, definition.version, hash, JSON.stringify(definition)],
  );
  return { stored: toStored(rows[0] as Row), created: true };
}

/** Whether this content of a case type is already a published version. */
export async function isPublished(db: Queryable, caseType: string, hash: string): Promise<boolean> {
  const rows = await db.query('SELECT 1 FROM case_type_versions WHERE case_type = $1 AND hash = $2', [
    caseType,
    hash,
  ]);
  return rows.length > 0;
}

/** The latest published version of a case type. */
export async function latestDefinition(
  db: Queryable,
  caseType: string,
): Promise<StoredDefinition | undefined> {
  const rows = await db.query<Row>(
    'SELECT * FROM case_type_versions WHERE case_type = $1 ORDER BY version DESC LIMIT 1',
    [caseType],
  );
  return rows[0] ? toStored(rows[0]) : undefined;
}

/** One published version. */
export async function definitionVersion(
  db: Queryable,
  caseType: string,
  version: number,
): Promise<StoredDefinition | undefined> {
  const rows = await db.query<Row>('SELECT * FROM case_type_versions WHERE case_type = $1 AND version = $2', [
    caseType,
    version,
  ]);
  return rows[0] ? toStored(rows[0]) : undefined;
}

/** Latest version of every case type. */
export async function listLatestDefinitions(db: Queryable): Promise<StoredDefinition[]> {
  const rows = await db.query<Row>(
    `SELECT DISTINCT ON (case_type) * FROM case_type_versions ORDER BY case_type, version DESC`,
  );
  return rows.map(toStored);
}

/** The published versions of a case type, oldest first, as GET /api/case-types/:id lists them. */
export function listDefinitionVersions(
  db: Queryable,
  caseType: string,
): Promise<{ version: number; label: string; hash: string; publishedAt: string }[]> {
  return db.query(
    'SELECT version, label, hash, published_at AS "publishedAt" FROM case_type_versions WHERE case_type = $1 ORDER BY version',
    [caseType],
  );
}

/** Whether a case type has a published version. */
export async function caseTypeExists(db: Queryable, caseType: string): Promise<boolean> {
  const [type] = await db.query('SELECT 1 FROM case_type_versions WHERE case_type = $1 LIMIT 1', [caseType]);
  return type !== undefined;
}

/** Which of `caseTypes` have a published version (one query for a list; `caseTypeExists` for one). */
export async function publishedCaseTypes(db: Queryable, caseTypes: string[]): Promise<Set<string>> {
  const rows = await db.query<{ case_type: string }>(
    'SELECT DISTINCT case_type FROM case_type_versions WHERE case_type = ANY($1::text[])',
    [caseTypes],
  );
  return new Set(rows.map((r) => r.case_type));
}
