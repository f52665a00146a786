import { Type } from '@sinclair/typebox';
import { Router } from 'express';
import type { Queryable } from '../../db';
import { findParameter, listParameters, saveParameter, type ParameterRow } from '../../db/parameters';
import { requireRole } from '../auth';
import type { ApiContext } from '../context';
import { problemResponses, type JsonSchema, type OperationSpec } from '../operation';
import { ProblemError } from '../problem';
import { noQuery } from '../request-guards';
import { check } from '../validation';

/**
 * General parameters administrators may change, each with the schema its value must satisfy and its
 * default. Other features add theirs here (and a row in a migration for the description).
 */
export const PARAMETERS: Record<string, { schema: JsonSchema; default: unknown; description: string }> = {
  allowEditClosedTasks: {
    schema: { type: 'boolean' },
    default: false,
    description: 'Allow editing the form data and notes of completed tasks (every edit is audited).',
  },
};

/** Reads a parameter's value, or its default when no row holds it. */
export async function readParameter<T>(db: Queryable, key: string): Promise<T> {
  const row = await findParameter(db, key);
  return row ? (row.value as T) : (PARAMETERS[key]?.default as T);
}

const keyPattern = '^[A-Za-z][A-Za-z0-9_.-]{0,99}$';
export const parameterSchema = {
  type: 'object',
  properties: {
    key: { type: 'string' },
    value: {},
    description: { type: 'string' },
    schema: { type: 'object', description: 'JSON Schema the value must satisfy' },
    updatedAt: { type: ['string', 'null'], format: 'date-time' },
    updatedBy: { type: ['string', 'null'] },
  },
  required: ['key', 'value'],
};
export const putParameterSchema = Type.Object(
  { value: Type.Unknown({ description: 'Validated against the parameter schema' }) },
  { additionalProperties: false },
);

export const parameterOperations: OperationSpec[] = [
  {
    method: 'get',
    path: '/api/parameters',
    operationId: 'listParameters',
    tag: 'Parameters',
    summary: 'All general parameters (administrators)',
    responses: {
      '200': {
        description: 'Parameters',
        schema: { type: 'object', properties: { items: { type: 'array', items: parameterSchema } } },
      },
      ...problemResponses(401, 403),
    },
  },
  {
    method: 'get',
    path: '/api/parameters/:key',
    operationId: 'getParameter',
    tag: 'Parameters',
    summary: 'One general parameter (administrators)',
    params: { key: 'Parameter key, e.g. allowEditClosedTasks' },
    responses: {
      '200': { description: 'The parameter', schema: parameterSchema },
      ...problemResponses(401, 403, 404),
    },
  },
  {
    method: 'put',
    path: '/api/parameters/:key',
    operationId: 'putParameter',
    tag: 'Parameters',
    summary: "Changes a general parameter's value (administrators)",
    params: { key: 'Parameter key' },
    body: putParameterSchema,
    responses: {
      '200': { description: 'The parameter', schema: parameterSchema },
      ...problemResponses(400, 401, 403, 404),
    },
  },
];

function view(key: string, row: ParameterRow | undefined) {
  const known = PARAMETERS[key];
  return {
    key,
    value: row ? row.value : known?.default,
    description: row?.description || known?.description || '',
    schema: known?.schema ?? {},
    updatedAt: row?.updated_at ?? null,
    updatedBy: row?.updated_by ?? null,
  };
}

export function parameterRoutes(ctx: ApiContext): Router {
  const router = Router();

  router.get('/parameters', async (req, res) => {
    noQuery(req);
    requireRole(req, 'admin');
    const rows = await listParameters(ctx.db);
    const byKey = new Map(rows.map((r) => [r.key, r]));
    const keys = [...new Set([...Object.keys(PARAMETERS), ...byKey.keys()])].sort();
    res.json({ items: keys.map((k) => view(k, byKey.get(k))) });
  });

  router.get('/parameters/:key', async (req, res) => {
    noQuery(req);
    requireRole(req, 'admin');
    const key = req.params.key;
    const row = await findParameter(ctx.db, key);
    if (!row && !Object.hasOwn(PARAMETERS, key)) throw ProblemError.notFound(`Parameter ${key}`);
    res.json(view(key, row));
  });

  router.put('/parameters/:key', async (req, res) => {
    const caller = requireRole(req, 'admin');
    const key = req.params.key;
    const known = Object.hasOwn(PARAMETERS, key) ? PARAMETERS[key] : undefined;
    if (!known || !new RegExp(keyPattern).test(key)) throw ProblemError.notFound(`Parameter ${key}`);
    const body = check(putParameterSchema, req.body ?? {}, '/body');
    check(known.schema, body.value, '/body/value', `value of ${key}`);
    const row = await saveParameter(ctx.db, {
      key,
      value: body.value,
      description: known.description,
      updatedBy: caller.userId,
    });
    res.json(view(key, row));
  });

  return router;
}
