import { canonicalJson } from '../lib/canonical-json';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SUPPORTED_DSL_VERSIONS, type CaseTypeDefinition } from '../engine/types';
import { issue, type DefinitionIssue } from './issues';
import { parseJsonSource } from './json-source';
import { schemaIssues } from './schema-check';
import { semanticIssues } from './semantic-check';
import { soundnessIssues } from './soundness';
import { checkTemplates } from './templates-check';

export type { DefinitionIssue } from './issues';

export interface ValidateOptions {
  /** Folder of email templates (`definitions/templates`). */
  templatesDir: string;
  /** Case-type ids a sub-case step may start; unchecked when absent. */
  knownCaseTypes?: string[];
  /**
   * The definitions of those case types, to check a sub-case's data against its type's fields and for the
   * soundness check's sub-case cycles.
   */
  caseTypes?: ReadonlyMap<string, CaseTypeDefinition>;
  /** Skip the soundness check (it needs an error-free definition and explores its states). */
  skipSoundness?: boolean;
}

export interface LoadedDefinition {
  file: string;
  definition: CaseTypeDefinition;
  /** sha256 (hex) of the canonical JSON of the definition: equal content, equal hash. */
  hash: string;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The DSL-version gate: a definition for another version is rejected with one clear error. */
function versionIssue(json: unknown, file: string): DefinitionIssue | undefined {
  const supported = SUPPORTED_DSL_VERSIONS.map((v) => `"${v}"`).join(', ');
  if (!isObject(json)) {
    return issue(
      file,
      '',
      `a definition must be a JSON object, not ${Array.isArray(json) ? 'a list' : (JSON.stringify(json) ?? typeof json)}`,
      'start from definitions/opportunity.json or the example in definitions/README.md',
    );
  }
  if (!('dslVersion' in json)) {
    return issue(
      file,
      '',
      'missing "dslVersion"',
      `add "dslVersion": "1" (this engine supports ${supported})`,
    );
  }
  const version = json.dslVersion;
  if (typeof version === 'string' && (SUPPORTED_DSL_VERSIONS as readonly string[]).includes(version))
    return undefined;
  return issue(
    file,
    '/dslVersion',
    `dslVersion ${JSON.stringify(version)} is not supported by this engine`,
    typeof version === 'number' && SUPPORTED_DSL_VERSIONS.includes(String(version) as '1')
      ? `write it as a string: "dslVersion": "${version}"`
      : `supported versions: ${supported}; nothing else in the file was checked`,
  );
}

/**
 * Validates a parsed definition: DSL version, then the JSON Schema, then semantic checks.
 * Returns every problem found (errors and warnings); never throws.
 */
export function validateDefinition(json: unknown, file: string, opts: ValidateOptions): DefinitionIssue[] {
  try {
    const gate = versionIssue(json, file);
    if (gate) return [gate];
    const fromSchema = schemaIssues(json, file);
    const flagged = new Set(fromSchema.map((i) => i.pointer));
    // One error per place: the schema's message wins over a semantic restatement of it. Warnings say
    // something else (a step nothing leads to), so they stay beside the schema's errors.
    const fromSemantics = semanticIssues(json as Record<string, unknown>, file, {
      ...opts,
      wellFormed: fromSchema.length === 0,
      schemaProblems: [...flagged],
    }).filter((i) => i.severity === 'warning' || !flagged.has(i.pointer));
    // Email templates' variables, helpers and layouts (issue 5); existence and syntax are checked above.
    const fromTemplates =
      fromSchema.length === 0
        ? checkTemplates(json as CaseTypeDefinition, file, opts.templatesDir, { structure: false })
        : [];
    const found = [...fromSchema, ...fromSemantics, ...fromTemplates];
    // The soundness check runs the interpreter, which needs a definition without errors.
    if (opts.skipSoundness || found.some((i) => i.severity === 'error')) return found;
    return [...found, ...soundnessIssues(json as CaseTypeDefinition, file, opts.caseTypes)];
  } catch (e) {
    return [
      issue(
        file,
        '',
        `the validator failed on this file: ${e instanceof Error ? e.message : String(e)}`,
        'this is a bug in the validator; please report it with the file',
      ),
    ];
  }
}

/** Parses and validates the text of a definition file; syntax errors carry line and column. */
export function validateSource(
  text: string,
  file: string,
  opts: ValidateOptions,
): { value: unknown; issues: DefinitionIssue[] } {
  const parsed = parseJsonSource(text);
  if (!parsed.ok) {
    return {
      value: undefined,
      issues: [
        issue(
          file,
          '',
          `invalid JSON at line ${parsed.line}, column ${parsed.column}: ${parsed.message}`,
          'JSON needs double quotes around names and strings, commas between items and none after the last',
        ),
      ],
    };
  }
  const duplicates = parsed.duplicateKeys.map((d) =>
    issue(
      file,
      d.pointer,
      `duplicate key "${d.key}" (line ${d.line}): only the last one counts`,
      'rename or merge the two entries',
    ),
  );
  return { value: parsed.value, issues: [...duplicates, ...validateDefinition(parsed.value, file, opts)] };
}

export { canonicalJson };

/** sha256 (hex) of a definition's canonical JSON. */
export function definitionHash(definition: unknown): string {
  return createHash('sha256').update(canonicalJson(definition)).digest('hex');
}

/** The definition files of a folder: top-level `*.json` except `*.schema.json`, sorted. */
export function definitionFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.json') && !e.name.endsWith('.schema.json'))
    .map((e) => path.join(dir, e.name))
    .sort();
}

