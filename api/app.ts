import path from 'node:path';
import express, { type Express } from 'express';
import type { Client } from '@temporalio/client';
import type { Db } from '../db';
import { relinkEngine } from './routes/entity-merge';
import { deliverRelinks } from '../crm/entity-relinks';
import {
  DEFAULT_AUTH,
  DEFAULT_SECURITY,
  loadConfig,
  type AuthSettings,
  type Config,
  type SecuritySettings,
} from '../lib/config';
import { logger } from '../lib/logger';
import { AccountMailer, type AccountMailOptions } from './account-mail';
import { authenticate } from './auth';
import { SessionStore } from './sessions';
import { CallerCache } from './caller-cache';
import type { ApiContext, MailboxMessage } from './context';
import { CaseGateway } from './gateway';
import { notFoundHandler, problemHandler } from './problem';
import { ApiMetrics } from './metrics';
import { requestLog } from './request-log';
import { requestGuards } from './request-guards';
import { authFailureLimit, limitExpensiveRoutes, noStore, securityHeaders } from './security';
import { calendarFeedRoutes, calendarRoutes } from './routes/calendar';
import { caseListRoutes } from './routes/case-list';
import { caseRoutes } from './routes/cases';
import { caseTypeRoutes } from './routes/case-types';
import { delegateRoutes } from './routes/delegates';
import { devRoutes } from './routes/dev';
import { docsRoutes } from './routes/docs';
import { emailRoutes } from './routes/emails';
import { eventRoutes } from './routes/events';
import { healthRoutes } from './routes/health';
import { identityRoutes } from './routes/identity';
import { inboxRoutes } from './routes/inbox';
import { parameterRoutes } from './routes/parameters';
import { supervisorRoutes } from './routes/supervisor';
import { taskRoutes } from './routes/tasks';
import { accountRoutes, passwordRoutes } from './routes/account';
import { attachmentRoutes } from './routes/attachments';
import { campaignRoutes } from './routes/campaigns';
import { contactRoutes } from './routes/contacts';
import { schemaRoutes } from './routes/schemas';
import { entityRoutes } from './routes/entities';
import { entityActivityRoutes } from './routes/entity-activities';
import { entityMergeRoutes } from './routes/entity-merge';
import { caseCorrectionRoutes } from './routes/case-corrections';
import { importRoutes } from './routes/imports';
import { integrationRoutes } from './routes/integrations';
import { exchangeRateRoutes } from './routes/exchange-rates';
import { quotaRoutes } from './routes/quotas';
import { reportRoutes } from './routes/reports';
import { segmentRoutes } from './routes/segments';
import { sessionRoutes } from './routes/session';
import { DEFAULT_DELIVERY_RETENTION_DAYS } from '../cases/webhook-deliveries';
import { keepWebhookBody, webhookRoutes } from './routes/webhooks';
import { webAppRoutes } from './web-app';
import { TextStats } from './text-stats';
import { projectCase } from '../activities/projection';

export interface AppDeps {
  db: Db;
  client: Client;
  taskQueue: string;
  publicUrl: string;
  maxPageSize: number;
  bodyLimit: string;
  updateTimeoutMs: number;
  mailbox?: { messages(): MailboxMessage[] };
  /** Extra health probes (e.g. SMTP); Postgres and Temporal are always probed. */
  probes?: Record<string, () => Promise<unknown>>;
  /**
   * Retry the relinks of merged entities that could not be told to their cases' workflows (at start and every
   * minute). On in `npm start` and `npm run api`; tests call `deliverRelinks` themselves. (Import jobs run as
   * workflows on the workers: an API process holds none.)
   */
  retryRelinks?: boolean;
  /** Sign-in settings; defaults as in lib/config.ts. */
  auth?: AuthSettings;
  /** SMTP for invites and forgotten-password links; without it those answer 503. */
  accountMail?: AccountMailOptions;
  /** The built web app served at `/`; defaults to web/dist. */
  webDistDir?: string;
  /** Where definitions published at run time find their email templates (`templates/`); default DEFINITIONS_DIR. */
  definitionsDir?: string;
  /** Rate limits and token lifetimes; defaults as in lib/config.ts. */
  security?: SecuritySettings;
  /** Bearer token for GET /metrics (METRICS_TOKEN); without it only clients on this host read it. */
  metricsToken?: string;
  /** Express `trust proxy` (TRUST_PROXY), which decides the client address rate limits count by. */
  trustProxy?: Config['trustProxy'];
  /** Secret of each webhook source (WEBHOOK_SECRETS); defaults to the configuration's. */
  webhookSecrets?: Record<string, string>;
  /** Days a webhook delivery id is remembered (WEBHOOK_DELIVERY_RETENTION_DAYS); defaults to 7. */
  webhookDeliveryRetentionDays?: number;
}

const DEFAULT_WEB_DIST = path.resolve(__dirname, '..', 'web', 'dist');

const RELINK_RETRY_EVERY_MS = 60_000;

/** Runs `deliverRelinks` now and every minute until the pool closes. */
function retryRelinks(ctx: ApiContext): void {
  const relinks = relinkEngine(ctx.gateway);
  const sweep = () => {
    deliverRelinks(ctx.db, relinks).catch((err: unknown) =>
      logger.warn({ err }, 'could not retry the relinks of merged entities'),
    );
  };
  sweep();
  const timer = setInterval(sweep, RELINK_RETRY_EVERY_MS).unref();
  ctx.db.beforeClose(async () => clearInterval(timer));
}

