import { randomUUID } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import express, { Router, type Request } from 'express';
import { WorkflowNotFoundError } from '@temporalio/client';
import { latestDefinition } from '../../db/definitions';
import {
  addTargetsFromRows,
  campaignCaseData,
  addTargetsFromSegment,
  campaignProgress,
  campaignResults,
  checkGoal,
  type CampaignView,
} from '../../crm/campaigns';
import {
  findCampaign,
  insertCampaign,
  listCampaignTargets,
  listCampaigns,
  pinCampaignDefinitionVersion,
  setCampaignStatus,
  updateCampaign,
} from '../../crm/campaign-store';
import { findSegment, loadSegmentPredicate } from '../../crm/segment-store';
import { readCsv, readXlsx } from '../../crm/spreadsheet';
import {
  CAMPAIGN_WORKFLOW_TYPE,
  campaignWorkflowId,
  pauseCampaignSignal,
  resumeCampaignSignal,
  startCampaignSignal,
  type CampaignWorkflowInput,
} from '../../workflows/campaign-messages';
import { permit } from '../../crm/permissions';
import { callerOf } from '../auth';
import type { ApiContext } from '../context';
import { dateTime, nullableDateTime, problemResponses, type OperationSpec } from '../operation';
import { asProblem, ProblemError, type FieldError } from '../problem';
import { check, fieldErrors, validatorFor } from '../validation';
import { flag, pageLimit, textBody } from './crm-common';
import { AnyObject } from '../../cases/content-schema';
import { appliedRateSchema } from './exchange-rates';

const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const DATE = Type.Unsafe<string | null>({ type: ['string', 'null'], format: 'date' });
const amount = Type.Number({ minimum: 0, maximum: 1e12 });
const count = (description: string) => Type.Optional(Type.Integer({ minimum: 0, description }));

/** What a campaign aims at (a body's goal, and the campaign's as GET shows it). */
const goalSchema = Type.Object(
  {
    leads: count('Leads (qualified target cases and other leads)'),
    opportunities: count('Opportunities opened'),
    opportunitiesWon: count('Opportunities won'),
    wonAmount: Type.Optional(
      Type.Number({ minimum: 0, maximum: 1e12, description: 'Won amount, in currency' }),
    ),
    currency: Type.Optional(
      Type.String({
        pattern: '^[A-Z]{3}$',
        description: "ISO 4217 code of wonAmount (only with it); default the campaign's currency",
      }),
    ),
    text: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  {
    description:
      'What the campaign aims at; the results answer each against its actual figure. A PATCH replaces the whole goal.',
    additionalProperties: false,
  },
);

const name = Type.String({ minLength: 1, maxLength: 200 });
/** The fields of a campaign other than its name, all optional in both bodies. */
const otherFields = {
  description: Type.Optional(Type.Unsafe<string | null>({ type: ['string', 'null'], maxLength: 5000 })),
  startsOn: Type.Optional(DATE),
  endsOn: Type.Optional(DATE),
  goal: Type.Optional(goalSchema),
  budget: Type.Optional(amount),
  actualCost: Type.Optional(amount),
  currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$' })),
  caseType: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  caseData: Type.Optional(AnyObject),
  segmentId: Type.Optional(
    Type.Unsafe<string | null>({ type: ['string', 'null'], minLength: 1, maxLength: 100 }),
  ),
  batchSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  ratePerSecond: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 10000 })),
};
const createSchema = Type.Object({ name, ...otherFields }, { additionalProperties: false });
const patchSchema = Type.Object(
  { name: Type.Optional(name), ...otherFields },
  { additionalProperties: false },
);

/** What a POST or PATCH body sets (a POST's has the name). */
type CampaignBody = Static<typeof patchSchema>;

/** JSON body of POST /campaigns/:id/targets (the other bodies it takes are spreadsheets). */
export const segmentTargetsSchema = Type.Object(
  { segmentId: Type.String({ minLength: 1 }) },
  { additionalProperties: false },
);

/** `?limit=` as `pageLimit` reads it. */
const limitParam = (fallback: number) => ({
  type: 'string',
  pattern: '^[0-9]{1,6}$',
  description: `Page size (default ${fallback}; clamped to 1..the server's maximum page size)`,
});

/** Query of GET /campaigns (read by `pageLimit`, not validated by a schema). */
export const campaignListQuerySchema = { type: 'object', properties: { limit: limitParam(50) } };

