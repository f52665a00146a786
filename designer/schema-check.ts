import fs from 'node:fs';
import path from 'node:path';
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { escapePointer } from '../engine/conditions';
import { PROJECT_ROOT } from '../lib/paths';
import { closest, issue, type DefinitionIssue } from './issues';

/** Path of the normative JSON Schema of case-type definitions. */
export const CASE_TYPE_SCHEMA_PATH = path.join(PROJECT_ROOT, 'definitions', 'case-type.schema.json');

type SchemaNode = Record<string, unknown>;

interface Compiled {
  validate: ValidateFunction;
  /** Parent of every node of the schema document, to find the `x-message` / `x-hint` around an error. */
  parents: Map<object, object>;
  root: SchemaNode;
}

let compiled: Compiled | undefined;

/** A 2020-12 ajv with formats; `strict` also rejects unknown keywords (typos in schemas). */
export function newAjv(options: { strict: boolean }): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors: true,
    verbose: true,
    strict: options.strict,
    strictTypes: false,
    strictRequired: false,
    strictTuples: false,
  });
  addFormats(ajv);
  return ajv;
}

function isNode(value: unknown): value is SchemaNode {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function mapParents(node: unknown, parents: Map<object, object>): void {
  if (node === null || typeof node !== 'object') return;
  for (const child of Object.values(node)) {
    if (child !== null && typeof child === 'object') {
      parents.set(child, node);
      mapParents(child, parents);
    }
  }
}

/** The case-type schema validator, compiled once per process. */
function validator(): Compiled {
  if (!compiled) {
    const root = JSON.parse(fs.readFileSync(CASE_TYPE_SCHEMA_PATH, 'utf8')) as SchemaNode;
    const ajv = newAjv({ strict: true });
    ajv.addKeyword('x-message');
    ajv.addKeyword('x-hint');
    const parents = new Map<object, object>();
    mapParents(root, parents);
    compiled = { validate: ajv.compile(root), parents, root };
  }
  return compiled;
}

/**
 * The designer-facing annotations for an error: `x-message` of the failing node (or of the schema it is
 * the if/then/else branch of), and the nearest `x-hint` up to the enclosing `$defs` entry.
 */
function annotations(schema: Compiled, node: unknown): { message?: string; hint?: string } {
  const found: { message?: string; hint?: string } = {};
  const defs = schema.root.$defs;
  let current: unknown = node;
  let depth = 0;
  while (isNode(current) && current !== schema.root && current !== defs) {
    const parent = schema.parents.get(current);
    const isBranch = isNode(parent) && (parent.then === current || parent.else === current);
    if (found.message === undefined && typeof current['x-message'] === 'string' && depth === 0) {
      found.message = current['x-message'];
    }
    if (found.hint === undefined && typeof current['x-hint'] === 'string') found.hint = current['x-hint'];
    depth += isBranch ? 0 : 1;
    current = parent;
  }
  return found;
}

const ARTICLE: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
  object: 'an object',
  array: 'a list',
  null: 'null',
};

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function described(value: unknown): string | undefined {
  return isNode(value) && typeof value.description === 'string' ? value.description : undefined;
}

