import { Type, type Static } from '@sinclair/typebox';
import { Router, type Request } from 'express';
import { permit, permitQuota, type QuotaSubject } from '../../crm/permissions';
import {
  deleteQuota,
  listQuotas,
  parsePeriod,
  putQuota,
  quotaReport,
  type QuotaFilter,
  type QuotaPeriod,
} from '../../crm/quotas';
import { InvalidInputError } from '../../lib/domain-errors';
import { callerOf } from '../auth';
import type { ApiContext } from '../context';
import { dateTime, problemResponses, type OperationSpec } from '../operation';
import { ProblemError, type FieldError } from '../problem';
import { knownQuery } from '../request-guards';
import { check } from '../validation';
import { toCsv } from '../../crm/reports';
import { isCalendarDay, sendCsv, wantsCsv } from './reports';
import { queryString } from './crm-common';
import { appliedRateSchema } from './exchange-rates';

const periodParam = {
  type: 'string',
  pattern: '^\\d{4}-(0[1-9]|1[0-2]|Q[1-4])$',
  description: 'A calendar month YYYY-MM (2026-12) or quarter YYYY-Qn (2026-Q4)',
};

/** Body of PUT /quotas/{period}/agents/{agentId} and /quotas/{period}/teams/{teamId}. */
const putQuotaSchema = Type.Object(
  {
    amount: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1e12,
      description: 'The target: won amount in the period',
    }),
    currency: Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code of the amount' }),
  },
  { additionalProperties: false },
);

const listQuery = {
  type: 'object',
  properties: {
    period: { ...periodParam, description: `Only this period: ${periodParam.description}` },
    agentId: { type: 'string', maxLength: 200, description: "Only this agent's quotas" },
    teamId: { type: 'string', maxLength: 200, description: "Only this team's quota" },
  },
};

const reportQuery = {
  type: 'object',
  properties: {
    ...listQuery.properties,
    period: periodParam,
    rateDate: {
      type: 'string',
      format: 'date',
      description: 'The day whose exchange rates convert (the latest rate valid on it); default today (UTC)',
    },
    format: {
      type: 'string',
      enum: ['json', 'csv'],
      description: 'Default: from the Accept header (text/csv for CSV)',
    },
  },
  required: ['period'],
};

const quotaSchema = {
  type: 'object',
  properties: {
    period: { type: 'string' },
    agentId: { type: ['string', 'null'], description: "The agent's quota (null for a team's)" },
    teamId: { type: ['string', 'null'], description: "The team's quota (null for an agent's)" },
    amount: { type: 'number' },
    currency: { type: 'string' },
    updatedBy: { type: ['string', 'null'] },
    updatedAt: dateTime,
  },
  required: ['period', 'agentId', 'teamId', 'amount', 'currency', 'updatedAt'],
};

const sums = {
  wonCount: { type: 'integer' },
  wonAmount: { type: 'number' },
  openCount: { type: 'integer' },
  openAmount: { type: 'number' },
  openWeightedAmount: { type: 'number' },
};

const attainmentSchema = {
  type: 'object',
  properties: {
    agentId: { type: ['string', 'null'] },
    agentName: { type: ['string', 'null'] },
    teamId: { type: ['string', 'null'] },
    teamName: { type: ['string', 'null'] },
    target: {
      type: 'object',
      properties: { amount: { type: 'number' }, currency: { type: 'string' } },
      required: ['amount', 'currency'],
    },
    currency: { type: 'string', description: "The quota's currency: every amount of this row is in it" },
    ...sums,
    weightedForecast: {
      type: 'number',
      description: 'wonAmount + openWeightedAmount (won 100 %, lost 0 %, open by probability)',
    },
    attainmentPercent: { type: 'number', description: 'wonAmount / target x 100' },
    projectedAttainmentPercent: { type: 'number', description: 'weightedForecast / target x 100' },
    complete: {
      type: 'boolean',
      description: 'False when deals of some currency could not be converted (see unconverted)',
    },
    unconverted: {
      type: 'array',
      items: { type: 'string' },
      description: "Currencies without a rate into the quota's on rateDate: not in the sums",
    },
    byCurrency: {
      type: 'array',
      description:
        "The deals per currency, unconverted, with the rate that converted them (null: the quota's own currency, or none)",
      items: {
        type: 'object',
        properties: {
          currency: { type: 'string' },
          ...sums,
          rate: { oneOf: [appliedRateSchema, { type: 'null' }] },
          converted: { type: 'boolean' },
        },
        required: ['currency', ...Object.keys(sums), 'rate', 'converted'],
      },
    },
  },
  required: [
    'agentId',
    'teamId',
    'target',
    'currency',
    ...Object.keys(sums),
    'weightedForecast',
    'attainmentPercent',
    'projectedAttainmentPercent',
    'complete',
    'unconverted',
    'byCurrency',
  ],
};