/** Query of GET /campaigns/:id/targets (read by `pageLimit`). */
export const targetListQuerySchema = { type: 'object', properties: { limit: limitParam(100) } };

/** Query of POST /campaigns/:id/targets (read by `flag`). */
export const addTargetsQuerySchema = {
  type: 'object',
  properties: {
    acceptValid: {
      enum: ['true', '1', 'false', '0'],
      description: 'Add the valid rows of a spreadsheet even when others are wrong (default false)',
    },
  },
};

const nullableString = { type: ['string', 'null'] };
const nullableNumber = { type: ['number', 'null'] };

/** A campaign as `campaignView` shows it. */
const campaignProperties = {
  id: { type: 'string' },
  name: { type: 'string' },
  description: nullableString,
  startsOn: DATE,
  endsOn: DATE,
  goal: goalSchema,
  budget: { type: 'number' },
  actualCost: { type: 'number' },
  currency: { type: 'string' },
  caseType: { type: 'string' },
  definitionVersion: {
    type: ['integer', 'null'],
    description: 'Version of the case type pinned at the first start; null before',
  },
  caseData: { type: 'object' },
  segmentId: nullableString,
  status: { enum: ['draft', 'running', 'paused', 'completed'] },
  batchSize: { type: 'integer' },
  ratePerSecond: { type: 'number' },
  startedAt: nullableDateTime,
  completedAt: nullableDateTime,
  createdBy: nullableString,
  createdAt: dateTime,
  updatedAt: dateTime,
};
const campaignRequired = ['id', 'name', 'caseType', 'status', 'createdAt', 'updatedAt'];
const campaignSchema = { type: 'object', properties: campaignProperties, required: campaignRequired };

/** `campaignProgress`: the targets by state, and how many of their cases exist. */
const progressSchema = {
  type: 'object',
  properties: {
    targets: { type: 'integer' },
    pending: { type: 'integer' },
    started: { type: 'integer' },
    failed: { type: 'integer' },
    casesCreated: { type: 'integer' },
  },
  required: ['targets', 'pending', 'started', 'failed', 'casesCreated'],
};

/** A goal against its actual figure. */
const countGoalProperties = {
  goal: { type: 'number' },
  actual: { type: 'number' },
  percent: { ...nullableNumber, description: 'actual / goal x 100, two decimals; null for a goal of 0' },
};
const countGoalSchema = {
  type: 'object',
  properties: countGoalProperties,
  required: ['goal', 'actual', 'percent'],
};

/** `campaignResults`: results against the budget and the goals. */
const resultsSchema = {
  type: 'object',
  properties: {
    leads: { type: 'integer' },
    opportunitiesOpened: { type: 'integer' },
    opportunitiesWon: { type: 'integer' },
    currency: { type: 'string', description: "The campaign's currency: wonAmount, budget, cost and ROI" },
    wonAmount: {
      type: 'number',
      description:
        "Won amount in the campaign's currency: its own and those an exchange rate converts (never another currency added)",
    },
    wonByCurrency: {
      type: 'array',
      description: "Won opportunities per currency, as they are, with the rate into the campaign's currency",
      items: {
        type: 'object',
        properties: {
          currency: { type: 'string' },
          count: { type: 'integer' },
          amount: { type: 'number' },
          rate: { oneOf: [appliedRateSchema, { type: 'null' }] },
          converted: { type: 'boolean' },
        },
        required: ['currency', 'count', 'amount', 'rate', 'converted'],
      },
    },
    complete: { type: 'boolean', description: 'False when some won amount has no rate (see unconverted)' },
    unconverted: {
      type: 'array',
      items: { type: 'string' },
      description: "Currencies without a rate into the campaign's: not in wonAmount or roi",
    },
    rateDate: { type: 'string', format: 'date', description: 'The day whose rates converted (today, UTC)' },
    budget: { type: 'number' },
    actualCost: { type: 'number' },
    costPerLead: nullableNumber,
    roi: { ...nullableNumber, description: '(won amount - actual cost) / actual cost' },
    budgetUsed: { ...nullableNumber, description: 'Actual cost / budget' },
    goals: {
      type: 'object',
      description:
        'Each goal the campaign sets against its actual figure; budget (when set) against the actual cost',
      properties: {
        leads: countGoalSchema,
        opportunities: countGoalSchema,
        opportunitiesWon: countGoalSchema,
        wonAmount: {
          type: 'object',
          description:
            "In the goal's currency: won amounts a rate converts count; those without a rate are listed in unconverted, as they are, and detail says so",
          properties: {
            ...countGoalProperties,
            currency: { type: 'string' },
            complete: { type: 'boolean' },
            unconverted: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  currency: { type: 'string' },
                  count: { type: 'integer' },
                  amount: { type: 'number' },
                },
                required: ['currency', 'count', 'amount'],
              },
            },
            detail: { type: 'string' },
            rates: { type: 'array', items: appliedRateSchema },
          },
          required: ['goal', 'actual', 'percent', 'currency', 'complete', 'unconverted'],
        },
        budget: {
          type: 'object',
          properties: { ...countGoalProperties, currency: { type: 'string' } },
          required: ['goal', 'actual', 'percent', 'currency'],
        },
        text: { type: 'string' },
      },
    },
  },
  required: [
    'leads',
    'opportunitiesOpened',
    'opportunitiesWon',
    'currency',
    'wonAmount',
    'wonByCurrency',
    'complete',
    'unconverted',
    'rateDate',
    'budget',
    'actualCost',
    'goals',
  ],
};

