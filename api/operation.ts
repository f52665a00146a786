/**
 * Descriptions of HTTP operations, exported by each route module next to the ajv schemas its handlers
 * validate with; `api/openapi.ts` assembles them into the OpenAPI document, so the two cannot drift.
 */
export type JsonSchema = Record<string, unknown>;

export interface ResponseSpec {
  description: string;
  schema?: JsonSchema;
  /** Defaults to application/json (application/problem+json for 4xx and 5xx). */
  contentType?: string;
}

export interface OperationSpec {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Express path (`/api/tasks/:id`); converted to `{id}` in the document. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  /** False for unauthenticated operations (health, calendar feed, documentation). */
  auth?: boolean;
  /** Schema of `req.query` (all values are strings): each property becomes a query parameter. */
  query?: JsonSchema;
  /** Descriptions of path parameters. */
  params?: Record<string, string>;
  body?: JsonSchema;
  /** Accepts an Idempotency-Key header. */
  idempotent?: boolean;
  responses: Record<string, ResponseSpec>;
  /** Problem type slugs the operation may answer with (besides the generic ones). */
  problems?: string[];
}

export const idString = { type: 'string', minLength: 1, maxLength: 100 } as const;
export const dateTime = { type: 'string', format: 'date-time' } as const;
export const nullableDateTime = { type: ['string', 'null'], format: 'date-time' } as const;

/** An RFC 9457 problem, as every error answers. */
export const problemSchema: JsonSchema = {
  type: 'object',
  properties: {
    type: { type: 'string', format: 'uri', description: 'Stable URI; documented in docs/problems.md' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    code: { type: 'string', description: 'Engine rejection code, for rejected task actions' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          pointer: { type: 'string', description: 'JSON pointer: /body/..., /query/..., /headers/...' },
          message: { type: 'string' },
        },
        required: ['pointer', 'message'],
      },
    },
  },
  required: ['type', 'title', 'status'],
};

const caseRef = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'string' },
  },
  required: ['id', 'type', 'title', 'status'],
};

const taskCommon = {
  id: { type: 'string' },
  caseId: { type: 'string' },
  step: { type: ['string', 'null'], description: 'The definition step; null for ad-hoc tasks' },
  action: { type: 'string', description: 'Action type: call, visit, email, ...' },
  title: { type: 'string' },
  status: { enum: ['open', 'completed', 'cancelled'] },
  assignee: { type: ['string', 'null'] },
  candidateTeams: { type: 'array', items: { type: 'string' } },
  candidateRoles: { type: 'array', items: { type: 'string' } },
  priority: { enum: ['low', 'normal', 'high', 'urgent'] },
  dueAt: nullableDateTime,
  followUpAt: nullableDateTime,
  overdue: { type: 'boolean' },
  createdAt: dateTime,
  claimedAt: nullableDateTime,
  completedAt: nullableDateTime,
  completedBy: { type: ['string', 'null'] },
  outcome: { type: ['string', 'null'] },
  delegatedBy: { type: ['string', 'null'] },
  escalationLevel: { type: 'integer' },
  onHold: {
    type: 'boolean',
    description: 'On hold, by itself or with its case: it cannot be claimed or completed',
  },
  onHoldSince: nullableDateTime,
  case: caseRef,
  entityName: { type: ['string', 'null'] },
  version: { type: 'integer' },
};

/** A task with everything (GET /api/tasks/:id and action answers). */
export const taskSchema: JsonSchema = {
  type: 'object',
  properties: {
    ...taskCommon,
    description: { type: ['string', 'null'] },
    formData: { type: ['object', 'null'] },
    notes: { type: ['string', 'null'] },
    comments: {
      type: 'array',
      items: {
        type: 'object',
        properties: { at: { type: 'number' }, by: { type: 'string' }, text: { type: 'string' } },
      },
    },
  },
  required: ['id', 'caseId', 'title', 'status', 'assignee', 'priority', 'case', 'version'],
};

/** A task as an inbox row: what an agent needs without more calls. */
export const inboxItemSchema: JsonSchema = {
  type: 'object',
  properties: { ...taskCommon, commentCount: { type: 'integer' } },
  required: ['id', 'caseId', 'title', 'status', 'assignee', 'priority', 'case', 'version'],
};

