import { Type } from '@sinclair/typebox';
import { Router } from 'express';
import { deleteRate, listRates, putRate } from '../../crm/exchange-rates';
import { permit } from '../../crm/permissions';
import { callerOf } from '../auth';
import type { ApiContext } from '../context';
import { problemResponses, type OperationSpec } from '../operation';
import { ProblemError, type FieldError } from '../problem';
import { knownQuery } from '../request-guards';
import { check } from '../validation';
import { isCalendarDay } from './reports';
import { queryString } from './crm-common';

const CODE = /^[A-Z]{3}$/;

/** A rate a report or result converted with, as it names it beside the figures. */
export const appliedRateSchema = {
  type: 'object',
  properties: {
    from: { type: 'string' },
    to: { type: 'string' },
    rate: { type: 'number', description: '1 from = rate to' },
    validFrom: { type: 'string', format: 'date' },
  },
  required: ['from', 'to', 'rate', 'validFrom'],
};

const rateSchema = {
  type: 'object',
  properties: {
    from: { type: 'string', description: 'ISO 4217 code converted from' },
    to: { type: 'string', description: 'ISO 4217 code converted into' },
    validFrom: { type: 'string', format: 'date', description: 'First day the rate applies' },
    rate: { type: 'number', description: '1 from = rate to' },
    updatedBy: { type: ['string', 'null'] },
    updatedAt: { type: 'string', format: 'date-time' },
  },
  required: ['from', 'to', 'validFrom', 'rate'],
};

const putRateSchema = Type.Object(
  { rate: Type.Number({ exclusiveMinimum: 0, maximum: 1e12, description: '1 from = rate to' }) },
  { additionalProperties: false },
);

const listQuery = Type.Object({
  from: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$', description: 'Only rates from this currency' })),
  to: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$', description: 'Only rates into this currency' })),
});

const pathParams = {
  from: 'ISO 4217 code converted from (EUR)',
  to: 'ISO 4217 code converted into',
  validFrom: 'YYYY-MM-DD: the first day the rate applies (until the next rate of the pair)',
};

export const exchangeRateOperations: OperationSpec[] = [
  {
    method: 'get',
    path: '/api/exchange-rates',
    operationId: 'listExchangeRates',
    tag: 'CRM: Reports',
    summary: 'The dated exchange rates reports convert with (any signed-in user)',
    query: listQuery,
    responses: {
      '200': {
        description: 'Rates by pair, newest first',
        schema: { type: 'object', properties: { items: { type: 'array', items: rateSchema } } },
      },
      ...problemResponses(400, 401),
    },
  },
  {
    method: 'put',
    path: '/api/exchange-rates/:from/:to/:validFrom',
    operationId: 'putExchangeRate',
    tag: 'CRM: Reports',
    summary: 'Sets the rate of a currency pair from a day on (administrators)',
    params: pathParams,
    body: putRateSchema,
    responses: {
      '200': { description: 'The rate', schema: rateSchema },
      ...problemResponses(400, 401, 403),
    },
  },
  {
    method: 'delete',
    path: '/api/exchange-rates/:from/:to/:validFrom',
    operationId: 'deleteExchangeRate',
    tag: 'CRM: Reports',
    summary: 'Removes one dated rate (administrators)',
    params: pathParams,
    responses: { '204': { description: 'Removed' }, ...problemResponses(401, 403, 404) },
  },
];

/** The path's pair and day, every malformed part reported at its pointer. */
function pathKey(params: Record<string, string>): {
  from: string;
  to: string;
  validFrom: string;
  errors: FieldError[];
} {
  const { from = '', to = '', validFrom = '' } = params;
  const errors: FieldError[] = [];
  if (!CODE.test(from)) errors.push({ pointer: '/path/from', message: 'must be an ISO 4217 code, e.g. EUR' });
  if (!CODE.test(to)) errors.push({ pointer: '/path/to', message: 'must be an ISO 4217 code, e.g. USD' });
  if (!/^\d{4}-\d{2}-\d{2}$/.test(validFrom) || !isCalendarDay(validFrom))
    errors.push({ pointer: '/path/validFrom', message: 'must be a day YYYY-MM-DD of the calendar' });
  return { from, to, validFrom, errors };
}

export function exchangeRateRoutes(ctx: ApiContext): Router {
  const router = Router();

  router.get('/exchange-rates', async (req, res) => {
    permit(callerOf(req), 'exchangeRate', 'read');
    knownQuery(req, listQuery);
    const from = queryString(req, 'from', 3);
    const to = queryString(req, 'to', 3);
    const query = check(listQuery, { ...(from ? { from } : {}), ...(to ? { to } : {}) }, '/query');
    res.json({ items: await listRates(ctx.db, query) });
  });

  router.put('/exchange-rates/:from/:to/:validFrom', async (req, res) => {
    const caller = callerOf(req);
    permit(caller, 'exchangeRate', 'write');
    const key = pathKey(req.params);
    let bodyErrors: FieldError[] = [];
    let rate = 0;
    try {
      rate = check(putRateSchema, req.body ?? {}, '/body').rate;
    } catch (err) {
      if (!(err instanceof ProblemError)) throw err;
      bodyErrors = (err.extensions.errors as FieldError[]) ?? [];
    }
    const errors = [...key.errors, ...bodyErrors];
    if (errors.length > 0) throw ProblemError.badRequest(`The rate has ${errors.length} error(s)`, errors);
    res.json(
      await putRate(ctx.db, { from: key.from, to: key.to, validFrom: key.validFrom, rate }, caller.userId),
    );
  });

  router.delete('/exchange-rates/:from/:to/:validFrom', async (req, res) => {
    permit(callerOf(req), 'exchangeRate', 'write');
    const key = pathKey(req.params);
    if (key.errors.length > 0) throw ProblemError.notFound(`Rate ${key.from}/${key.to}/${key.validFrom}`);
    if (!(await deleteRate(ctx.db, key)))
      throw ProblemError.notFound(`Rate ${key.from}/${key.to}/${key.validFrom}`);
    res.status(204).end();
  });

  return router;
}