/** What adding targets answers: `addTargetsFromSegment`, or `addTargetsFromRows` (with the rejected rows). */
const targetImportSchema = {
  type: 'object',
  properties: {
    result: { enum: ['added', 'unchanged'] },
    added: { type: 'integer' },
    alreadyTargets: { type: 'integer' },
    rejected: { type: 'integer', description: 'Spreadsheets only: rows not added (with acceptValid)' },
    errors: {
      type: 'array',
      description: 'Spreadsheets only: the rows not added',
      items: {
        type: 'object',
        properties: { line: { type: 'integer' }, pointer: { type: 'string' }, message: { type: 'string' } },
        required: ['line', 'pointer', 'message'],
      },
    },
    duplicates: {
      type: 'array',
      description: 'Spreadsheets only: rows repeating an earlier line',
      items: {
        type: 'object',
        properties: { line: { type: 'integer' }, sameAs: { type: 'integer' } },
        required: ['line', 'sameAs'],
      },
    },
  },
  required: ['result', 'added', 'alreadyTargets'],
};

const targetSchema = {
  type: 'object',
  properties: {
    entity: {
      type: 'object',
      properties: {
        id: { type: 'string' },
        kind: { enum: ['EN', 'CL', 'PR'] },
        code: { type: 'string' },
        name: { type: 'string' },
      },
      required: ['id', 'kind', 'code', 'name'],
    },
    caseId: { type: 'string', description: 'The id the target case has (or will have)' },
    source: {
      type: 'string',
      description: 'Where the target came from: segment:<id>, xlsx[:file], csv[:file]',
    },
    state: { enum: ['pending', 'started', 'failed'] },
    error: nullableString,
    addedAt: dateTime,
    startedAt: nullableDateTime,
    caseStatus: nullableString,
    caseStatusCategory: nullableString,
  },
  required: ['entity', 'caseId', 'source', 'state'],
};

const CASE_SETUP_NOTE =
  'The case type (default campaign-follow-up) must be published, and the case data must fit its fields.';

