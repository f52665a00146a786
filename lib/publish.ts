import type { Db } from '../db';
import { isPublished, publishDefinition, type StoredDefinition } from '../db/definitions';
import { readDirectory } from '../db/directory';
import { directoryIssues, parseDirectory } from '../designer/directory';
import { formatIssues, loadDefinitions } from '../designer/validate';

export class InvalidDefinitionsError extends Error {
  override name = 'InvalidDefinitionsError';
}

/**
 * Validates every definition in `dir` and publishes each distinct content as a new version.
 * A content not published before must also name only users and teams of the directory (the users and teams
 * tables); one already published is not checked again, so a later change to the directory never stops a
 * restart. Any error stops publishing (nothing is published) and is reported as file#pointer: message.
 */
export async function publishDefinitions(
  db: Db,
  dir: string,
): Promise<{ stored: StoredDefinition; created: boolean }[]> {
  const { definitions, issues } = loadDefinitions(dir);
  const errors = issues.filter((i) => i.severity === 'error');
  const directory = parseDirectory(await readDirectory(db));
  for (const { file, definition, hash } of definitions) {
    if (await isPublished(db, definition.id, hash)) continue;
    errors.push(...directoryIssues(definition, file, directory));
  }
  if (errors.length > 0)
    throw new InvalidDefinitionsError(`Invalid case-type definitions:\n${formatIssues(errors)}`);
  return db.transaction(async (tx) => {
    const out = [];
    for (const { definition, hash } of definitions) out.push(await publishDefinition(tx, definition, hash));
    return out;
  });
}
