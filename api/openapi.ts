/**
 * The OpenAPI 3.1 document, assembled from the operation descriptions each route module exports next to
 * the ajv schemas its handlers validate with. Routes registered without a description still appear
 * (marked `x-undocumented`), found by walking the Express router, so the document lists every route.
 */
import { PROBLEM_BASE } from './problem';
import {
  caseDetailSchema,
  problemResponses,
  problemSchema,
  taskSchema,
  type JsonSchema,
  type OperationSpec,
} from './operation';
import { accountOperations } from './routes/account';
import { attachmentOperations } from './routes/attachments';
import { calendarOperations } from './routes/calendar';
import { campaignOperations } from './routes/campaigns';
import { caseListOperations } from './routes/case-list';
import { caseTypeOperations } from './routes/case-types';
import {
  cancelCaseSchema,
  resumeCaseSchema,
  suspendCaseSchema,
  caseMessageSchema,
  correlatedMessageSchema,
  setStatusSchema,
  startSchema,
  updateCaseSchema,
} from './routes/cases';
import { contactOperations } from './routes/contacts';
import { delegateOperations } from './routes/delegates';
import { schemaOperations } from './routes/schemas';
import { emailOperations } from './routes/emails';
import { entityOperations } from './routes/entities';
import { entityActivityOperations } from './routes/entity-activities';
import { entityMergeOperations } from './routes/entity-merge';
import { caseCorrectionOperations } from './routes/case-corrections';
import { eventOperations } from './routes/events';
import { identityOperations } from './routes/identity';
import { importOperations } from './routes/imports';
import { inboxOperations } from './routes/inbox';
import { integrationOperations } from './routes/integrations';
import { parameterOperations } from './routes/parameters';
import { exchangeRateOperations } from './routes/exchange-rates';
import { quotaOperations } from './routes/quotas';
import { reportOperations } from './routes/reports';
import { segmentOperations } from './routes/segments';
import { sessionOperations } from './routes/session';
import { supervisorOperations } from './routes/supervisor';
import { taskOperations } from './routes/tasks';
import { webhookOperations } from './routes/webhooks';