/** The settings of the API that come straight from the configuration. */
export function appSettings(
  config: Config,
): Pick<
  AppDeps,
  | 'taskQueue'
  | 'publicUrl'
  | 'maxPageSize'
  | 'bodyLimit'
  | 'updateTimeoutMs'
  | 'auth'
  | 'webDistDir'
  | 'definitionsDir'
  | 'security'
  | 'trustProxy'
  | 'metricsToken'
  | 'webhookSecrets'
  | 'webhookDeliveryRetentionDays'
> {
  const { taskQueue, publicUrl, maxPageSize, bodyLimit, updateTimeoutMs, auth, webDistDir, definitionsDir } =
    config;
  const { security, trustProxy, metricsToken, webhookSecrets, webhookDeliveryRetentionDays } = config;
  return {
    taskQueue,
    publicUrl,
    maxPageSize,
    bodyLimit,
    updateTimeoutMs,
    auth,
    webDistDir,
    definitionsDir,
    security,
    trustProxy,
    webhookSecrets,
    webhookDeliveryRetentionDays,
    ...(metricsToken ? { metricsToken } : {}),
  };
}

/** Builds the HTTP API. Listening is the caller's job. */
export function createApp(deps: AppDeps): Express {
  const auth = deps.auth ?? DEFAULT_AUTH;
  const security = deps.security ?? DEFAULT_SECURITY;
  const metrics = new ApiMetrics(deps.db);
  const ctx: ApiContext = {
    db: deps.db,
    callers: new CallerCache(deps.db),
    sessions: new SessionStore(deps.db, auth),
    auth,
    security,
    ...(deps.accountMail ? { accountMail: new AccountMailer(deps.accountMail) } : {}),
    textStats: new TextStats(deps.db),
    client: deps.client,
    gateway: new CaseGateway(
      deps.client,
      deps.taskQueue,
      deps.updateTimeoutMs,
      (projection) => projectCase(deps.db, projection),
      (call, fn) => metrics.timeCaseCall(call, fn),
    ),
    metrics,
    taskQueue: deps.taskQueue,
    publicUrl: deps.publicUrl,
    maxPageSize: deps.maxPageSize,
    definitionsDir: deps.definitionsDir ?? loadConfig().definitionsDir,
    ...(deps.mailbox ? { mailbox: deps.mailbox } : {}),
    probes: {
      postgres: () => deps.db.query('SELECT 1'),
      temporal: () => deps.client.connection.workflowService.getSystemInfo({}),
      ...deps.probes,
    },
  };
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  if (deps.trustProxy !== undefined) app.set('trust proxy', deps.trustProxy);
  app.use(requestLog());
  app.use(metrics.middleware);
  app.use(securityHeaders(deps.publicUrl));
  app.use(
    express.json({
      limit: deps.bodyLimit,
      type: ['application/json', 'application/*+json'],
      // Webhook signatures are over the raw bytes: kept for those routes only.
      verify: keepWebhookBody,
    }),
  );
  app.use(requestGuards);
  app.use(healthRoutes(ctx));
  app.use(metrics.routes(deps.metricsToken));
  const limitAuthFailures = authFailureLimit(security, auth.signInWindowMinutes);
  const authenticated = [limitAuthFailures, noStore, authenticate(ctx.callers, ctx.sessions, ctx.publicUrl)];
  if (deps.mailbox) app.use(devRoutes(ctx, authenticated));
  app.use(docsRoutes(ctx));
  app.use(calendarFeedRoutes(ctx));
  // Email outbox, resends, template previews (authenticated) and unsubscribe links (not): issue 5.
  app.use(emailRoutes(ctx));
  // Sign-in for people (issue 14): the session routes authenticate by the cookie themselves.
  app.use(sessionRoutes(ctx));
  app.use(passwordRoutes(ctx));
  // Webhooks authenticate by their signature, not a token or session (issue 13).
  app.use(
    '/api',
    webhookRoutes(
      ctx,
      {
        secrets: deps.webhookSecrets ?? loadConfig().webhookSecrets,
        retentionDays: deps.webhookDeliveryRetentionDays ?? DEFAULT_DELIVERY_RETENTION_DAYS,
      },
      limitAuthFailures,
    ),
  );
  const api = express.Router();
  api.use(metrics.markBase);
  api.use(authenticated);
  limitExpensiveRoutes(api, security);
  api.use(caseListRoutes(ctx));
  api.use(caseRoutes(ctx));
  api.use(caseTypeRoutes(ctx));
  api.use(taskRoutes(ctx));
  api.use(inboxRoutes(ctx));
  // CRM core (issue 6).
  api.use(entityRoutes(ctx));
  api.use(entityActivityRoutes(ctx));
  api.use(entityMergeRoutes(ctx));
  api.use(caseCorrectionRoutes(ctx));
  api.use(contactRoutes(ctx));
  api.use(schemaRoutes(ctx));
  api.use(segmentRoutes(ctx));
  api.use(reportRoutes(ctx));
  api.use(exchangeRateRoutes(ctx));
  api.use(quotaRoutes(ctx));
  api.use(campaignRoutes(ctx));
  api.use(importRoutes(ctx));
  api.use(integrationRoutes(ctx));
  api.use(attachmentRoutes(ctx));
  // Before identityRoutes: PATCH /users/me is the caller's own, PATCH /users/:id an administrator's.
  api.use(accountRoutes(ctx));
  api.use(identityRoutes(ctx));
  api.use(delegateRoutes(ctx));
  api.use(supervisorRoutes(ctx));
  api.use(parameterRoutes(ctx));
  api.use(calendarRoutes(ctx));
  api.use(eventRoutes(ctx));
  app.use('/api', api);
  app.use(webAppRoutes(deps.webDistDir ?? DEFAULT_WEB_DIST));
  app.use(notFoundHandler);
  app.use(problemHandler);
  if (deps.retryRelinks) retryRelinks(ctx);
  return app;
}
