import fs from 'node:fs';
import path from 'node:path';
import type { CaseTypeDefinition } from '../engine/types';
import { definitionFiles } from './validate';

/** Case types by id: what a sub-case step may name, with the definition it would start. */
export type CaseTypeCatalog = ReadonlyMap<string, CaseTypeDefinition>;

function readId(file: string): [string, CaseTypeDefinition] | undefined {
  try {
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown> | null;
    if (json === null || typeof json !== 'object' || typeof json.id !== 'string') return undefined;
    return [json.id, json as unknown as CaseTypeDefinition];
  } catch {
    return undefined;
  }
}

function filesOf(dir: string): string[] {
  try {
    return definitionFiles(dir);
  } catch {
    return [];
  }
}

/**
 * The case types the definition files `files` may start as sub-cases, the same for every command: those
 * in the definitions folder, those beside each file (its own folder), and the files themselves; a later
 * one replaces an earlier one with the same id, so the file being edited wins over its published copy.
 * Files that do not parse are left out (validating them reports why).
 */
export function caseTypeCatalog(files: string[], definitionsDir: string): Map<string, CaseTypeDefinition> {
  const ordered = [
    ...filesOf(definitionsDir),
    ...files.flatMap((f) => filesOf(path.dirname(f))),
    ...files,
  ].map((f) => path.resolve(f));
  const catalog = new Map<string, CaseTypeDefinition>();
  for (const file of [...new Set(ordered), ...files]) {
    const entry = readId(file);
    if (entry) catalog.set(entry[0], entry[1]);
  }
  return catalog;
}
