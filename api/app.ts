import express, { type Express } from 'express';
import type { Client } from '@temporalio/client';
import type { Db } from '../db';
import { authenticate } from './auth';
import type { ApiContext, MailboxMessage } from './context';
import { CaseGateway } from './gateway';
import { notFoundHandler, problemHandler } from './problem';
import { caseRoutes } from './routes/cases';
import { devRoutes } from './routes/dev';
import { healthRoutes } from './routes/health';
import { inboxRoutes } from './routes/inbox';
import { taskRoutes } from './routes/tasks';

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
}

/** Builds the HTTP API. Listening is the caller's job. */
export function createApp(deps: AppDeps): Express {
  const ctx: ApiContext = {
    db: deps.db,
    client: deps.client,
    gateway: new CaseGateway(deps.client, deps.taskQueue, deps.updateTimeoutMs),
    publicUrl: deps.publicUrl,
    maxPageSize: deps.maxPageSize,
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
  app.use(express.json({ limit: deps.bodyLimit, type: ['application/json', 'application/*+json'] }));
  app.use(healthRoutes(ctx));
  if (deps.mailbox) app.use(devRoutes(ctx));
  const api = express.Router();
  api.use(authenticate(deps.db));
  api.use(caseRoutes(ctx));
  api.use(taskRoutes(ctx));
  api.use(inboxRoutes(ctx));
  app.use('/api', api);
  app.use(notFoundHandler);
  app.use(problemHandler);
  return app;
}
