import type { ServiceSettings } from '../../activities/service';
/**
 * One integration environment per test file: a migrated database (shared server, own users and teams),
 * an in-process SMTP sink, a worker on its own task queue and the API on a free port.
 * Temporal and PostgreSQL come from jest's global setup (test/global-setup.ts).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { Client, Connection } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import type { NativeConnection } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { TemplateStore } from '../../activities/templates';
import { createApp } from '../../api/app';
import { issueToken } from '../../api/auth';
import { listen } from '../../api/server';
import { createDb, type Db } from '../../db';
import { publishDefinition } from '../../db/definitions';
import { migrate } from '../../db/migrate';
import type { CaseTypeDefinition } from '../../engine/types';
import { startSmtpSink, type SmtpSink } from '../../infra/smtp-sink';
import type { SecuritySettings } from '../../lib/config';
import { createMailer } from '../../lib/mailer';
import { connectTemporal } from '../../lib/temporal';
import { createWorker, WORKFLOWS_PATH } from '../../worker';

type Activities = ReturnType<typeof createActivities>;

export const ROOT = path.resolve(__dirname, '../..');
export const DEFINITIONS_DIR = path.join(ROOT, 'definitions');

/** Reads a shipped definition. */
export function shippedDefinition(name: string): CaseTypeDefinition {
  return JSON.parse(
    fs.readFileSync(path.join(DEFINITIONS_DIR, `${name}.json`), 'utf8'),
  ) as CaseTypeDefinition;
}

/**
 * Gives a definition this environment's names: its id and the teams it assigns to get the prefix, so
 * tests in other files never see its tasks.
 */
export function scoped(def: CaseTypeDefinition, prefix: string): CaseTypeDefinition {
  const text = JSON.stringify(def).replace(/"team":"([\w-]+)"/g, `"team":"${prefix}-$1"`);
  const copy = JSON.parse(text) as CaseTypeDefinition;
  copy.id = `${prefix}-${def.id}`;
  return copy;
}

export interface TestUser {
  id: string;
  token: string;
}

export interface TestEnv {
  prefix: string;
  db: Db;
  client: Client;
  connection: Connection;
  sink: SmtpSink;
  baseUrl: string;
  taskQueue: string;
  temporalAddress: string;
  databaseUrl: string;
  users: Record<'alice' | 'bob' | 'carol' | 'sam' | 'dana' | 'admin', TestUser>;
  /** Publishes a definition (already scoped) and returns its case type id. */
  publish(def: CaseTypeDefinition): Promise<string>;
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  /** HTTP call as a user; returns status, content type and parsed body. */
  http(
    user: TestUser | null,
    method: string,
    url: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<HttpResult>;
  stop(): Promise<void>;
}

export interface HttpResult {
  status: number;
  type: string;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: Headers;
}

let bundlePromise: Promise<{ codePath: string }> | undefined;

/** The workflow bundle: built by global setup (TEST_WORKFLOW_BUNDLE) or here once per test process. */
export function workflowBundle(): Promise<{ codePath: string }> {
  const fromSetup = process.env.TEST_WORKFLOW_BUNDLE;
  if (fromSetup && fs.existsSync(fromSetup)) return Promise.resolve({ codePath: fromSetup });
  bundlePromise ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: silentLogger }).then(
    ({ code }) => {
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'crm-bundle-')), 'workflows.js');
      fs.writeFileSync(file, code);
      return { codePath: file };
    },
  );
  return bundlePromise;
}

