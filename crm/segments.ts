/**
 * The segment filter language: a typed JSON filter over entities, checked against the whitelisted standard
 * fields and the company's custom-field schema, and compiled to a parameterized SQL predicate over `entities e`.
 *
 *   { "all": [f, ...] } | { "any": [f, ...] } | { "not": f }
 *   { "field": "sector" | "custom.tier" | ..., "op": "eq", "value": "retail" }
 *   { "hasCases": { "caseType"?, "status"?, "category"?, "since"?, "minCount"? } }
 *   { "actionsDone": { "action", "since"?, "minCount"? } }       completed tasks of an action type
 *   { "wonAmount": { "op", "value", "caseType"?, "since"? } }     sum of won cases' amounts
 */
import type { InputError } from '../lib/domain-errors';
import { customFieldType, type FieldType } from './schemas';

export type Op =
  | 'eq'
  | 'ne'
  | 'in'
  | 'notIn'
  | 'contains'
  | 'startsWith'
  | 'gt'
  | 'gte'
  | 'lt'
  | 'lte'
  | 'isSet'
  | 'has'
  | 'hasAny';

export type SegmentFilter =
  | { all: SegmentFilter[] }
  | { any: SegmentFilter[] }
  | { not: SegmentFilter }
  | { field: string; op: Op; value?: unknown }
  | {
      hasCases: {
        caseType?: string;
        status?: string;
        category?: 'open' | 'won' | 'lost' | 'closed';
        since?: string;
        minCount?: number;
      };
    }
  | { actionsDone: { action: string; since?: string; minCount?: number } }
  | {
      wonAmount: { op: 'eq' | 'gt' | 'gte' | 'lt' | 'lte'; value: number; caseType?: string; since?: string };
    };

const DATE = '^\\d{4}-\\d{2}-\\d{2}$';

/** Structural JSON Schema of a filter; field names and value types are checked by `segmentErrors`. */
export const segmentFilterSchema = {
  $id: 'https://crm-process-engine.dev/schemas/segment-filter.json',
  $ref: '#/$defs/filter',
  $defs: {
    filter: {
      oneOf: [
        {
          type: 'object',
          properties: {
            all: { type: 'array', minItems: 1, maxItems: 50, items: { $ref: '#/$defs/filter' } },
          },
          required: ['all'],
          additionalProperties: false,
        },
        {
          type: 'object',
          properties: {
            any: { type: 'array', minItems: 1, maxItems: 50, items: { $ref: '#/$defs/filter' } },
          },
          required: ['any'],
          additionalProperties: false,
        },
        {
          type: 'object',
          properties: { not: { $ref: '#/$defs/filter' } },
          required: ['not'],
          additionalProperties: false,
        },
        {
          type: 'object',
          properties: {
            field: { type: 'string', minLength: 1, maxLength: 200 },
            op: {
              enum: [
                'eq',
                'ne',
                'in',
                'notIn',
                'contains',
                'startsWith',
                'gt',
                'gte',
                'lt',
                'lte',
                'isSet',
                'has',
                'hasAny',
              ],
            },
            value: {},
          },
          required: ['field', 'op'],
          additionalProperties: false,
        },
        {
          type: 'object',
          properties: {
            hasCases: {
              type: 'object',
              properties: {
                caseType: { type: 'string', minLength: 1, maxLength: 100 },
                status: { type: 'string', minLength: 1, maxLength: 100 },
                category: { enum: ['open', 'won', 'lost', 'closed'] },
                since: { type: 'string', pattern: DATE },
                minCount: { type: 'integer', minimum: 1, maximum: 1000000 },
              },
              additionalProperties: false,
            },
          },
          required: ['hasCases'],
          additionalProperties: false,
        },
        {
          type: 'object',
          properties: {
            actionsDone: {
              type: 'object',
              properties: {
                action: { type: 'string', minLength: 1, maxLength: 100 },
                since: { type: 'string', pattern: DATE },
                minCount: { type: 'integer', minimum: 1, maximum: 1000000 },
              },
              required: ['action'],
              additionalProperties: false,
            },
          },
          required: ['actionsDone'],
          additionalProperties: false,
        },
        {
          type: 'object',
          properties: {
            wonAmount: {
              type: 'object',
              properties: {
                op: { enum: ['eq', 'gt', 'gte', 'lt', 'lte'] },
                value: { type: 'number' },
                caseType: { type: 'string', minLength: 1, maxLength: 100 },
                since: { type: 'string', pattern: DATE },
              },
              required: ['op', 'value'],
              additionalProperties: false,
            },
          },
          required: ['wonAmount'],
          additionalProperties: false,
        },
      ],
    },
  },
};