export const campaignOperations: OperationSpec[] = [
  {
    method: 'post',
    path: '/api/campaigns',
    operationId: 'createCampaign',
    tag: 'CRM: Campaigns',
    summary: 'Creates a draft campaign (supervisors and administrators)',
    description: `${CASE_SETUP_NOTE} segmentId must name a saved segment.`,
    body: createSchema,
    responses: {
      '201': { description: 'The campaign (Location: its URL)', schema: campaignSchema },
      ...problemResponses(400, 401, 403),
    },
  },
  {
    method: 'get',
    path: '/api/campaigns',
    operationId: 'listCampaigns',
    tag: 'CRM: Campaigns',
    summary: 'The campaigns, newest first',
    description: 'One page of at most limit campaigns; no cursor.',
    query: campaignListQuerySchema,
    responses: {
      '200': {
        description: 'Campaigns',
        schema: {
          type: 'object',
          properties: { items: { type: 'array', items: campaignSchema } },
          required: ['items'],
        },
      },
      ...problemResponses(400, 401),
    },
  },
  {
    method: 'get',
    path: '/api/campaigns/:id',
    operationId: 'getCampaign',
    tag: 'CRM: Campaigns',
    summary: 'One campaign with its start progress and its results against the budget',
    params: { id: 'Campaign id' },
    responses: {
      '200': {
        description: 'The campaign',
        schema: {
          type: 'object',
          properties: { ...campaignProperties, progress: progressSchema, results: resultsSchema },
          required: [...campaignRequired, 'progress', 'results'],
        },
      },
      ...problemResponses(401, 404),
    },
  },
  {
    method: 'get',
    path: '/api/campaigns/:id/results',
    operationId: 'getCampaignResults',
    tag: 'CRM: Campaigns',
    summary:
      "A campaign's results against its goals: leads, opportunities, won amount (per currency), cost per lead, ROI, budget used",
    params: { id: 'Campaign id' },
    responses: {
      '200': { description: 'The results', schema: resultsSchema },
      ...problemResponses(401, 404),
    },
  },
  {
    method: 'patch',
    path: '/api/campaigns/:id',
    operationId: 'updateCampaign',
    tag: 'CRM: Campaigns',
    summary: 'Changes fields of a campaign (supervisors and administrators)',
    description: `The case type and case data can only change while the campaign is a draft. ${CASE_SETUP_NOTE}`,
    params: { id: 'Campaign id' },
    body: patchSchema,
    responses: {
      '200': { description: 'The campaign', schema: campaignSchema },
      ...problemResponses(400, 401, 403, 404, 409),
    },
    problems: ['campaign-started'],
  },
  {
    method: 'post',
    path: '/api/campaigns/:id/targets',
    operationId: 'addCampaignTargets',
    tag: 'CRM: Campaigns',
    summary:
      'Adds targets to a campaign from a saved segment or a spreadsheet (supervisors and administrators)',
    description:
      'Send {"segmentId"} as JSON (a segment id or name), or a spreadsheet as the body: ' +
      '.xlsx (application/vnd.openxmlformats-officedocument.spreadsheetml.sheet or application/octet-stream) ' +
      'or text/csv, with a header row naming the columns type (EN, CL or PR) and code, at most 20 MB and ' +
      "100000 rows; an X-Filename header is kept in the targets' source. When any row is wrong nothing is " +
      'added and the 400 lists every wrong line, unless acceptValid=true. Idempotent: targets already there ' +
      'are not added again (result "unchanged").',
    params: { id: 'Campaign id' },
    query: addTargetsQuerySchema,
    body: segmentTargetsSchema,
    responses: {
      '200': { description: 'What was added', schema: targetImportSchema },
      ...problemResponses(400, 401, 403, 404, 413, 415),
    },
    problems: ['too-many-rows', 'unsupported-media-type'],
  },
  {
    method: 'get',
    path: '/api/campaigns/:id/targets',
    operationId: 'listCampaignTargets',
    tag: 'CRM: Campaigns',
    summary: "A campaign's targets with the state of their cases, by entity id",
    description: 'One page of at most limit targets; no cursor.',
    params: { id: 'Campaign id' },
    query: targetListQuerySchema,
    responses: {
      '200': {
        description: 'Targets',
        schema: {
          type: 'object',
          properties: { items: { type: 'array', items: targetSchema } },
          required: ['items'],
        },
      },
      ...problemResponses(400, 401, 404),
    },
  },
  {
    method: 'post',
    path: '/api/campaigns/:id/start',
    operationId: 'startCampaign',
    tag: 'CRM: Campaigns',
    summary: 'Starts or resumes a campaign: one case per target (supervisors and administrators)',
    description:
      'Long-running: the cases are started in the background through Temporal, in batches and rate-limited; ' +
      'follow the progress with GET /api/campaigns/{id}. Pins the case type version at the first start and, ' +
      'when the campaign has no targets, adds those of its segment. Idempotent: a running start is joined and ' +
      "started targets are not started again. Takes no body: a stored setup that no longer holds is a 409 campaign-not-startable pointing at the campaign's fields.",
    params: { id: 'Campaign id' },
    responses: {
      '202': {
        description: 'The campaign with its progress when the start was requested (Location: the campaign)',
        schema: {
          type: 'object',
          properties: { ...campaignProperties, progress: progressSchema },
          required: [...campaignRequired, 'progress'],
        },
      },
      ...problemResponses(401, 403, 404, 409),
    },
    problems: ['no-targets', 'campaign-not-startable'],
  },
  {
    method: 'post',
    path: '/api/campaigns/:id/pause',
    operationId: 'pauseCampaign',
    tag: 'CRM: Campaigns',
    summary:
      "Pauses a running campaign's start: no more target cases start until resumed (supervisors and administrators)",
    description: 'Takes no body.',
    params: { id: 'Campaign id' },
    responses: {
      '200': { description: 'The campaign, paused', schema: campaignSchema },
      ...problemResponses(401, 403, 404, 409),
    },
    problems: ['campaign-not-running'],
  },
  {
    method: 'post',
    path: '/api/campaigns/:id/resume',
    operationId: 'resumeCampaign',
    tag: 'CRM: Campaigns',
    summary: "Resumes a paused campaign's start of target cases (supervisors and administrators)",
    description: 'Takes no body.',
    params: { id: 'Campaign id' },
    responses: {
      '200': { description: 'The campaign, running', schema: campaignSchema },
      ...problemResponses(401, 403, 404, 409),
    },
    problems: ['campaign-not-running'],
  },
];

