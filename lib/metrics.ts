/** Prometheus metrics shared by the API and the worker (prom-client), and who may read them. */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Queryable } from '../db';
import { readOperationalCounts } from '../db/stats';
import { logger } from './logger';

/** A registry with Node's process metrics (CPU, memory, event-loop lag, GC), labelled with the process role. */
export function createRegistry(role: 'api' | 'worker'): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ role });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * Gauges of the background work read from Postgres at each scrape: outbox emails by state, imports by
 * status with their rows still to process, and the targets of running or paused campaigns by state.
 * A scrape while Postgres is down reports none of them (and logs why) instead of failing.
 */
export function registerOperationalGauges(registry: Registry, db: Queryable): void {
  let pending: Promise<void> | undefined;
  // One query set per scrape, however many of these gauges are collected.
  const collect = () =>
    (pending ??= readOperationalCounts(db)
      .then((counts) => {
        for (const g of gauges) g.reset();
        for (const r of counts.outbox) outbox.set({ state: r.state }, r.count);
        for (const r of counts.imports) {
          imports.set({ status: r.status }, r.count);
          importRows.set({ status: r.status }, r.pendingRows);
        }
        for (const r of counts.campaignTargets) targets.set({ state: r.state }, r.count);
      })
      .catch((err: unknown) => {
        for (const g of gauges) g.reset();
        logger.warn({ err }, 'metrics: could not read operational counts');
      })
      .finally(() => setImmediate(() => (pending = undefined))));
  const gauge = (name: string, help: string, label: string) =>
    new Gauge({ name, help, labelNames: [label], registers: [registry], collect });
  const outbox = gauge('crm_email_outbox_emails', 'Emails in the outbox by state', 'state');
  const imports = gauge('crm_imports', 'Import jobs by status', 'status');
  const importRows = gauge('crm_import_rows_pending', 'Rows of import jobs not processed yet', 'status');
  const targets = gauge('crm_campaign_targets', 'Targets of running or paused campaigns by state', 'state');
  const gauges = [outbox, imports, importRows, targets];
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/**
 * Who may read /metrics: with METRICS_TOKEN, a request sending it as `Authorization: Bearer`; without,
 * only a client on this host that came through no proxy (no X-Forwarded-For).
 */
export function mayReadMetrics(req: IncomingMessage, token: string | undefined): boolean {
  if (token !== undefined) {
    const sent = Buffer.from(/^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '');
    const expected = Buffer.from(token);
    return sent.length === expected.length && timingSafeEqual(sent, expected);
  }
  return LOOPBACK.has(req.socket.remoteAddress ?? '') && req.headers['x-forwarded-for'] === undefined;
}
