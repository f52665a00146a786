import type { Client } from '@temporalio/client';
import type { Db } from '../db';
import type { AuthSettings, SecuritySettings } from '../lib/config';
import type { AccountMailer } from './account-mail';
import type { CallerCache } from './caller-cache';
import type { CaseGateway } from './gateway';
import type { ApiMetrics } from './metrics';
import type { SessionStore } from './sessions';
import type { TextStats } from './text-stats';

/** A received message as the development mailbox shows it. */
export interface MailboxMessage {
  id: string;
  receivedAt: string;
  from: string;
  to: string[];
  subject: string;
  messageId: string;
  text: string;
  html: string;
}

/** What route modules need; built once by `createApp`. */
export interface ApiContext {
  db: Db;
  /** Who bearer tokens belong to; identity routes invalidate it after their own changes. */
  callers: CallerCache;
  /** Browser sessions (the `crm_session` cookie). */
  sessions: SessionStore;
  /** Sign-in settings: session lifetimes, rate limits, password link lifetimes. */
  auth: AuthSettings;
  /** Rate limits and API-token lifetimes. */
  security: SecuritySettings;
  /** Sends invites and password links; undefined when no SMTP transport is configured. */
  accountMail?: AccountMailer;
  /** Word frequencies among open tasks, for administrators' text search. */
  textStats: TextStats;
  client: Client;
  gateway: CaseGateway;
  /** Task queue of the workers, for workflows the API starts directly (campaigns). */
  taskQueue: string;
  publicUrl: string;
  maxPageSize: number;
  /** The definitions folder: email templates of definitions published through the API. */
  definitionsDir: string;
  /** The development SMTP sink, when `npm start` runs one: served at /dev/mail. */
  mailbox?: { messages(): MailboxMessage[] };
  /** Prometheus metrics of this API process (GET /metrics). */
  metrics: ApiMetrics;
  /** Health probes by component name; each resolves when healthy. */
  probes: Record<string, () => Promise<unknown>>;
}