/** The case type of a campaign is the follow-up unless configured. */
export const DEFAULT_CAMPAIGN_CASE_TYPE = 'campaign-follow-up';

async function load(ctx: ApiContext, id: string): Promise<CampaignView> {
  const campaign = await findCampaign(ctx.db, id);
  if (!campaign) throw ProblemError.notFound(`Campaign ${id}`);
  return campaign;
}

const CASE_DATA = '/body/caseData';

/**
 * Where the request sent what an error of the cases' data is about. Values of `caseData` the request sent (and
 * missing required ones) keep their pointer; the subject taken from the name points at `/body/name`; the
 * campaign id every case carries, and case data stored earlier, point at the case type that refuses them.
 */
function requestPointer(e: FieldError, body: CampaignBody): FieldError {
  const segment = e.pointer.startsWith(`${CASE_DATA}/`)
    ? e.pointer.slice(CASE_DATA.length + 1).split('/')[0]
    : '';
  const key = (segment ?? '').replace(/~1/g, '/').replace(/~0/g, '~');
  if (key === '' || e.message === 'is required') return e;
  if (key !== 'campaignId' && body.caseData !== undefined && key in body.caseData) return e;
  if (key === 'subject' && body.name !== undefined && body.caseData?.subject === undefined)
    return { pointer: '/body/name', message: `${e.message} (the subject of the cases)` };
  if (body.caseType === undefined) return e;
  const what = key === 'campaignId' ? 'the campaignId every campaign case carries' : `the campaign's ${key}`;
  return { pointer: '/body/caseType', message: `does not accept ${what}: ${e.message}` };
}

/** Checks that the case type is published and that the campaign's case data fits its fields. */
async function checkCaseSetup(
  ctx: ApiContext,
  body: CampaignBody,
  name: string,
  caseType: string,
  caseData: Record<string, unknown>,
) {
  const stored = await latestDefinition(ctx.db, caseType);
  if (!stored)
    throw ProblemError.badRequest(`Unknown case type "${caseType}"`, [
      { pointer: '/body/caseType', message: 'is not a published case type' },
    ]);
  const fieldsSchema = stored.definition.fields;
  if (fieldsSchema) {
    const data = campaignCaseData({ id: 'campaign-id', name, case_data: caseData }, fieldsSchema as never);
    const validate = validatorFor(fieldsSchema);
    if (!validate(data)) {
      const errors = fieldErrors(validate.errors, CASE_DATA).map((e) => requestPointer(e, body));
      throw ProblemError.badRequest(
        `The data of the "${caseType}" cases has ${errors.length} error(s)`,
        errors,
      );
    }
  }
  return stored;
}

/**
 * Runs a check of the campaign's stored setup for `POST /api/campaigns/:id/start`, which has no body: what the
 * check would report at `/body/...` is the campaign's own field, so it answers 409 campaign-not-startable with
 * pointers into the campaign as GET /api/campaigns/{id} shows it (`/caseType`, `/caseData/...`, `/segmentId`).
 */
async function storedSetup<T>(check: () => Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (err) {
    const problem = asProblem(err);
    if (!problem || problem.status !== 400) throw err;
    const errors = ((problem.extensions.errors as FieldError[] | undefined) ?? []).map((e) => ({
      ...e,
      pointer: e.pointer.replace(/^\/body(?=\/|$)/, ''),
    }));
    throw new ProblemError(
      409,
      'campaign-not-startable',
      'The campaign cannot start as it is',
      problem.message,
      {
        errors,
      },
    );
  }
}