/** Standard entity fields a segment may filter on, with their column and type. */
export const STANDARD_FIELDS: Record<string, { column: string; type: FieldType }> = {
  id: { column: 'e.id', type: 'string' },
  kind: { column: 'e.kind', type: 'string' },
  entityType: { column: 'e.entity_type', type: 'string' },
  code: { column: 'e.code', type: 'string' },
  name: { column: 'e.name', type: 'string' },
  taxId: { column: 'e.tax_id', type: 'string' },
  email: { column: 'e.email', type: 'string' },
  phone: { column: 'e.phone', type: 'string' },
  address: { column: 'e.address', type: 'string' },
  city: { column: 'e.city', type: 'string' },
  postalCode: { column: 'e.postal_code', type: 'string' },
  country: { column: 'e.country', type: 'string' },
  source: { column: 'e.source', type: 'string' },
  sector: { column: 'e.sector', type: 'string' },
  zone: { column: 'e.zone', type: 'string' },
  agentId: { column: 'e.agent_id', type: 'string' },
  externalCode: { column: 'e.external_code', type: 'string' },
  createdAt: { column: 'e.created_at', type: 'date' },
};

/** Pseudo-field: the entity's agent belongs to one of these teams. */
const TEAM_FIELD = 'team';

const OPS_BY_TYPE: Record<FieldType, Op[]> = {
  string: ['eq', 'ne', 'in', 'notIn', 'contains', 'startsWith', 'isSet'],
  number: ['eq', 'ne', 'in', 'notIn', 'gt', 'gte', 'lt', 'lte', 'isSet'],
  date: ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'isSet'],
  boolean: ['eq', 'ne', 'isSet'],
  'string[]': ['has', 'hasAny', 'isSet'],
};

const MAX_NODES = 100;
const MAX_DEPTH = 6;

interface ResolvedField {
  type: FieldType;
  /** Standard column, or the path under `custom`. */
  column?: string;
  customPath?: string[];
  team?: true;
}

function resolveField(name: string): ResolvedField | undefined {
  if (name === TEAM_FIELD) return { type: 'string', team: true };
  const standard = STANDARD_FIELDS[name];
  if (standard) return { type: standard.type, column: standard.column };
  if (name.startsWith('custom.')) {
    const dotted = name.slice('custom.'.length);
    const type = customFieldType('entity', dotted);
    if (type) return { type, customPath: dotted.split('.') };
  }
  return undefined;
}

function valueProblem(type: FieldType, op: Op, value: unknown): string | undefined {
  const scalarOk = (v: unknown): boolean => {
    switch (type) {
      case 'string':
      case 'string[]':
        return typeof v === 'string' && v.length <= 1000;
      case 'number':
        return typeof v === 'number' && Number.isFinite(v);
      case 'boolean':
        return typeof v === 'boolean';
      case 'date':
        return typeof v === 'string' && new RegExp(DATE).test(v);
    }
  };
  const what = type === 'date' ? 'a date (YYYY-MM-DD)' : type === 'string[]' ? 'a string' : `a ${type}`;
  if (op === 'isSet') return typeof value === 'boolean' ? undefined : 'must be true or false';
  if (op === 'in' || op === 'notIn' || op === 'hasAny') {
    if (!Array.isArray(value) || value.length === 0 || value.length > 1000)
      return `must be a list of 1 to 1000 values, each ${what}`;
    return value.every(scalarOk) ? undefined : `each value must be ${what}`;
  }
  return scalarOk(value) ? undefined : `must be ${what}`;
}

