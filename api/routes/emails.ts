import path from 'node:path';
import { Type } from '@sinclair/typebox';
import { Router, type NextFunction, type Request, type Response } from 'express';
import { messageIdDomainFor } from '../../activities/email';
import {
  failUnstartedResend,
  findVisibleEmail,
  listVisibleEmails,
  queueResend,
  recordOptOut,
} from '../../activities/email-outbox';
import { TemplateError } from '../../activities/errors';
import { TemplateStore } from '../../activities/templates';
import type { Row } from '../../db';
import { listLatestDefinitions } from '../../db/definitions';
import { PreviewError, previewTemplate } from '../../designer/preview';
import { loadConfig } from '../../lib/config';
import { linkSecret, verifyUnsubscribeToken } from '../../lib/unsubscribe';
import { permit } from '../../crm/permissions';
import { isCaseVisible } from '../../identity/visibility';
import { authenticate, callerOf, type Caller } from '../auth';
import type { ApiContext } from '../context';
import { idString, nullableDateTime, problemResponses, type OperationSpec } from '../operation';
import { ProblemError } from '../problem';
import { check } from '../validation';

/** The workflow that sends an explicit resend (`workflows/resend-email.ts`). */
export const RESEND_WORKFLOW_TYPE = 'resendEmailWorkflow';

const STATES = ['queued', 'sending', 'sent', 'failed', 'skipped'];

const listQuery = Type.Object(
  {
    caseId: Type.Optional(Type.String(idString)),
    ruleId: Type.Optional(Type.String(idString)),
    state: Type.Optional(Type.Unsafe<string>({ type: 'string', enum: STATES })),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,6}$' })),
    cursor: Type.Optional(
      Type.String({ pattern: '^[0-9]{1,18}$', description: 'nextCursor of the previous page' }),
    ),
  },
  { additionalProperties: false },
);

const previewQuery = Type.Object(
  {
    caseId: Type.Optional(Type.String(idString)),
    locale: Type.Optional(Type.String({ pattern: '^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$' })),
  },
  { additionalProperties: false },
);

const emptyBody = Type.Object({}, { additionalProperties: false, maxProperties: 0 });

const recipientList = { type: 'array', items: { type: 'string' } };
const emailSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    key: { type: 'string', description: 'Idempotency key: <case>/<rule>/<event>, or <key>/resend/<n>' },
    kind: { type: 'string', enum: ['rule', 'digest', 'resend'] },
    caseId: { type: ['string', 'null'] },
    ruleId: { type: 'string' },
    template: { type: 'string' },
    state: { type: 'string', enum: STATES },
    messageId: { type: 'string' },
    subject: { type: ['string', 'null'] },
    to: recipientList,
    cc: recipientList,
    bcc: { ...recipientList, description: 'Only shown to supervisors and administrators' },
    skipped: {
      ...recipientList,
      description: 'References that resolved to nobody, invalid or opted-out addresses',
    },
    attempts: { type: 'integer' },
    deliveries: { type: 'integer', description: 'Acceptances recorded' },
    redelivered: {
      type: 'boolean',
      description: 'Sent again after an attempt whose outcome was unknown: the recipient may hold two copies',
    },
    smtpResponse: { type: ['string', 'null'] },
    lastError: { type: ['string', 'null'] },
    resendOf: { type: ['integer', 'null'] },
    requestedBy: { type: ['string', 'null'] },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    sentAt: nullableDateTime,
    events: { type: 'array', items: { type: 'object' }, description: 'Attempt log' },
  },
};