/** Operations of the foundation's routes (cases, health, development mailbox). */
const foundationOperations: OperationSpec[] = [
  {
    method: 'post',
    path: '/api/cases',
    operationId: 'startCase',
    tag: 'Cases',
    summary: 'Starts a case of a published case type; answers once its first tasks exist',
    description:
      'Accepts an Idempotency-Key header: a retry with the same key (also one sent while the first is still ' +
      'running) answers the same case and starts no second one.',
    body: startSchema,
    idempotent: true,
    responses: {
      '201': {
        description: 'The case with its tasks',
        schema: {
          type: 'object',
          properties: { id: { type: 'string' }, tasks: { type: 'array', items: taskSchema } },
        },
      },
      ...problemResponses(400, 401, 403, 422, 503),
    },
  },
  {
    method: 'get',
    path: '/api/cases/:id',
    operationId: 'getCase',
    tag: 'Cases',
    summary: 'A case with its tasks and timeline',
    params: { id: 'Case id' },
    responses: {
      '200': { description: 'The case', schema: caseDetailSchema },
      ...problemResponses(401, 404),
    },
  },
  {
    method: 'post',
    path: '/api/cases/:id/status',
    operationId: 'setCaseStatus',
    tag: 'Cases',
    summary: 'Sets the status of a case by hand (agents, supervisors, administrators)',
    description:
      'Only statuses the case type marks `manual` (administrators: any). A won, lost or closed status ends the ' +
      "case and cancels its open tasks; an open one (e.g. postponed) arms that status's timers. Accepts an " +
      'Idempotency-Key header.',
    params: { id: 'Case id' },
    body: setStatusSchema,
    idempotent: true,
    responses: {
      '200': {
        description: 'The case as the change left it (as GET /api/cases/{id})',
        schema: caseDetailSchema,
      },
      ...problemResponses(400, 401, 403, 404, 409, 503),
    },
    problems: ['unknown-status', 'status-not-manual', 'case-ended', 'engine-unavailable'],
  },
  {
    method: 'post',
    path: '/api/cases/:id/messages',
    operationId: 'sendCaseMessage',
    tag: 'Cases',
    summary: 'Sends a message to a running case (agents, supervisors, administrators who can see it)',
    description:
      'The first step waiting for the message (a wait step with `message`, or a boundary event) catches it; ' +
      'an interrupting boundary event withdraws its task. A message no step waits for is kept when the case ' +
      'type declares it with `buffer: true`, else dropped; the timeline says which. Accepts an Idempotency-Key header.',
    params: { id: 'Case id' },
    body: caseMessageSchema,
    idempotent: true,
    responses: {
      '200': {
        description: 'The case as the message left it (as GET /api/cases/{id})',
        schema: caseDetailSchema,
      },
      ...problemResponses(400, 401, 403, 404, 409, 503),
    },
    problems: ['unknown-message', 'case-ended', 'engine-unavailable'],
  },
  {
    method: 'post',
    path: '/api/messages',
    operationId: 'sendCorrelatedMessage',
    tag: 'Cases',
    summary:
      'Sends a message to the running case with a business key (agents, supervisors, administrators who can see it)',
    description:
      'Correlation by business key: the case type names a field as its `businessKey` (e.g. an order number), and ' +
      'the message goes to the one running case, among those the caller may see, whose field has this value ' +
      '(of `caseType` when given); it then acts exactly as `POST /api/cases/{id}/messages`. No such case: 404 ' +
      '`no-correlated-case`; several: 409 `correlation-ambiguous` listing them. Accepts an Idempotency-Key header.',
    body: correlatedMessageSchema,
    idempotent: true,
    responses: {
      '200': {
        description: 'The case the message reached, as the message left it (as GET /api/cases/{id})',
        schema: caseDetailSchema,
      },
      ...problemResponses(400, 401, 403, 404, 409, 503),
    },
    problems: [
      'no-correlated-case',
      'correlation-ambiguous',
      'unknown-message',
      'case-ended',
      'engine-unavailable',
    ],
  },
  {
    method: 'post',
    path: '/api/cases/:id/cancel',
    operationId: 'cancelCase',
    tag: 'Cases',
    summary: 'Cancels a case (supervisors, administrators)',
    description:
      'Ends the case with the reason in its timeline; its open tasks are withdrawn from every inbox and its ' +
      'waits and timers stop; `caseEnded` email rules fire. Accepts an Idempotency-Key header.',
    params: { id: 'Case id' },
    body: cancelCaseSchema,
    idempotent: true,
    responses: {
      '200': {
        description: 'The cancelled case (as GET /api/cases/{id})',
        schema: caseDetailSchema,
      },
      ...problemResponses(400, 401, 403, 404, 409, 503),
    },
    problems: ['forbidden', 'case-ended', 'engine-unavailable'],
  },
  {
    method: 'post',
    path: '/api/cases/:id/suspend',
    operationId: 'suspendCase',
    tag: 'Cases',
    summary: 'Puts a case on hold (supervisors, administrators)',
    description:
      'While on hold its open tasks cannot be claimed or completed (409 `case-suspended`), its timers ' +
      '(escalations, due reminders, boundary timers, waits, case timers, delayed emails) pause keeping the time ' +
      'they had left, and messages for it are kept until it resumes. The timeline records who and why. ' +
      'Accepts an Idempotency-Key header.',
    params: { id: 'Case id' },
    body: suspendCaseSchema,
    idempotent: true,
    responses: {
      '200': { description: 'The case on hold (as GET /api/cases/{id})', schema: caseDetailSchema },
      ...problemResponses(400, 401, 403, 404, 409, 503),
    },
    problems: ['forbidden', 'case-suspended', 'case-ended', 'engine-unavailable'],
  },
  {
    method: 'post',
    path: '/api/cases/:id/resume',
    operationId: 'resumeCase',
    tag: 'Cases',
    summary: 'Takes a case off hold (supervisors, administrators)',
    description:
      'Its timers count on from the time they had left, due dates of its open tasks move by the time held, ' +
      'and messages kept on hold are delivered in order. Accepts an Idempotency-Key header.',
    params: { id: 'Case id' },
    body: resumeCaseSchema,
    idempotent: true,
    responses: {
      '200': { description: 'The case resumed (as GET /api/cases/{id})', schema: caseDetailSchema },
      ...problemResponses(400, 401, 403, 404, 409, 503),
    },
    problems: ['forbidden', 'not-suspended', 'case-ended', 'engine-unavailable'],
  },
  {
    method: 'patch',
    path: '/api/cases/:id',
    operationId: 'updateCase',
    tag: 'Cases',
    summary:
      "Changes a running case's data (merged) and lines (replaced) (agents, supervisors, administrators)",
    description:
      "Only the case type's `editableFields` (`lines` for the lines); the data after the change must still " +
      "fit the case type's fields. The timeline keeps the previous values. Accepts an Idempotency-Key header.",
    params: { id: 'Case id' },
    body: updateCaseSchema,
    idempotent: true,
    responses: {
      '200': {
        description: 'The case as the change left it (as GET /api/cases/{id})',
        schema: caseDetailSchema,
      },
      ...problemResponses(400, 401, 403, 404, 409, 503),
    },
    problems: ['field-not-editable', 'case-ended', 'engine-unavailable'],
  },
  {
    method: 'get',
    path: '/livez',
    operationId: 'getLiveness',
    tag: 'Operations',
    auth: false,
    summary: 'Liveness: the process answers (checks no dependency; for a liveness probe)',
    responses: { '200': { description: 'The process is up', schema: { type: 'object' } } },
  },
  {
    method: 'get',
    path: '/readyz',
    operationId: 'getReadiness',
    tag: 'Operations',
    auth: false,
    summary:
      'Readiness: Postgres and Temporal answer; SMTP is reported but not required (for a readiness probe)',
    responses: {
      '200': { description: 'Ready; `checks` lists every component', schema: { type: 'object' } },
      '503': { description: 'Postgres or Temporal is down; `Retry-After` says when to ask again' },
    },
  },
  {
    method: 'get',
    path: '/health',
    operationId: 'getHealth',
    tag: 'Operations',
    auth: false,
    summary: 'Health of Postgres, Temporal (and SMTP); 503 when a component is down',
    responses: {
      '200': { description: 'All up', schema: { type: 'object' } },
      '503': { description: 'A component is down' },
    },
  },
  {
    method: 'get',
    path: '/metrics',
    operationId: 'getMetrics',
    tag: 'Operations',
    auth: false,
    summary:
      'Prometheus metrics (HTTP latency by route and status, case calls, outbox states); METRICS_TOKEN as a bearer token, or a client on this host',
    responses: {
      '200': { description: 'Prometheus text format', contentType: 'text/plain', schema: { type: 'string' } },
      ...problemResponses(403),
    },
  },
  {
    method: 'get',
    path: '/dev/mail',
    operationId: 'getDevMail',
    tag: 'Operations',
    summary:
      'Development only (npm start without SMTP_URL): messages received by the built-in SMTP sink (administrators)',
    responses: {
      '200': { description: 'Messages', schema: { type: 'object' } },
      ...problemResponses(401, 403),
    },
  },
];