/** Semantic errors of a structurally valid filter: unknown fields, operators that do not fit, bad values. */
export function segmentErrors(filter: SegmentFilter, pointer: string): InputError[] {
  const errors: InputError[] = [];
  let nodes = 0;
  const walk = (f: SegmentFilter, at: string, depth: number): void => {
    nodes += 1;
    if (nodes === MAX_NODES + 1)
      errors.push({ pointer: at, message: `a filter has at most ${MAX_NODES} conditions` });
    if (depth > MAX_DEPTH) {
      errors.push({ pointer: at, message: `filters nest at most ${MAX_DEPTH} levels deep` });
      return;
    }
    if ('all' in f) f.all.forEach((g, i) => walk(g, `${at}/all/${i}`, depth + 1));
    else if ('any' in f) f.any.forEach((g, i) => walk(g, `${at}/any/${i}`, depth + 1));
    else if ('not' in f) walk(f.not, `${at}/not`, depth + 1);
    else if ('field' in f) {
      const field = resolveField(f.field);
      if (!field) {
        errors.push({
          pointer: `${at}/field`,
          message: f.field.startsWith('custom.')
            ? `"${f.field}" is not declared in definitions/entity.schema.json`
            : `unknown field "${f.field}"; use one of ${[...Object.keys(STANDARD_FIELDS), TEAM_FIELD].join(', ')} or custom.<field>`,
        });
        return;
      }
      const ops = field.team ? (['eq', 'in'] as Op[]) : OPS_BY_TYPE[field.type];
      if (!ops.includes(f.op)) {
        errors.push({
          pointer: `${at}/op`,
          message: `"${f.op}" does not apply to ${f.field} (${field.type}); use ${ops.join(', ')}`,
        });
        return;
      }
      const problem = valueProblem(field.type, f.op, f.value);
      if (problem) errors.push({ pointer: `${at}/value`, message: problem });
    }
  };
  walk(filter, pointer, 1);
  return errors;
}

const SQL_OPS = { eq: '=', gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Nested object `{a: {b: value}}` for a JSON containment test on `custom`. */
function nest(path: string[], value: unknown): unknown {
  return path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), value);
}

function fieldSql(f: { field: string; op: Op; value?: unknown }, params: unknown[]): string {
  const field = resolveField(f.field) as ResolvedField;
  const p = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  if (field.team) {
    const teams = Array.isArray(f.value) ? f.value : [f.value];
    return `e.agent_id IN (SELECT user_id FROM team_members WHERE team_id = ANY(${p(teams)}::text[]))`;
  }
  const custom = field.customPath;
  // Containment uses the GIN index on custom; it also never casts a value of another type.
  if (custom && f.op === 'eq') return `e.custom @> ${p(JSON.stringify(nest(custom, f.value)))}::jsonb`;
  if (custom && f.op === 'has') return `e.custom @> ${p(JSON.stringify(nest(custom, [f.value])))}::jsonb`;
  let expr: string;
  if (custom) {
    const path = p(custom);
    const typed = {
      number: 'number',
      boolean: 'boolean',
      'string[]': 'array',
      string: 'string',
      date: 'string',
    }[field.type];
    const cast = { number: '::numeric', boolean: '::boolean', 'string[]': '', string: '', date: '::date' }[
      field.type
    ];
    // A custom date is compared as a date: only a YYYY-MM-DD string is cast (anything else is no date).
    const shape =
      field.type === 'date' ? ` AND (e.custom #>> ${path}::text[]) ~ '^\\d{4}-\\d{2}-\\d{2}$'` : '';
    expr =
      field.type === 'string[]'
        ? `(e.custom #> ${path}::text[])`
        : `(CASE WHEN jsonb_typeof(e.custom #> ${path}::text[]) = '${typed}'${shape} THEN (e.custom #>> ${path}::text[])${cast} END)`;
  } else {
    expr = field.column as string;
  }
  const arrayType = {
    string: 'text[]',
    'string[]': 'text[]',
    number: 'numeric[]',
    boolean: 'boolean[]',
    date: 'date[]',
  }[field.type];
  const scalarCast = field.type === 'date' ? '::date' : field.type === 'number' ? '::numeric' : '';
  const left = field.type === 'date' && !custom ? `${expr}::date` : expr;
  switch (f.op) {
    case 'isSet':
      return `${expr} IS ${f.value ? 'NOT ' : ''}NULL`;
    case 'eq':
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return `${left} ${SQL_OPS[f.op]} ${p(f.value)}${scalarCast}`;
    case 'ne':
      return `${left} IS DISTINCT FROM ${p(f.value)}${scalarCast}`;
    case 'in':
      return `${left} = ANY(${p(f.value)}::${arrayType})`;
    case 'notIn':
      return `(${left} IS NULL OR ${left} <> ALL(${p(f.value)}::${arrayType}))`;
    case 'contains':
      return `${expr} ILIKE '%' || ${p(escapeLike(String(f.value)))} || '%'`;
    case 'startsWith':
      return `${expr} ILIKE ${p(escapeLike(String(f.value)))} || '%'`;
    case 'has':
      return `${expr} ? ${p(f.value)}`;
    case 'hasAny':
      return `${expr} ?| ${p(f.value)}::text[]`;
    default: {
      const unknown: never = f.op;
      throw new Error(`Unknown operator ${String(unknown)}`);
    }
  }
}