const CSV_COLUMNS = [
  'period',
  'agentId',
  'agentName',
  'teamId',
  'teamName',
  'currency',
  'target',
  'wonCount',
  'wonAmount',
  'openCount',
  'openAmount',
  'openWeightedAmount',
  'weightedForecast',
  'attainmentPercent',
  'projectedAttainmentPercent',
  'complete',
  'unconverted',
] as const;

const quotaCallers =
  'administrators every quota; supervisors the quotas of the teams they supervise and their members; agents their own';

const agentPath = '/api/quotas/:period/agents/:agentId';
const teamPath = '/api/quotas/:period/teams/:teamId';
const agentParams = {
  period: periodParam.description,
  agentId: 'The agent (or supervisor) whose target it is',
};
const teamParams = { period: periodParam.description, teamId: 'The team whose target it is' };

const putDescription =
  'Creates or replaces the target. Administrators set any; supervisors those of the teams they supervise and ' +
  "of those teams' members (not their own); agents and designers none (403). The agent must be an active " +
  'agent or supervisor, the team must exist (400 at the path parameter).';

/** The quota routes, for the OpenAPI document. */
export const quotaOperations: OperationSpec[] = [
  {
    method: 'get',
    path: '/api/quotas',
    operationId: 'listQuotas',
    tag: 'CRM: Reports',
    summary: 'Sales quotas (targets) per agent or team and period',
    description: `Reads: ${quotaCallers}. Naming an agent or team the caller may not read is a 403.`,
    query: listQuery,
    responses: {
      '200': {
        description: 'The quotas, by period, agents first',
        schema: {
          type: 'object',
          properties: { items: { type: 'array', items: quotaSchema } },
          required: ['items'],
        },
      },
      ...problemResponses(400, 401, 403),
    },
  },
  ...(
    [
      ['Agent', agentPath, agentParams],
      ['Team', teamPath, teamParams],
    ] as const
  ).flatMap(([who, path, params]): OperationSpec[] => [
    {
      method: 'put',
      path,
      operationId: `put${who}Quota`,
      tag: 'CRM: Reports',
      summary: `Sets the ${who.toLowerCase()}'s target for a period (administrators, supervisors)`,
      description: putDescription,
      params,
      body: putQuotaSchema,
      responses: {
        '200': { description: 'The quota, replaced', schema: quotaSchema },
        '201': { description: 'The quota, created', schema: quotaSchema },
        ...problemResponses(400, 401, 403),
      },
    },
    {
      method: 'delete',
      path,
      operationId: `delete${who}Quota`,
      tag: 'CRM: Reports',
      summary: `Removes the ${who.toLowerCase()}'s target for a period (administrators, supervisors)`,
      params,
      responses: { '204': { description: 'Removed' }, ...problemResponses(401, 403, 404) },
    },
  ]),
  {
    method: 'get',
    path: '/api/reports/quotas',
    operationId: 'getQuotaReport',
    tag: 'CRM: Reports',
    summary: 'Each quota of a period against the forecast: won, open, weighted, attainment',
    description:
      `Reads: ${quotaCallers}. The figures are the forecast's (GET /api/reports/forecast) for the quota's agent, ` +
      "or the team's members, over the cases whose expected close date (data.expectedCloseDate) is in the " +
      "period, won and open alike: won 100 %, lost 0 %, open by probability. Every amount is in the quota's " +
      'currency: deals of another currency are converted with the exchange-rate table (the rate valid on ' +
      'rateDate, named in byCurrency); a currency without a rate is listed in unconverted, left out of the sums, ' +
      'and complete is false. JSON by default; with `format=csv` or `Accept: text/csv`, a text/csv attachment ' +
      `(quotas.csv), one row per quota with the columns ${CSV_COLUMNS.join(', ')} ` +
      '(unconverted: the currencies separated by spaces).',
    query: reportQuery,
    responses: {
      '200': {
        description: 'The quotas and their attainment, or CSV',
        schema: {
          type: 'object',
          properties: {
            period: { type: 'string' },
            from: { type: 'string', format: 'date' },
            to: { type: 'string', format: 'date' },
            rateDate: { type: 'string', format: 'date' },
            items: { type: 'array', items: attainmentSchema },
          },
          required: ['period', 'from', 'to', 'rateDate', 'items'],
        },
      },
      ...problemResponses(400, 401, 403),
    },
  },
];