export const docOperations: OperationSpec[] = [
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'getOpenApi',
    tag: 'Operations',
    auth: false,
    summary: 'This document',
    responses: { '200': { description: 'OpenAPI 3.1', schema: { type: 'object' } } },
  },
  {
    method: 'get',
    path: '/docs',
    operationId: 'getDocs',
    tag: 'Operations',
    auth: false,
    summary: 'Browsable documentation generated from this document',
    responses: { '200': { description: 'HTML', contentType: 'text/html', schema: { type: 'string' } } },
  },
];

/** Every described operation. */
export const ALL_OPERATIONS: OperationSpec[] = [
  ...foundationOperations,
  ...caseListOperations,
  ...sessionOperations,
  ...accountOperations,
  ...identityOperations,
  ...delegateOperations,
  ...inboxOperations,
  ...eventOperations,
  ...taskOperations,
  ...supervisorOperations,
  ...parameterOperations,
  ...calendarOperations,
  ...emailOperations,
  ...caseTypeOperations,
  ...entityOperations,
  ...entityActivityOperations,
  ...entityMergeOperations,
  ...caseCorrectionOperations,
  ...contactOperations,
  ...schemaOperations,
  ...segmentOperations,
  ...reportOperations,
  ...exchangeRateOperations,
  ...quotaOperations,
  ...campaignOperations,
  ...importOperations,
  ...integrationOperations,
  ...webhookOperations,
  ...attachmentOperations,
  ...docOperations,
];