/** The email routes, for the OpenAPI document. */
export const emailOperations: OperationSpec[] = [
  {
    method: 'get',
    path: '/api/emails',
    operationId: 'listEmails',
    tag: 'Emails',
    summary: 'The email outbox, newest first: every message with its delivery state and SMTP response',
    description:
      'Supervisors and administrators see every email; others see the emails of cases they may see and their own digests.',
    query: listQuery,
    responses: {
      '200': {
        description: 'A page of emails',
        schema: {
          type: 'object',
          properties: {
            items: { type: 'array', items: emailSchema },
            nextCursor: { type: ['string', 'null'] },
          },
        },
      },
      ...problemResponses(400, 401),
    },
  },
  {
    method: 'get',
    path: '/api/emails/:id',
    operationId: 'getEmail',
    tag: 'Emails',
    summary: 'One email with its parts as sent',
    responses: { '200': { description: 'The email', schema: emailSchema }, ...problemResponses(401, 404) },
  },
  {
    method: 'post',
    path: '/api/emails/:id/resend',
    operationId: 'resendEmail',
    tag: 'Emails',
    summary: 'Sends an email again (supervisors and administrators): a new outbox row, audited',
    body: emptyBody,
    responses: {
      '202': { description: 'The resend, queued', schema: emailSchema },
      ...problemResponses(401, 403, 404, 409),
    },
    problems: ['email-in-progress', 'email-not-resendable'],
  },
  {
    method: 'get',
    path: '/api/templates/:name/preview',
    operationId: 'previewTemplate',
    tag: 'Emails',
    summary: 'Renders an email template with a real case (caseId) or sample data',
    query: previewQuery,
    responses: {
      '200': { description: 'Subject, text and HTML as a recipient would receive them' },
      ...problemResponses(400, 401, 403, 404, 422),
    },
    problems: ['template-error'],
  },
  {
    method: 'get',
    path: '/unsubscribe/:token',
    operationId: 'unsubscribe',
    tag: 'Emails',
    auth: false,
    summary: 'Adds the address of a signed unsubscribe link to the opt-out list',
    params: { token: 'The signed token of the link' },
    responses: {
      '200': { description: 'Confirmation page', contentType: 'text/html' },
      ...problemResponses(400),
    },
  },
  {
    method: 'post',
    path: '/unsubscribe/:token',
    operationId: 'unsubscribeOneClick',
    tag: 'Emails',
    auth: false,
    summary: 'One-click unsubscribe (RFC 8058, List-Unsubscribe-Post): the same as following the link',
    params: { token: 'The signed token of the link' },
    responses: {
      '200': { description: 'Confirmation page', contentType: 'text/html' },
      ...problemResponses(400),
    },
  },
];

const addresses = (list: unknown): string[] =>
  Array.isArray(list)
    ? list.map((r) => (typeof r === 'string' ? r : String((r as { address?: unknown }).address)))
    : [];

function emailView(r: Row, caller: Caller, withBodies = false): Record<string, unknown> {
  const recipients = (r.recipients ?? {}) as Record<string, unknown>;
  const privileged = caller.role === 'supervisor' || caller.role === 'admin';
  return {
    id: r.id,
    key: r.idempotency_key,
    kind: r.kind,
    caseId: r.case_id,
    ruleId: r.rule_id,
    eventKey: r.event_key,
    template: r.template,
    state: r.state,
    messageId: r.message_id,
    subject: r.subject,
    locale: r.locale,
    to: addresses(recipients.to),
    cc: addresses(recipients.cc),
    bcc: privileged ? addresses(recipients.bcc) : [],
    skipped: privileged ? (recipients.skipped ?? []) : [],
    rejected: recipients.rejected ?? [],
    attempts: r.attempts,
    deliveries: r.deliveries,
    redelivered: r.redelivered,
    smtpResponse: r.smtp_response,
    lastError: r.last_error,
    resendOf: r.resend_of,
    requestedBy: r.requested_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    sentAt: r.sent_at,
    events: r.events,
    ...(withBodies ? { text: r.body_text, html: r.body_html, headers: r.headers } : {}),
  };
}

