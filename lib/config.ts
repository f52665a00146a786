import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from './paths';

/** Every setting the engine reads, validated once. Defaults make `npm start` work on a laptop. */
export interface Config {
  port: number;
  /** Interface the API (and the worker's operations port) bind: loopback unless HOST says otherwise. */
  host: string;
  /** Express `trust proxy` (TRUST_PROXY): false, true, a hop count or addresses; decides `req.ip`. */
  trustProxy: boolean | number | string;
  publicUrl: string;
  dataDir: string;
  databaseUrl: string | undefined;
  embeddedPostgresPort: number;
  /** Server settings of the embedded PostgreSQL (`name=value`), e.g. `shared_buffers=1GB`. */
  embeddedPostgresSettings: string[];
  temporalAddress: string | undefined;
  temporalNamespace: string;
  temporalPort: number;
  temporalUiPort: number;
  temporalCliPath: string | undefined;
  /** TLS, mTLS and API key for TEMPORAL_ADDRESS (a secured cluster, Temporal Cloud); unused by the local dev server. */
  temporalSecurity: TemporalSecurity;
  taskQueue: string;
  smtpUrl: string | undefined;
  smtpSinkPort: number;
  /** Port of the inbound SMTP listener (email-to-case); undefined = off. */
  inboundSmtpPort: number | undefined;
  mailFrom: string;
  /** Address prefixes service steps may call (SERVICE_ALLOWLIST, comma-separated); empty: none. */
  serviceAllowlist: string[];
  /** Secrets service steps' headers may carry: SERVICE_SECRET_<NAME> as <name> (lower case, - for _). */
  serviceSecrets: Record<string, string>;
  /** Secret of each webhook source (WEBHOOK_SECRETS, `source=secret,...`): the HMAC key its deliveries sign with. */
  webhookSecrets: Record<string, string>;
  /** Days a webhook delivery id is remembered (WEBHOOK_DELIVERY_RETENTION_DAYS): a repeat within them sends nothing. */
  webhookDeliveryRetentionDays: number;
  definitionsDir: string;
  logLevel: string;
  cacheDir: string;
  maxPageSize: number;
  bodyLimit: string;
  updateTimeoutMs: number;
  seedDemo: boolean;
  /** Sign-in for people: sessions, rate limits, one-time password links. */
  auth: AuthSettings;
  /** The built web app (index.html and assets) that the API serves at `/`. */
  webDistDir: string;
  /** Rate limits and token lifetimes. */
  security: SecuritySettings;
  /** Bearer token Prometheus sends for /metrics (METRICS_TOKEN); unset: only clients on this host. */
  metricsToken: string | undefined;
  /** Port of the worker's /livez, /readyz and /metrics (WORKER_OPS_PORT); 0: none. */
  workerOpsPort: number;
  /** The worker's capacity (WORKER_MAX_*): cached workflows bound its memory; undefined: the SDK's default. */
  workerTuning: {
    maxCachedWorkflows: number | undefined;
    maxConcurrentWorkflowTaskExecutions: number;
    maxConcurrentActivityTaskExecutions: number;
  };
  /**
   * On SIGTERM or Ctrl-C (SHUTDOWN_GRACE_MS): how long the worker lets running activities finish before
   * cancelling them, and the API its requests in flight before closing their connections.
   */
  shutdownGraceMs: number;
  /** A prebuilt workflow bundle to run (WORKFLOW_BUNDLE_PATH); unset: dist/workflow-bundle.js or bundling at start. */
  workflowBundlePath: string | undefined;
}

/** How connections to TEMPORAL_ADDRESS authenticate (README configuration table). */
export interface TemporalSecurity {
  /** TLS settings; undefined: plaintext. */
  tls: TemporalTls | undefined;
  /** Sent as a bearer token on every call (TEMPORAL_API_KEY). */
  apiKey: string | undefined;
}

export interface TemporalTls {
  /** Server name to verify instead of the address's host (TEMPORAL_TLS_SERVER_NAME). */
  serverName: string | undefined;
  /** PEM file of the CA to trust instead of the system's (TEMPORAL_TLS_CA). */
  caPath: string | undefined;
  /** PEM files of the client certificate and its key, for mTLS (TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY). */
  certPath: string | undefined;
  keyPath: string | undefined;
}