/** Problem types every authenticated operation may answer, besides its own. */
const GENERIC_PROBLEMS = [
  'validation-error',
  'unauthorized',
  'forbidden',
  'not-found',
  'payload-too-large',
  'internal-error',
];

export interface RouteRef {
  method: string;
  path: string;
}

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  rawPath?: unknown;
  handle?: { stack?: Layer[] };
}

/** Routes registered on an Express app, with the mount paths of nested routers. */
export function listRoutes(app: object): RouteRef[] {
  const routes: RouteRef[] = [];
  const walk = (stack: Layer[], prefix: string): void => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const method of Object.keys(layer.route.methods)) {
          if (method !== '_all') for (const p of paths) routes.push({ method, path: prefix + p });
        }
      } else if (layer.handle?.stack) {
        const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
        walk(layer.handle.stack, prefix + mount);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return routes;
}

/** `/api/tasks/:id` -> `/api/tasks/{id}`. */
export const openApiPath = (path: string): string => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

function parameters(op: OperationSpec): JsonSchema[] {
  const out: JsonSchema[] = [];
  for (const name of [...op.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1] as string)) {
    out.push({
      name,
      in: 'path',
      required: true,
      description: op.params?.[name] ?? '',
      schema: { type: 'string' },
    });
  }
  const query = op.query as { properties?: Record<string, JsonSchema>; required?: string[] } | undefined;
  for (const [name, schema] of Object.entries(query?.properties ?? {})) {
    const { description, ...rest } = schema;
    out.push({
      name,
      in: 'query',
      required: query?.required?.includes(name) ?? false,
      ...(description ? { description } : {}),
      schema: rest,
    });
  }
  if (op.idempotent) {
    out.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description:
        'Retries with the same key (per user, 24 h) get the first answer; the action is applied once',
      schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,200}$' },
    });
  }
  return out;
}

function operation(op: OperationSpec): JsonSchema {
  const responses: Record<string, JsonSchema> = {};
  for (const [status, r] of Object.entries(op.responses)) {
    const type = r.contentType ?? (Number(status) >= 400 ? 'application/problem+json' : 'application/json');
    responses[status] = {
      description: r.description,
      ...(r.schema ? { content: { [type]: { schema: r.schema } } } : {}),
    };
  }
  const problems = [...(op.auth === false ? [] : GENERIC_PROBLEMS), ...(op.problems ?? [])];
  return {
    operationId: op.operationId,
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    tags: [op.tag],
    parameters: parameters(op),
    ...(op.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: op.body } } } }
      : {}),
    responses,
    ...(op.auth === false ? { security: [] } : {}),
    'x-problem-types': problems.map((slug) => PROBLEM_BASE + slug),
  };
}

/** The OpenAPI 3.1 document for the described operations plus any undocumented registered route. */
export function openApiDocument(
  publicUrl: string,
  specs: OperationSpec[],
  routes: RouteRef[] = [],
): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const op of specs) {
    const path = openApiPath(op.path);
    paths[path] = { ...paths[path], [op.method]: operation(op) };
  }
  for (const route of routes) {
    const path = openApiPath(route.path);
    if (paths[path]?.[route.method]) continue;
    paths[path] = {
      ...paths[path],
      [route.method]: {
        summary: 'Undocumented route',
        tags: ['Other'],
        'x-undocumented': true,
        responses: { default: { description: 'See the route module' } },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'CRM process engine API',
      version: '1',
      description:
        'Cases run as Temporal workflows; task actions are Temporal Updates. Every error is application/problem+json (RFC 9457) with a stable `type` URI, documented in docs/problems.md.',
    },
    servers: [{ url: publicUrl }],
    security: [{ bearerAuth: [] }, { sessionCookie: [] }],
    paths,
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API token (POST /api/tokens)' },
        sessionCookie: {
          type: 'apiKey',
          in: 'cookie',
          name: 'crm_session',
          description:
            'A browser session (POST /api/session). POST, PUT, PATCH and DELETE also need the header ' +
            'X-CSRF-Token with the csrfToken of GET /api/session (403 csrf-token-invalid otherwise).',
        },
      },
      schemas: { Problem: problemSchema, Task: taskSchema, CaseDetail: caseDetailSchema },
    },
  };
}