/**
 * Reads and validates every definition in `files` (templates from `templatesDir`). Sub-cases may name any
 * case type among them or in `otherCaseTypes` (designer/catalog.ts builds it; the files themselves win).
 * Only definitions without errors are returned; warnings are reported alongside.
 */
export function loadDefinitionFiles(
  files: string[],
  templatesDir: string,
  otherCaseTypes: ReadonlyMap<string, CaseTypeDefinition> = new Map(),
  extra: Pick<ValidateOptions, 'skipSoundness'> = {},
): { definitions: LoadedDefinition[]; issues: DefinitionIssue[] } {
  const sources: { file: string; text: string }[] = [];
  const issues: DefinitionIssue[] = [];
  for (const file of files) {
    try {
      sources.push({ file, text: fs.readFileSync(file, 'utf8') });
    } catch (e) {
      issues.push(issue(file, '', `cannot read the file: ${e instanceof Error ? e.message : String(e)}`));
    }
  }
  const caseTypes = new Map(otherCaseTypes);
  for (const { text } of sources) {
    const parsed = parseJsonSource(text);
    if (parsed.ok && isObject(parsed.value) && typeof parsed.value.id === 'string') {
      caseTypes.set(parsed.value.id, parsed.value as unknown as CaseTypeDefinition);
    }
  }
  const knownCaseTypes = [...caseTypes.keys()];
  const owners = new Map<string, string>();
  const definitions: LoadedDefinition[] = [];
  for (const { file, text } of sources) {
    const result = validateSource(text, file, { templatesDir, knownCaseTypes, caseTypes, ...extra });
    const own = [...result.issues];
    const id = isObject(result.value) ? result.value.id : undefined;
    if (typeof id === 'string') {
      const owner = owners.get(id);
      if (owner !== undefined) {
        own.push(
          issue(
            file,
            '/id',
            `case type "${id}" is already defined in ${owner}`,
            'each case type id must be unique',
          ),
        );
      } else owners.set(id, file);
    }
    issues.push(...own);
    if (own.every((i) => i.severity !== 'error')) {
      definitions.push({
        file,
        definition: result.value as CaseTypeDefinition,
        hash: definitionHash(result.value),
      });
    }
  }
  return { definitions, issues };
}

/**
 * Loads every definition in a folder (top level only; templates from `<dir>/templates`).
 * Never throws: unreadable folders and files become issues.
 */
export function loadDefinitions(dir: string): { definitions: LoadedDefinition[]; issues: DefinitionIssue[] } {
  let files: string[];
  try {
    files = definitionFiles(dir);
  } catch (e) {
    return {
      definitions: [],
      issues: [
        issue(dir, '', `cannot read the definitions folder: ${e instanceof Error ? e.message : String(e)}`),
      ],
    };
  }
  return loadDefinitionFiles(files, path.join(dir, 'templates'));
}

/** One line per issue: `file#pointer: message (hint)`, warnings marked as such. */
export function formatIssues(issues: DefinitionIssue[]): string {
  return issues
    .map((i) => {
      const level = i.severity === 'warning' ? 'warning: ' : '';
      const hint = i.hint === undefined ? '' : ` (${i.hint})`;
      return `${i.file}#${i.pointer}: ${level}${i.message}${hint}`;
    })
    .join('\n');
}