async function checkSegment(ctx: ApiContext, segmentId: string | null | undefined): Promise<void> {
  if (segmentId && !(await findSegment(ctx.db, segmentId)))
    throw ProblemError.badRequest('Unknown segment', [
      { pointer: '/body/segmentId', message: 'is not a saved segment' },
    ]);
}

/** 400 when the campaign would end before it starts, at the date the request sent (endsOn when it sent both). */
function checkDates(body: CampaignBody, current?: CampaignView): void {
  const startsOn = body.startsOn !== undefined ? body.startsOn : current?.startsOn;
  const endsOn = body.endsOn !== undefined ? body.endsOn : current?.endsOn;
  if (!startsOn || !endsOn || endsOn >= startsOn) return;
  const error: FieldError =
    body.endsOn === undefined
      ? { pointer: '/body/startsOn', message: `is after the end of the campaign, ${endsOn}` }
      : {
          pointer: '/body/endsOn',
          message:
            body.startsOn === undefined
              ? `is before the start of the campaign, ${startsOn}`
              : 'is before startsOn',
        };
  throw ProblemError.badRequest('The campaign ends before it starts', [error]);
}

export function campaignRoutes(ctx: ApiContext): Router {
  const router = Router();

  router.post('/campaigns', async (req, res) => {
    const caller = callerOf(req);
    permit(caller, 'campaign', 'write');
    const body = check(createSchema, req.body ?? {}, '/body');
    checkGoal(body.goal, '/body/goal');
    checkDates(body);
    const caseType = body.caseType ?? DEFAULT_CAMPAIGN_CASE_TYPE;
    await checkCaseSetup(ctx, body, body.name, caseType, body.caseData ?? {});
    await checkSegment(ctx, body.segmentId);
    const id = `cmp-${randomUUID()}`;
    await insertCampaign(ctx.db, id, caller.userId, { ...body, caseType });
    res
      .status(201)
      .location(`/api/campaigns/${id}`)
      .json(await load(ctx, id));
  });

  router.get('/campaigns', async (req, res) => {
    permit(callerOf(req), 'campaign', 'read');
    res.json({ items: await listCampaigns(ctx.db, pageLimit(req, 50, ctx.maxPageSize)) });
  });

  /** The campaign with its start progress and its results against the budget. */
  router.get('/campaigns/:id', async (req, res) => {
    permit(callerOf(req), 'campaign', 'read');
    const campaign = await load(ctx, req.params.id);
    res.json({
      ...campaign,
      progress: await campaignProgress(ctx.db, campaign.id),
      results: await campaignResults(ctx.db, campaign),
    });
  });

  router.get('/campaigns/:id/results', async (req, res) => {
    permit(callerOf(req), 'campaign', 'read');
    const campaign = await load(ctx, req.params.id);
    res.json(await campaignResults(ctx.db, campaign));
  });

  router.patch('/campaigns/:id', async (req, res) => {
    permit(callerOf(req), 'campaign', 'write');
    const body = check(patchSchema, req.body ?? {}, '/body');
    checkGoal(body.goal, '/body/goal');
    const current = await load(ctx, req.params.id);
    checkDates(body, current);
    if ((body.caseType !== undefined || body.caseData !== undefined) && current.status !== 'draft')
      throw new ProblemError(
        409,
        'campaign-started',
        'The campaign has started',
        'The case type and data are fixed once a campaign starts',
      );
    if (body.caseType !== undefined || body.caseData !== undefined || body.name !== undefined)
      await checkCaseSetup(
        ctx,
        body,
        body.name ?? current.name,
        body.caseType ?? current.caseType,
        body.caseData ?? current.caseData,
      );
    await checkSegment(ctx, body.segmentId);
    await updateCampaign(ctx.db, current.id, body);
    res.json(await load(ctx, current.id));
  });

  /**
   * Adds targets: an `.xlsx` or `.csv` file (columns type EN/CL/PR and code), or `{"segmentId"}` in JSON.
   * Wrong rows are reported line by line and nothing is added, unless `?acceptValid=true`.
   * Adding the same targets again adds nothing and says "unchanged".
   */
  router.post(
    '/campaigns/:id/targets',
    express.raw({ type: [XLSX_TYPE, 'application/octet-stream'], limit: '20mb' }),
    express.text({ type: ['text/csv', 'application/csv'], limit: '20mb' }),
    async (req: Request, res) => {
      permit(callerOf(req), 'campaign', 'write');
      const acceptValid = flag(req, 'acceptValid');
      const campaign = await load(ctx, req.params.id as string);
      if (req.is('application/json')) {
        const body = check(segmentTargetsSchema, req.body ?? {}, '/body');
        const params: unknown[] = [];
        const predicate = await loadSegmentPredicate(ctx.db, body.segmentId, params, '/body/segmentId');
        res.json(
          await addTargetsFromSegment(ctx.db, campaign.id, predicate, params, `segment:${body.segmentId}`),
        );
        return;
      }
      let rows;
      let source: string;
      if (Buffer.isBuffer(req.body)) {
        rows = await readXlsx(req.body);
        source = 'xlsx';
      } else if (typeof req.body === 'string') {
        rows = readCsv(textBody(req, ['text/csv']));
        source = 'csv';
      } else {
        throw new ProblemError(
          415,
          'unsupported-media-type',
          'Unsupported media type',
          `Send ${XLSX_TYPE}, text/csv or application/json`,
        );
      }
      const name = req.get('x-filename');
      const result = await addTargetsFromRows(
        ctx.db,
        campaign.id,
        rows,
        name ? `${source}:${name.slice(0, 200)}` : source,
        acceptValid,
      );
      res.json(result);
    },
  );

  router.get('/campaigns/:id/targets', async (req, res) => {
    permit(callerOf(req), 'campaign', 'read');
    const campaign = await load(ctx, req.params.id);
    res.json({ items: await listCampaignTargets(ctx.db, campaign.id, pageLimit(req, 100, ctx.maxPageSize)) });
  });

  /**
   * Starts (or resumes) the campaign: one case per target through Temporal, batched and rate-limited.
   * Idempotent: a running start is joined, started targets are not started again. Progress: GET the campaign.
   */
  router.post('/campaigns/:id/start', async (req, res) => {
    permit(callerOf(req), 'campaign', 'write');
    const campaign = await load(ctx, req.params.id);
    if (campaign.definitionVersion === null) {
      const stored = await storedSetup(() =>
        checkCaseSetup(ctx, {}, campaign.name, campaign.caseType, campaign.caseData),
      );
      await pinCampaignDefinitionVersion(ctx.db, campaign.id, stored.version);
    }
    let progress = await campaignProgress(ctx.db, campaign.id);
    if (progress.targets === 0 && campaign.segmentId) {
      const params: unknown[] = [];
      const segmentId = campaign.segmentId;
      const predicate = await storedSetup(() =>
        loadSegmentPredicate(ctx.db, segmentId, params, '/body/segmentId'),
      );
      await addTargetsFromSegment(ctx.db, campaign.id, predicate, params, `segment:${campaign.segmentId}`);
      progress = await campaignProgress(ctx.db, campaign.id);
    }
    if (progress.targets === 0)
      throw new ProblemError(
        409,
        'no-targets',
        'The campaign has no targets',
        'Add targets from a spreadsheet or a segment first',
      );
    const input: CampaignWorkflowInput = { campaignId: campaign.id };
    // Joins a running start (which then looks for pending targets again before it finishes), or starts one.
    await ctx.client.workflow.signalWithStart(CAMPAIGN_WORKFLOW_TYPE, {
      workflowId: campaignWorkflowId(campaign.id),
      taskQueue: ctx.taskQueue,
      args: [input],
      signal: startCampaignSignal,
    });
    res
      .status(202)
      .location(`/api/campaigns/${campaign.id}`)
      .json({ ...(await load(ctx, campaign.id)), progress });
  });

  for (const [action, signal, status] of [
    ['pause', pauseCampaignSignal, 'paused'],
    ['resume', resumeCampaignSignal, 'running'],
  ] as const) {
    router.post(`/campaigns/:id/${action}`, async (req, res) => {
      permit(callerOf(req), 'campaign', 'write');
      const campaign = await load(ctx, req.params.id as string);
      try {
        await ctx.client.workflow.getHandle(campaignWorkflowId(campaign.id)).signal(signal);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError)
          throw new ProblemError(
            409,
            'campaign-not-running',
            'The campaign is not running',
            `Campaign ${campaign.id} is ${campaign.status}`,
          );
        throw err;
      }
      await setCampaignStatus(ctx.db, campaign.id, status);
      res.json(await load(ctx, campaign.id));
    });
  }

  return router;
}