/** Rate limits and API-token lifetimes (README configuration table). */
export interface SecuritySettings {
  /** Failed authentications (401) allowed per client address within `SIGN_IN_WINDOW_MINUTES`; 0: no limit. */
  authFailureMax: number;
  /** Calls of expensive routes (reports, imports, previews, migrations) allowed per caller and window; 0: no limit. */
  expensiveMax: number;
  expensiveWindowSeconds: number;
  /** Lifetime of a token created without `expiresAt`; 0: until revoked. */
  tokenDefaultValidDays: number;
  /** Longest lifetime `expiresAt` may ask for; 0: no maximum (and tokens may be unlimited). */
  tokenMaxValidDays: number;
}

export const DEFAULT_SECURITY: SecuritySettings = {
  authFailureMax: 100,
  expensiveMax: 60,
  expensiveWindowSeconds: 60,
  tokenDefaultValidDays: 90,
  tokenMaxValidDays: 366,
};

/** Settings of sign-in for people (README configuration table). */
export interface AuthSettings {
  /** A session unused this long ends. */
  sessionIdleMinutes: number;
  /** A session ends this long after sign-in, however active. */
  sessionMaxHours: number;
  /** Failed sign-ins allowed per client address and email within the window; more answer 429. */
  signInMaxFailures: number;
  signInWindowMinutes: number;
  /** How long an invite link works. */
  inviteValidHours: number;
  /** How long a forgotten-password link works. */
  resetValidMinutes: number;
}

export const DEFAULT_AUTH: AuthSettings = {
  sessionIdleMinutes: 720,
  sessionMaxHours: 168,
  signInMaxFailures: 5,
  signInWindowMinutes: 15,
  inviteValidHours: 72,
  resetValidMinutes: 60,
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new ConfigError(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = int(env, name, fallback);
  if (value === 0) throw new ConfigError(`${name} must be at least 1`);
  return value;
}

function bool(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

const SETTING = /^[a-z][a-z0-9_.]*=[^\s=]+$/i;

/** Space-separated `name=value` PostgreSQL settings, as `postgres -c` takes them. */
function pgSettings(env: NodeJS.ProcessEnv, name: string): string[] {
  const raw = (env[name] ?? '').trim();
  if (raw === '') return [];
  const settings = raw.split(/\s+/);
  const bad = settings.find((s) => !SETTING.test(s));
  if (bad) throw new ConfigError(`${name} must be space-separated name=value settings, got "${bad}"`);
  return settings;
}

/** TRUST_PROXY as Express takes it: true/false, a hop count, or addresses and subnets (`loopback, 10.0.0.0/8`). */
function trustProxy(env: NodeJS.ProcessEnv): boolean | number | string {
  const raw = (env.TRUST_PROXY ?? '').trim();
  if (raw === '') return false;
  if (/^\d+$/.test(raw)) return Number(raw);
  if (/^(true|false)$/i.test(raw)) return raw.toLowerCase() === 'true';
  if (!/^[\w.:/, -]+$/.test(raw))
    throw new ConfigError(`TRUST_PROXY must be true, false, a hop count or addresses, got "${raw}"`);
  return raw;
}

/**
 * TEMPORAL_TLS (true/false), TEMPORAL_TLS_CERT/KEY/CA, TEMPORAL_TLS_SERVER_NAME and TEMPORAL_API_KEY. TLS is
 * on when TEMPORAL_TLS says so, or, unset, when any TLS file, the server name or an API key is given (an
 * API key over plaintext would travel in clear); TEMPORAL_TLS=false with TLS files is a contradiction.
 */
function temporalSecurity(env: NodeJS.ProcessEnv): TemporalSecurity {
  const file = (name: string): string | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    const resolved = path.resolve(raw);
    try {
      fs.accessSync(resolved, fs.constants.R_OK);
    } catch {
      throw new ConfigError(`${name} names a file that cannot be read: ${resolved}`);
    }
    return resolved;
  };
  const certPath = file('TEMPORAL_TLS_CERT');
  const keyPath = file('TEMPORAL_TLS_KEY');
  const caPath = file('TEMPORAL_TLS_CA');
  const serverName = env.TEMPORAL_TLS_SERVER_NAME || undefined;
  const apiKey = env.TEMPORAL_API_KEY || undefined;
  if ((certPath === undefined) !== (keyPath === undefined))
    throw new ConfigError('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (mTLS needs both)');
  const tlsAsked = certPath !== undefined || caPath !== undefined || serverName !== undefined;
  const explicit =
    env.TEMPORAL_TLS === undefined || env.TEMPORAL_TLS === '' ? undefined : bool(env, 'TEMPORAL_TLS', false);
  if (explicit === false && tlsAsked)
    throw new ConfigError(
      'TEMPORAL_TLS=false contradicts TEMPORAL_TLS_CERT, TEMPORAL_TLS_CA or TEMPORAL_TLS_SERVER_NAME',
    );
  const on = explicit ?? (tlsAsked || apiKey !== undefined);
  return { tls: on ? { serverName, caPath, certPath, keyPath } : undefined, apiKey };
}

/** WEBHOOK_SECRETS: comma-separated `source=secret` pairs; a source is a lower-case name, a secret at least 16 characters. */
export function webhookSecrets(env: NodeJS.ProcessEnv): Record<string, string> {
  const secrets: Record<string, string> = {};
  for (const pair of (env.WEBHOOK_SECRETS ?? '').split(',')) {
    if (pair.trim() === '') continue;
    const at = pair.indexOf('=');
    const source = pair.slice(0, at).trim();
    const secret = pair.slice(at + 1).trim();
    if (at < 0 || !/^[a-z0-9][a-z0-9_-]{0,39}$/.test(source))
      throw new ConfigError(
        'WEBHOOK_SECRETS must be comma-separated source=secret pairs, the source lower-case letters, digits, - or _',
      );
    if (secret.length < 16)
      throw new ConfigError(
        `WEBHOOK_SECRETS: the secret of source "${source}" must be at least 16 characters`,
      );
    if (Object.hasOwn(secrets, source))
      throw new ConfigError(`WEBHOOK_SECRETS names source "${source}" twice`);
    secrets[source] = secret;
  }
  return secrets;
}

/** The user's cache directory for downloaded or built tools (the Temporal CLI). */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'crm-process-engine');
}