async function loadVisible(ctx: ApiContext, caller: Caller, id: string, withBodies = false): Promise<Row> {
  if (!/^[0-9]{1,18}$/.test(id)) throw ProblemError.notFound(`Email ${id}`);
  const row = await findVisibleEmail(ctx.db, caller, id, withBodies);
  if (!row) throw ProblemError.notFound(`Email ${id}`);
  return row;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface EmailRouteOptions {
  /** Folder of the email templates; default `<DEFINITIONS_DIR>/templates`. */
  templatesDir?: string;
}

/**
 * Email routes: the outbox (`/api/emails`), explicit resends, template previews and the unauthenticated
 * unsubscribe link. Mounted on the app (not under the authenticated API router) because of the latter;
 * the `/api` routes authenticate themselves.
 */
export function emailRoutes(ctx: ApiContext, options: EmailRouteOptions = {}): Router {
  const router = Router();
  const auth = authenticate(ctx.callers, ctx.sessions, ctx.publicUrl);
  const templatesDir = options.templatesDir ?? path.join(loadConfig().definitionsDir, 'templates');
  const store = new TemplateStore(templatesDir);

  router.get('/api/emails', auth, async (req, res) => {
    const caller = callerOf(req);
    permit(caller, 'email', 'list');
    const query = check(listQuery, { ...req.query }, '/query');
    const limit = Math.min(Math.max(Number(query.limit ?? 50), 1), ctx.maxPageSize);
    const rows = await listVisibleEmails(ctx.db, caller, {
      ...(query.caseId !== undefined ? { caseId: query.caseId } : {}),
      ...(query.ruleId !== undefined ? { ruleId: query.ruleId } : {}),
      ...(query.state !== undefined ? { state: query.state } : {}),
      ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    res.json({
      items: page.map((r) => emailView(r, caller)),
      nextCursor: rows.length > limit ? String(page[page.length - 1]?.id) : null,
    });
  });

  router.get('/api/emails/:id', auth, async (req, res) => {
    const caller = callerOf(req);
    permit(caller, 'email', 'read');
    const row = await loadVisible(ctx, caller, req.params.id as string, true);
    res.json(emailView(row, caller, true));
  });

  router.post('/api/emails/:id/resend', auth, async (req, res) => {
    const caller = callerOf(req);
    permit(caller, 'email', 'resend');
    check(emptyBody, req.body ?? {}, '/body');
    await loadVisible(ctx, caller, req.params.id as string);
    const created = await queueResend(ctx.db, {
      id: req.params.id as string,
      requestedBy: caller.userId,
      messageIdDomain: messageIdDomainFor(ctx.publicUrl),
    });
    try {
      await ctx.client.workflow.start(RESEND_WORKFLOW_TYPE, {
        workflowId: `email-resend-${created}`,
        taskQueue: ctx.taskQueue,
        args: [{ outboxId: created }],
      });
    } catch (err) {
      // Never leave a queued resend that nothing will send: it would block the next resend.
      await failUnstartedResend(ctx.db, created, `could not start its delivery: ${(err as Error).message}`);
      throw err;
    }
    const row = await loadVisible(ctx, caller, String(created));
    res.status(202).location(`/api/emails/${created}`).json(emailView(row, caller));
  });

  router.get('/api/templates/:name/preview', auth, async (req, res) => {
    const caller = callerOf(req);
    const query = check(previewQuery, { ...req.query }, '/query');
    const name = req.params.name as string;
    if (query.caseId !== undefined) {
      const visible = await isCaseVisible(ctx.db, caller, query.caseId);
      if (!visible) throw ProblemError.notFound(`Case ${query.caseId}`);
    } else if (!['designer', 'supervisor', 'admin'].includes(caller.role)) {
      throw ProblemError.forbidden(
        'Sample previews are for designers, supervisors and administrators; pass caseId',
      );
    }
    if (!store.has(name)) throw ProblemError.notFound(`Template ${name}`);
    try {
      const preview = await previewTemplate({
        templatesDir,
        store,
        template: name,
        definitions: (await listLatestDefinitions(ctx.db)).map((d) => d.definition),
        db: ctx.db,
        publicUrl: ctx.publicUrl,
        ...(query.caseId !== undefined ? { caseId: query.caseId } : {}),
        ...(query.locale !== undefined ? { locale: query.locale } : {}),
      });
      res.json(preview);
    } catch (err) {
      if (err instanceof TemplateError)
        throw new ProblemError(422, 'template-error', 'The template is invalid', err.message);
      if (err instanceof PreviewError && err.code === 'CASE_NOT_FOUND')
        throw ProblemError.notFound(`Case ${query.caseId}`);
      throw err;
    }
  });

  // RFC 8058 one-click (POST) and the link itself (GET): both record the opt-out; no login needed.
  const unsubscribe = async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      const address = verifyUnsubscribeToken(await linkSecret(ctx.db), String(req.params.token));
      if (!address)
        throw ProblemError.badRequest('This unsubscribe link is not valid', [
          { pointer: '/params/token', message: 'is not a valid unsubscribe token' },
        ]);
      await recordOptOut(ctx.db, address);
      res
        .status(200)
        .type('text/html')
        .send(
          `<!doctype html><meta charset="utf-8"><title>Unsubscribed</title>` +
            `<p>${escapeHtml(address)} will receive no more marketing emails from us.</p>`,
        );
    } catch (err) {
      next(err);
    }
  };
  router.get('/unsubscribe/:token', unsubscribe);
  router.post('/unsubscribe/:token', unsubscribe);

  return router;
}
