import type { Db } from '../db';
import { publishDefinition, type StoredDefinition } from '../db/definitions';
import { formatIssues, loadDefinitions } from '../designer/validate';

export class InvalidDefinitionsError extends Error {
  override name = 'InvalidDefinitionsError';
}

/**
 * Validates every definition in `dir` and publishes each distinct content as a new version.
 * Any error stops publishing (nothing is published) and is reported as file#pointer: message.
 */
export async function publishDefinitions(
  db: Db,
  dir: string,
): Promise<{ stored: StoredDefinition; created: boolean }[]> {
  const { definitions, issues } = loadDefinitions(dir);
  const errors = issues.filter((i) => i.severity === 'error');
  if (errors.length > 0)
    throw new InvalidDefinitionsError(`Invalid case-type definitions:\n${formatIssues(errors)}`);
  return db.transaction(async (tx) => {
    const out = [];
    for (const { definition, hash } of definitions) out.push(await publishDefinition(tx, definition, hash));
    return out;
  });
}