/**
 * Compiles a checked filter (see `segmentErrors`) to a SQL predicate over `entities e`. Values go to `params`
 * (appended); the text references them by position and never contains input.
 */
export function compileSegment(filter: SegmentFilter, params: unknown[]): string {
  const p = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  if ('all' in filter) return `(${filter.all.map((f) => compileSegment(f, params)).join(' AND ')})`;
  if ('any' in filter) return `(${filter.any.map((f) => compileSegment(f, params)).join(' OR ')})`;
  if ('not' in filter) return `NOT (${compileSegment(filter.not, params)})`;
  if ('field' in filter) return fieldSql(filter, params);
  if ('hasCases' in filter) {
    const h = filter.hasCases;
    const conds = ['c.entity_id = e.id'];
    if (h.caseType !== undefined) conds.push(`c.case_type = ${p(h.caseType)}`);
    if (h.status !== undefined) conds.push(`c.status = ${p(h.status)}`);
    if (h.category !== undefined) conds.push(`c.status_category = ${p(h.category)}`);
    if (h.since !== undefined) conds.push(`c.created_at >= ${p(h.since)}::date`);
    const where = conds.join(' AND ');
    return h.minCount && h.minCount > 1
      ? `(SELECT count(*) FROM cases c WHERE ${where}) >= ${p(h.minCount)}`
      : `EXISTS (SELECT 1 FROM cases c WHERE ${where})`;
  }
  if ('actionsDone' in filter) {
    const a = filter.actionsDone;
    const conds = ['c.entity_id = e.id', `t.action = ${p(a.action)}`, `t.status = 'completed'`];
    if (a.since !== undefined) conds.push(`t.completed_at >= ${p(a.since)}::date`);
    const from = `FROM cases c JOIN tasks t ON t.case_id = c.id WHERE ${conds.join(' AND ')}`;
    return a.minCount && a.minCount > 1
      ? `(SELECT count(*) ${from}) >= ${p(a.minCount)}`
      : `EXISTS (SELECT 1 ${from})`;
  }
  if ('wonAmount' in filter) {
    const w = filter.wonAmount;
    const conds = ['c.entity_id = e.id', `c.status_category = 'won'`];
    if (w.caseType !== undefined) conds.push(`c.case_type = ${p(w.caseType)}`);
    if (w.since !== undefined) conds.push(`c.ended_at >= ${p(w.since)}::date`);
    return `(SELECT coalesce(sum(c.forecast_amount), 0) FROM cases c WHERE ${conds.join(' AND ')}) ${SQL_OPS[w.op]} ${p(w.value)}::numeric`;
  }
  const unknown: never = filter;
  throw new Error(`Unknown filter ${JSON.stringify(unknown)}`);
}
