import type { Queryable } from '../db';
import { definitionVersion, type StoredDefinition } from '../db/definitions';

/** Published versions are immutable, so each is read once per process (bounded). */
const cache = new Map<string, StoredDefinition>();
const MAX_ENTRIES = 5000;

/** A published definition version, from memory after the first read; undefined when unknown. */
export async function cachedDefinition(
  db: Queryable,
  caseType: string,
  version: number,
): Promise<StoredDefinition | undefined> {
  const key = `${caseType}@${version}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const stored = await definitionVersion(db, caseType, version);
  if (stored && cache.size < MAX_ENTRIES) cache.set(key, stored);
  return stored;
}
