import path from 'node:path';
import type { Db } from '../db';
import {
  isPublished,
  listLatestDefinitions,
  publishDefinition,
  type StoredDefinition,
} from '../db/definitions';
import { readDirectory } from '../db/directory';
import { directoryIssues, parseDirectory } from '../designer/directory';
import {
  definitionHash,
  formatIssues,
  loadDefinitions,
  validateDefinition,
  type DefinitionIssue,
} from '../designer/validate';
import type { CaseTypeDefinition } from '../engine/types';
import { logger } from './logger';

export class InvalidDefinitionsError extends Error {
  override name = 'InvalidDefinitionsError';
}

export interface Publication {
  stored: StoredDefinition;
  created: boolean;
}

/** What publishing a folder did: versions published (or unchanged), and the files skipped with their errors. */
export interface FolderPublication {
  published: Publication[];
  skipped: { file: string; errors: DefinitionIssue[] }[];
}

/**
 * The definitions of `dir` and their errors: schema and semantics, and, for each not yet published,
 * its references to teams and users of the directory.
 */
async function checkFolder(db: Db, dir: string) {
  const { definitions, issues } = loadDefinitions(dir);
  const errors = issues.filter((i) => i.severity === 'error');
  const directory = parseDirectory(await readDirectory(db));
  for (const { file, definition, hash } of definitions) {
    if (await isPublished(db, definition.id, hash)) continue;
    errors.push(...directoryIssues(definition, file, directory));
  }
  return { definitions, errors };
}

/**
 * Validates every definition in `dir` and publishes each valid, distinct content as a new version; a file
 * with an error is skipped (its case type keeps serving its last published version, if any).
 * A content not published before must also name only users and teams of the directory (the users and teams
 * tables); one already published is not checked again, so a later change to the directory never stops a
 * restart.
 */
export async function publishValidDefinitions(db: Db, dir: string): Promise<FolderPublication> {
  const { definitions, errors } = await checkFolder(db, dir);
  const byFile = new Map<string, DefinitionIssue[]>();
  for (const e of errors) byFile.set(e.file, [...(byFile.get(e.file) ?? []), e]);
  const published = await db.transaction(async (tx) => {
    const out: Publication[] = [];
    for (const { file, definition, hash } of definitions) {
      if (!byFile.has(file)) out.push(await publishDefinition(tx, definition, hash));
    }
    return out;
  });
  return { published, skipped: [...byFile].map(([file, fileErrors]) => ({ file, errors: fileErrors })) };
}

/**
 * Strict publishing (`npm run definitions -- publish`): any error stops it (nothing is published), reported
 * as file#pointer: message.
 */
export async function publishDefinitions(db: Db, dir: string): Promise<Publication[]> {
  const { definitions, errors } = await checkFolder(db, dir);
  if (errors.length > 0)
    throw new InvalidDefinitionsError(`Invalid case-type definitions:\n${formatIssues(errors)}`);
  return db.transaction(async (tx) => {
    const out = [];
    for (const { definition, hash } of definitions) out.push(await publishDefinition(tx, definition, hash));
    return out;
  });
}

/**
 * Start-up publishing: publishes the valid definitions of `dir` and logs each published version and each
 * error of a skipped file (file, pointer, message), so one broken file never stops the engine.
 */
export async function publishAtStartup(
  db: Db,
  dir: string,
  log: Pick<typeof logger, 'info' | 'error'> = logger,
): Promise<FolderPublication> {
  const result = await publishValidDefinitions(db, dir);
  for (const p of result.published) {
    log.info(
      `${p.created ? 'published' : 'unchanged'} ${p.stored.caseType} v${p.stored.version} (${p.stored.label})`,
    );
  }
  for (const { file, errors } of result.skipped) {
    for (const e of errors) {
      log.error(
        { file, pointer: e.pointer, message: e.message, ...(e.hint ? { hint: e.hint } : {}) },
        `definition skipped: ${formatIssues([e])}`,
      );
    }
  }
  return result;
}

/** The outcome of publishing one definition sent at run time. */
export interface SinglePublication {
  /** Every error and warning, located by file and pointer as the CLI reports them. */
  issues: DefinitionIssue[];
  /** Set when there was no error (and not a dry run). */
  publication?: Publication;
}

/**
 * Validates one definition as `validate` does (templates from `definitionsDir/templates`, sub-cases among
 * the published case types, users and teams against the directory) and, without errors and unless
 * `dryRun`, publishes it as a new version: new cases use it, running cases keep theirs.
 */
export async function publishOneDefinition(
  db: Db,
  json: unknown,
  options: { file: string; definitionsDir: string; dryRun?: boolean },
): Promise<SinglePublication> {
  const latest = await listLatestDefinitions(db);
  const caseTypes = new Map<string, CaseTypeDefinition>(latest.map((d) => [d.caseType, d.definition]));
  const own = json as Partial<CaseTypeDefinition> | null;
  if (own && typeof own === 'object' && typeof own.id === 'string')
    caseTypes.set(own.id, json as CaseTypeDefinition);
  const issues = validateDefinition(json, options.file, {
    templatesDir: path.join(options.definitionsDir, 'templates'),
    knownCaseTypes: [...caseTypes.keys()],
    caseTypes,
  });
  if (issues.some((i) => i.severity === 'error')) return { issues };
  const definition = json as CaseTypeDefinition;
  const hash = definitionHash(definition);
  if (!(await isPublished(db, definition.id, hash))) {
    const directory = parseDirectory(await readDirectory(db));
    const unknown = directoryIssues(definition, options.file, directory);
    if (unknown.length > 0) return { issues: [...issues, ...unknown] };
  }
  if (options.dryRun) return { issues };
  // One publisher per case type at a time: two contents published at once would race for one version number.
  const publication = await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`case-type:${definition.id}`]);
    return publishDefinition(tx, definition, hash);
  });
  return { issues, publication };
}