/** A case as `caseView` (api/views.ts) shows it, in the CRM routes' case lists and reports. */
export const caseViewSchema: JsonSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    caseType: { type: 'string' },
    definitionVersion: { type: 'integer' },
    title: { type: 'string' },
    status: { type: 'string' },
    statusCategory: { type: 'string' },
    entity: {
      type: ['object', 'null'],
      properties: { id: { type: 'string' }, name: { type: ['string', 'null'] } },
    },
    ownerId: { type: ['string', 'null'] },
    parentCaseId: { type: ['string', 'null'] },
    businessKey: {
      type: ['string', 'null'],
      description: "The case type's business key field as text (messages correlate by it); null without one",
    },
    data: { type: 'object' },
    lines: { type: 'array', items: { type: 'object' } },
    currentSteps: { type: 'array', items: { type: 'string' } },
    createdAt: dateTime,
    updatedAt: dateTime,
    endedAt: nullableDateTime,
    version: { type: 'integer' },
    suspended: {
      type: ['object', 'null'],
      description: 'On hold since `at`, put there by `by`; null when not on hold',
      properties: { at: dateTime, by: { type: ['string', 'null'] } },
    },
    amountCorrected: {
      type: ['number', 'null'],
      description:
        "A closed deal's corrected amount (POST /api/cases/:id/amount-correction), which the figures count instead of data.amount; null when never corrected",
    },
  },
};

/** A case as GET /api/cases/:id and the case actions answer: its view, status name, tasks and timeline. */
export const caseDetailSchema: JsonSchema = {
  type: 'object',
  properties: {
    ...(caseViewSchema.properties as Record<string, JsonSchema>),
    entity: {
      type: ['object', 'null'],
      properties: { id: { type: 'string' }, name: { type: ['string', 'null'] } },
      required: ['id', 'name'],
    },
    data: {
      type: 'object',
      additionalProperties: true,
      description: "The case's data, as its fields describe",
    },
    lines: {
      type: 'array',
      items: { type: 'object', additionalProperties: true },
      description: "The case's lines, as the case type's `lines` describe",
    },
    statusName: { type: 'string', description: "The status's name in the case type" },
    probability: {
      type: ['number', 'null'],
      description: "The case's own probability, else its status's; null when neither has one",
    },
    tasks: {
      type: 'array',
      description: 'Every task of the case, oldest first',
      items: {
        type: 'object',
        properties: {
          ...(taskSchema.properties as Record<string, JsonSchema>),
          actionable: { type: 'boolean', description: 'Whether the caller may open and act on it' },
        },
        required: [...(taskSchema.required as string[]), 'actionable'],
      },
    },
    timeline: {
      type: 'array',
      description: 'The first 1000 entries, oldest first',
      items: {
        type: 'object',
        properties: {
          seq: { type: 'integer' },
          at: dateTime,
          kind: { type: 'string', description: 'case.started, task.created, status.changed, ...' },
          actor: { type: ['string', 'null'], description: 'User id; null for the engine' },
          taskId: { type: ['string', 'null'] },
          detail: { description: 'What the entry records; its shape depends on `kind`' },
        },
        required: ['seq', 'at', 'kind', 'actor', 'taskId'],
      },
    },
  },
  required: [
    'id',
    'caseType',
    'definitionVersion',
    'title',
    'status',
    'statusName',
    'statusCategory',
    'probability',
    'entity',
    'ownerId',
    'parentCaseId',
    'data',
    'lines',
    'currentSteps',
    'createdAt',
    'updatedAt',
    'endedAt',
    'version',
    'tasks',
    'timeline',
  ],
};

export const problemResponses = (...statuses: number[]): Record<string, ResponseSpec> =>
  Object.fromEntries(
    statuses.map((s) => [
      String(s),
      { description: PROBLEM_DESCRIPTIONS[s] ?? 'Problem', schema: problemSchema },
    ]),
  );

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request (validation-error, with a JSON pointer per error)',
  401: 'Missing, unknown or revoked token',
  403: 'The caller may see the object but not do this',
  404: 'Unknown, or not visible to the caller',
  409: 'Conflict with the current state (body carries the current task for task actions)',
  413: 'Body larger than the configured limit',
  422: 'Idempotency-Key reused for a different request',
  503: 'The case engine did not answer in time; retry with the same Idempotency-Key',
};