/** The subject a quota route names. */
function subjectOf(req: Request): QuotaSubject {
  const { agentId, teamId } = req.params as { agentId?: string; teamId?: string };
  return agentId !== undefined ? { kind: 'agent', id: agentId } : { kind: 'team', id: teamId as string };
}

const subjectPointer = (s: QuotaSubject) => (s.kind === 'agent' ? '/path/agentId' : '/path/teamId');

/** The path's period, a 400 at /path/period when malformed. */
function pathPeriod(req: Request): { period?: QuotaPeriod; errors: FieldError[] } {
  try {
    return { period: parsePeriod(req.params.period as string, '/path/period'), errors: [] };
  } catch (err) {
    if (err instanceof InvalidInputError) return { errors: err.errors };
    throw err;
  }
}

/** `?period=`, `?agentId=`, `?teamId=` of the list and the report. */
function filterOf(req: Request): QuotaFilter {
  const filter: QuotaFilter = {};
  const period = queryString(req, 'period', 7);
  const agentId = queryString(req, 'agentId');
  const teamId = queryString(req, 'teamId');
  if (period !== undefined) filter.period = parsePeriod(period, '/query/period').period;
  if (agentId !== undefined) filter.agentId = agentId;
  if (teamId !== undefined) filter.teamId = teamId;
  return filter;
}

export function quotaRoutes(ctx: ApiContext): Router {
  const router = Router();

  router.get('/quotas', async (req, res) => {
    const caller = callerOf(req);
    permit(caller, 'quota', 'read');
    knownQuery(req, listQuery);
    res.json({ items: await listQuotas(ctx.db, caller, filterOf(req)) });
  });

  for (const path of ['/quotas/:period/agents/:agentId', '/quotas/:period/teams/:teamId']) {
    router.put(path, async (req, res) => {
      const caller = callerOf(req);
      const subject = subjectOf(req);
      permitQuota(caller, 'write', subject);
      const { period, errors } = pathPeriod(req);
      let body: Static<typeof putQuotaSchema> | undefined;
      try {
        body = check(putQuotaSchema, req.body ?? {}, '/body');
      } catch (err) {
        if (!(err instanceof ProblemError)) throw err;
        errors.push(...((err.extensions.errors as FieldError[] | undefined) ?? []));
      }
      if (errors.length > 0 || !period || !body)
        throw ProblemError.badRequest(`The quota has ${errors.length} error(s)`, errors);
      const { quota, created } = await putQuota(
        ctx.db,
        caller,
        subject,
        period,
        { amount: body.amount, currency: body.currency },
        subjectPointer(subject),
      );
      res.status(created ? 201 : 200).json(quota);
    });

    router.delete(path, async (req, res) => {
      const caller = callerOf(req);
      const subject = subjectOf(req);
      permitQuota(caller, 'write', subject);
      const { period } = pathPeriod(req);
      if (!period) throw ProblemError.notFound(`Quota ${req.params.period as string}`);
      await deleteQuota(ctx.db, caller, subject, period);
      res.status(204).end();
    });
  }

  router.get('/reports/quotas', async (req, res) => {
    const caller = callerOf(req);
    permit(caller, 'quota', 'read');
    knownQuery(req, reportQuery);
    const raw = queryString(req, 'period', 7);
    if (raw === undefined)
      throw ProblemError.badRequest('period is required', [
        { pointer: '/query/period', message: 'is required: a month YYYY-MM or a quarter YYYY-Qn' },
      ]);
    const period = parsePeriod(raw, '/query/period');
    const rateDate = queryString(req, 'rateDate', 10);
    if (rateDate !== undefined && !(/^\d{4}-\d{2}-\d{2}$/.test(rateDate) && isCalendarDay(rateDate)))
      throw ProblemError.badRequest('rateDate must be a date', [
        { pointer: '/query/rateDate', message: 'must be a day YYYY-MM-DD of the calendar' },
      ]);
    const { period: _period, ...filter } = filterOf(req);
    const csv = wantsCsv(req);
    const report = await quotaReport(
      ctx.db,
      caller,
      period,
      filter,
      rateDate ?? new Date().toISOString().slice(0, 10),
    );
    if (!csv) {
      res.json(report);
      return;
    }
    const rows = report.items.map((i) =>
      CSV_COLUMNS.map((c) =>
        c === 'period'
          ? report.period
          : c === 'target'
            ? i.target.amount
            : c === 'unconverted'
              ? i.unconverted.join(' ')
              : c === 'complete'
                ? String(i.complete)
                : i[c],
      ),
    );
    sendCsv(res, 'quotas.csv', toCsv([...CSV_COLUMNS], rows));
  });

  return router;
}