/** Reads the configuration from environment variables (see the README's configuration table). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = int(env, 'PORT', 3000);
  const root = PROJECT_ROOT;
  const security: SecuritySettings = {
    authFailureMax: int(env, 'AUTH_FAILURE_MAX', DEFAULT_SECURITY.authFailureMax),
    expensiveMax: int(env, 'EXPENSIVE_RATE_LIMIT', DEFAULT_SECURITY.expensiveMax),
    expensiveWindowSeconds: positive(
      env,
      'EXPENSIVE_RATE_WINDOW_SECONDS',
      DEFAULT_SECURITY.expensiveWindowSeconds,
    ),
    tokenDefaultValidDays: int(env, 'TOKEN_DEFAULT_VALID_DAYS', DEFAULT_SECURITY.tokenDefaultValidDays),
    tokenMaxValidDays: int(env, 'TOKEN_MAX_VALID_DAYS', DEFAULT_SECURITY.tokenMaxValidDays),
  };
  if (security.tokenMaxValidDays > 0 && security.tokenDefaultValidDays === 0)
    throw new ConfigError(
      'TOKEN_DEFAULT_VALID_DAYS must be set (not 0) while TOKEN_MAX_VALID_DAYS bounds tokens',
    );
  if (security.tokenMaxValidDays > 0 && security.tokenDefaultValidDays > security.tokenMaxValidDays)
    throw new ConfigError(
      `TOKEN_DEFAULT_VALID_DAYS (${security.tokenDefaultValidDays}) must not exceed TOKEN_MAX_VALID_DAYS (${security.tokenMaxValidDays})`,
    );
  return {
    port,
    host: env.HOST || '127.0.0.1',
    trustProxy: trustProxy(env),
    publicUrl: env.PUBLIC_URL || `http://localhost:${port}`,
    dataDir: path.resolve(env.DATA_DIR || path.join(root, '.data')),
    databaseUrl: env.DATABASE_URL || undefined,
    embeddedPostgresPort: int(env, 'EMBEDDED_POSTGRES_PORT', 5433),
    embeddedPostgresSettings: pgSettings(env, 'EMBEDDED_POSTGRES_SETTINGS'),
    temporalAddress: env.TEMPORAL_ADDRESS || undefined,
    temporalNamespace: env.TEMPORAL_NAMESPACE || 'default',
    temporalPort: int(env, 'TEMPORAL_PORT', 7233),
    temporalUiPort: int(env, 'TEMPORAL_UI_PORT', 8233),
    temporalCliPath: env.TEMPORAL_CLI_PATH || undefined,
    temporalSecurity: temporalSecurity(env),
    taskQueue: env.TASK_QUEUE || 'crm-cases',
    smtpUrl: env.SMTP_URL || undefined,
    smtpSinkPort: int(env, 'SMTP_SINK_PORT', 2525),
    inboundSmtpPort: env.INBOUND_SMTP_PORT ? int(env, 'INBOUND_SMTP_PORT', 0) : undefined,
    mailFrom: env.MAIL_FROM || 'CRM <crm@localhost>',
    serviceAllowlist: (env.SERVICE_ALLOWLIST ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    serviceSecrets: Object.fromEntries(
      Object.entries(env)
        .filter(([k, v]) => k.startsWith('SERVICE_SECRET_') && v !== undefined)
        .map(([k, v]) => [k.slice('SERVICE_SECRET_'.length).toLowerCase().replace(/_/g, '-'), v as string]),
    ),
    webhookSecrets: webhookSecrets(env),
    webhookDeliveryRetentionDays: positive(env, 'WEBHOOK_DELIVERY_RETENTION_DAYS', 7),
    definitionsDir: path.resolve(env.DEFINITIONS_DIR || path.join(root, 'definitions')),
    logLevel: env.LOG_LEVEL || 'info',
    cacheDir: path.resolve(env.CRM_CACHE_DIR || defaultCacheDir(env)),
    maxPageSize: int(env, 'MAX_PAGE_SIZE', 200),
    bodyLimit: env.BODY_LIMIT || '1mb',
    updateTimeoutMs: int(env, 'UPDATE_TIMEOUT_MS', 15000),
    seedDemo: bool(env, 'SEED_DEMO', true),
    auth: {
      sessionIdleMinutes: positive(env, 'SESSION_IDLE_MINUTES', DEFAULT_AUTH.sessionIdleMinutes),
      sessionMaxHours: positive(env, 'SESSION_MAX_HOURS', DEFAULT_AUTH.sessionMaxHours),
      signInMaxFailures: positive(env, 'SIGN_IN_MAX_FAILURES', DEFAULT_AUTH.signInMaxFailures),
      signInWindowMinutes: positive(env, 'SIGN_IN_WINDOW_MINUTES', DEFAULT_AUTH.signInWindowMinutes),
      inviteValidHours: positive(env, 'INVITE_VALID_HOURS', DEFAULT_AUTH.inviteValidHours),
      resetValidMinutes: positive(env, 'PASSWORD_RESET_VALID_MINUTES', DEFAULT_AUTH.resetValidMinutes),
    },
    webDistDir: path.resolve(env.WEB_DIST_DIR || path.join(root, 'web', 'dist')),
    security,
    metricsToken: env.METRICS_TOKEN || undefined,
    workerOpsPort: int(env, 'WORKER_OPS_PORT', 0),
    workerTuning: {
      maxCachedWorkflows: env.WORKER_MAX_CACHED_WORKFLOWS
        ? positive(env, 'WORKER_MAX_CACHED_WORKFLOWS', 1)
        : undefined,
      maxConcurrentWorkflowTaskExecutions: positive(env, 'WORKER_MAX_CONCURRENT_WORKFLOW_TASKS', 40),
      maxConcurrentActivityTaskExecutions: positive(env, 'WORKER_MAX_CONCURRENT_ACTIVITIES', 50),
    },
    shutdownGraceMs: int(env, 'SHUTDOWN_GRACE_MS', 20_000),
    workflowBundlePath: env.WORKFLOW_BUNDLE_PATH ? path.resolve(env.WORKFLOW_BUNDLE_PATH) : undefined,
  };
}