const noop = () => undefined;
export const silentLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, log: noop };

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run integration tests through jest (global setup)`);
  return value;
}

/** Seeds this environment's users and teams: alice, bob (sales), carol (support), sam (supervises both). */
async function seedUsers(db: Db, prefix: string): Promise<TestEnv['users']> {
  const defs = [
    ['alice', 'agent', ['sales']],
    ['bob', 'agent', ['sales']],
    ['carol', 'agent', ['support']],
    ['sam', 'supervisor', []],
    ['dana', 'designer', []],
    ['admin', 'admin', []],
  ] as const;
  const users = {} as TestEnv['users'];
  await db.transaction(async (tx) => {
    for (const [name, role] of defs) {
      await tx.query('INSERT INTO users (id, name, email, role) VALUES ($1, $2, $3, $4)', [
        `${prefix}-${name}`,
        `${name[0]?.toUpperCase()}${name.slice(1)} ${prefix}`,
        `${name}.${prefix}@example.com`,
        role,
      ]);
    }
    for (const team of ['sales', 'support']) {
      await tx.query('INSERT INTO teams (id, name, supervisor_id) VALUES ($1, $2, $3)', [
        `${prefix}-${team}`,
        team,
        `${prefix}-sam`,
      ]);
    }
    for (const [name, , teams] of defs) {
      for (const team of teams) {
        await tx.query('INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)', [
          `${prefix}-${team}`,
          `${prefix}-${name}`,
        ]);
      }
    }
    await tx.query(`INSERT INTO entities (id, kind, code, name, agent_id) VALUES ($1, 'CL', $2, $3, $4)`, [
      `${prefix}-acme`,
      `${prefix}-C1`,
      `ACME ${prefix}`,
      `${prefix}-alice`,
    ]);
    for (const [name] of defs) {
      const { token } = await issueToken(tx, `${prefix}-${name}`, 'test');
      users[name] = { id: `${prefix}-${name}`, token };
    }
  });
  return users;
}

/** Starts an environment; call `stop()` in afterAll. */
export async function startTestEnv(
  options: {
    worker?: boolean;
    services?: ServiceSettings;
    /** Changes the worker's activities, e.g. to make a real write slower than the updates arriving. */
    wrapActivities?: (activities: Activities) => Activities;
    /** Rate limits of the API (default: the product's defaults); a bench lifts the expensive-route limit. */
    security?: SecuritySettings;
  } = {},
): Promise<TestEnv> {
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const temporalAddress = required('TEST_TEMPORAL_ADDRESS');
  const databaseUrl = required('TEST_DATABASE_URL');
  const db = createDb(databaseUrl);
  await migrate(db);
  const users = await seedUsers(db, prefix);
  const sink = await startSmtpSink({ port: 0, host: '127.0.0.1' });
  const mailer = createMailer(`smtp://127.0.0.1:${sink.port}`);
  const { client, connection } = await connectTemporal(temporalAddress, 'default');
  const taskQueue = `q-${prefix}`;
  const publicUrl = 'http://localhost:3000';
  const created = createActivities({
    db,
    mailer,
    templates: new TemplateStore(path.join(DEFINITIONS_DIR, 'templates')),
    mailFrom: 'CRM <crm@example.com>',
    publicUrl,
    ...(options.services ? { services: options.services } : {}),
  });
  const activities = options.wrapActivities ? options.wrapActivities(created) : created;
  const app = createApp({
    db,
    client,
    taskQueue,
    publicUrl,
    maxPageSize: 200,
    bodyLimit: '1mb',
    ...(options.security ? { security: options.security } : {}),
    updateTimeoutMs: 10_000,
    mailbox: sink,
    probes: { smtp: () => mailer.verify() },
    accountMail: {
      transport: mailer,
      from: 'CRM <crm@example.com>',
      templatesDir: path.join(DEFINITIONS_DIR, 'templates'),
    },
  });
  const server = await listen(app, 0, '127.0.0.1');
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  let worker: { worker: Worker; connection: NativeConnection; running: Promise<void> } | undefined;
  const env: TestEnv = {
    prefix,
    db,
    client,
    connection,
    sink,
    baseUrl,
    taskQueue,
    temporalAddress,
    databaseUrl,
    users,
    async publish(def) {
      const hash = randomBytes(16).toString('hex');
      await publishDefinition(db, def, hash);
      return def.id;
    },
    async startWorker() {
      if (worker) return;
      const created = await createWorker({
        address: temporalAddress,
        namespace: 'default',
        taskQueue,
        activities,
        workflowBundle: await workflowBundle(),
      });
      worker = { ...created, running: created.worker.run() };
    },
    async stopWorker() {
      if (!worker) return;
      const w = worker;
      worker = undefined;
      w.worker.shutdown();
      await w.running;
      await w.connection.close();
    },
    async http(user, method, url, body, headers = {}) {
      const res = await fetch(baseUrl + url, {
        method,
        headers: {
          ...(user ? { authorization: `Bearer ${user.token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const type = res.headers.get('content-type') ?? '';
      const text = await res.text();
      return {
        status: res.status,
        type,
        body: type.includes('json') && text ? JSON.parse(text) : text,
        headers: res.headers,
      };
    },
    async stop() {
      await env.stopWorker();
      await new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      mailer.close();
      await sink.stop();
      await connection.close();
      await db.close();
    },
  };
  if (options.worker !== false) await env.startWorker();
  return env;
}

/** Polls `fn` until it returns a truthy value, failing after `timeoutMs`. */
export async function eventually<T>(
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