/** Turns one ajv error into a designer-facing issue; undefined for errors that only restate others. */
function toIssue(error: ErrorObject, schema: Compiled, file: string): DefinitionIssue | undefined {
  const { message: xMessage, hint } = annotations(schema, error.parentSchema);
  const parent = isNode(error.parentSchema) ? error.parentSchema : {};
  const properties = isNode(parent.properties) ? parent.properties : {};
  const params = error.params as Record<string, unknown>;
  // Errors inside `propertyNames` concern a key, not its value: point at the key.
  const at =
    error.propertyName === undefined
      ? error.instancePath
      : `${error.instancePath}/${escapePointer(error.propertyName)}`;
  switch (error.keyword) {
    case 'if':
      return undefined;
    case 'required': {
      const name = String(params.missingProperty);
      return issue(file, at, `missing required property "${name}"`, described(properties[name]) ?? hint);
    }
    case 'additionalProperties': {
      const name = String(params.additionalProperty);
      const allowed = Object.keys(properties);
      const near = closest(name, allowed);
      return issue(
        file,
        `${at}/${escapePointer(name)}`,
        `unknown property "${name}"`,
        `${near === undefined ? '' : `did you mean "${near}"? `}allowed here: ${allowed.join(', ')}${
          isNode(parent.patternProperties) && '^x-' in parent.patternProperties
            ? ', or x-<anything> for notes'
            : ''
        }`,
      );
    }
    case 'enum': {
      if (xMessage !== undefined) return issue(file, at, `${show(error.data)} ${xMessage}`, hint);
      const allowed = (params.allowedValues as unknown[]).map(String);
      const near = typeof error.data === 'string' ? closest(error.data, allowed) : undefined;
      return issue(
        file,
        at,
        `${show(error.data)} is not one of: ${allowed.join(', ')}`,
        near === undefined ? described(parent) : `did you mean "${near}"?`,
      );
    }
    case 'const':
      return issue(file, at, `must be ${show(params.allowedValue)}`, described(parent));
    case 'type': {
      const types = String(params.type)
        .split(',')
        .map((t) => ARTICLE[t] ?? t);
      return issue(file, at, `must be ${types.join(' or ')}, not ${show(error.data)}`, hint);
    }
    case 'pattern':
    case 'format': {
      return issue(
        file,
        at,
        xMessage === undefined
          ? `${show(error.data)} ${error.message ?? 'is invalid'}`
          : `${show(error.data)} ${xMessage}`,
        hint,
      );
    }
    case 'minProperties':
    case 'maxProperties': {
      return issue(file, at, xMessage ?? error.message ?? 'has the wrong number of properties', hint);
    }
    case 'dependentRequired':
      return issue(
        file,
        at,
        `"${String(params.property)}" needs "${String(params.missingProperty)}" too`,
        hint,
      );
    case 'uniqueItems':
      return issue(
        file,
        at,
        `has duplicate items (positions ${String(params.j)} and ${String(params.i)})`,
        'each item may appear once',
      );
    case 'propertyNames':
      return undefined;
    case 'false schema':
      return issue(file, at, 'is not allowed here', hint);
    default:
      return issue(file, at, error.message ?? `fails "${error.keyword}"`, hint);
  }
}

/** Of the errors under a failed oneOf/anyOf, keeps those of the branch that got furthest into the data. */
function pruneAlternatives(errors: ErrorObject[]): ErrorObject[] {
  const combinators = errors.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf');
  let kept = errors;
  for (const combinator of combinators) {
    const prefix = `${combinator.schemaPath}/`;
    const branches = new Map<string, ErrorObject[]>();
    for (const e of kept) {
      if (!e.schemaPath.startsWith(prefix)) continue;
      const branch = e.schemaPath.slice(prefix.length).split('/')[0] as string;
      branches.set(branch, [...(branches.get(branch) ?? []), e]);
    }
    if (branches.size === 0) continue;
    const depth = (list: ErrorObject[]): number => Math.max(...list.map((e) => e.instancePath.length));
    const best = [...branches.values()].sort((a, b) => depth(b) - depth(a) || a.length - b.length)[0] ?? [];
    const progressed = depth(best) > combinator.instancePath.length;
    kept = kept.filter((e) => !e.schemaPath.startsWith(prefix) || (progressed && best.includes(e)));
    if (progressed) kept = kept.filter((e) => e !== combinator);
  }
  return kept;
}

/** Validates a definition against the case-type JSON Schema; one issue per distinct problem. */
export function schemaIssues(json: unknown, file: string): DefinitionIssue[] {
  const schema = validator();
  const { validate } = schema;
  if (validate(json)) return [];
  const issues: DefinitionIssue[] = [];
  const seen = new Set<string>();
  for (const error of pruneAlternatives(validate.errors ?? [])) {
    const found = toIssue(error, schema, file);
    if (!found) continue;
    // A value of the wrong type fails both the union's type and the chosen branch's: report it once.
    const key =
      error.keyword === 'type' ? `${found.pointer}\u0000type` : `${found.pointer}\u0000${found.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(found);
  }
  return issues;
}
