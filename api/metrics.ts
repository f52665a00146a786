import type { RequestHandler, Router } from 'express';
import { Router as createRouter } from 'express';
import { Histogram, type Registry } from 'prom-client';
import type { Db } from '../db';
import { createRegistry, mayReadMetrics, registerOperationalGauges } from '../lib/metrics';
import { ProblemError } from './problem';

/** Seconds; from a cached inbox read (about 2 ms) to an update that waits on a busy worker. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The API's metrics: HTTP latency by route template, case starts and actions, inbox queries. */
export class ApiMetrics {
  readonly registry: Registry;
  private readonly http: Histogram<'method' | 'route' | 'status'>;
  private readonly caseCalls: Histogram<'call' | 'result'>;
  private readonly inbox: Histogram;

  constructor(db: Db) {
    this.registry = createRegistry('api');
    registerOperationalGauges(this.registry, db);
    this.http = new Histogram({
      name: 'crm_http_request_duration_seconds',
      help: 'HTTP requests by method, route template (never the concrete path) and status',
      labelNames: ['method', 'route', 'status'],
      buckets: BUCKETS,
      registers: [this.registry],
    });
    this.caseCalls = new Histogram({
      name: 'crm_case_call_duration_seconds',
      help: 'Case starts and task actions through Temporal, until the read model is written',
      labelNames: ['call', 'result'],
      buckets: BUCKETS,
      registers: [this.registry],
    });
    this.inbox = new Histogram({
      name: 'crm_inbox_query_duration_seconds',
      help: 'The inbox queries (page and badge counts) in Postgres',
      buckets: BUCKETS,
      registers: [this.registry],
    });
  }

  /** Observes every request when its answer is sent, labelled by the route that handled it. */
  readonly middleware: RequestHandler = (req, res, next) => {
    const end = this.http.startTimer({ method: req.method });
    res.once('finish', () => {
      // The matched route's template (`/api/tasks/:id/claim`); unmatched paths share one label.
      // An error leaves the router before `finish`, resetting baseUrl: `markBase` kept it.
      const base = (res.locals.routeBase as string | undefined) ?? req.baseUrl;
      const template = req.route ? `${base}${String(req.route.path)}` : 'unmatched';
      end({ route: template, status: String(res.statusCode) });
    });
    next();
  };

  /** Mount first in a nested router (`/api`): remembers its base for the route label. */
  readonly markBase: RequestHandler = (req, res, next) => {
    res.locals.routeBase = req.baseUrl;
    next();
  };

  /** Times a case start (`start`) or a task action (its type: `claim`, `complete`, ...). */
  async timeCaseCall<T>(call: string, fn: () => Promise<T>): Promise<T> {
    const end = this.caseCalls.startTimer({ call });
    try {
      const result = await fn();
      end({ result: 'ok' });
      return result;
    } catch (err) {
      end({ result: err instanceof ProblemError && err.status < 500 ? 'refused' : 'failed' });
      throw err;
    }
  }

  /** Times the inbox's Postgres queries. */
  async timeInbox<T>(fn: () => Promise<T>): Promise<T> {
    const end = this.inbox.startTimer();
    try {
      return await fn();
    } finally {
      end();
    }
  }

  /** GET /metrics: Prometheus text, for METRICS_TOKEN's bearer or a client on this host (lib/metrics.ts). */
  routes(token: string | undefined): Router {
    const router = createRouter();
    router.get('/metrics', async (req, res) => {
      if (!mayReadMetrics(req, token))
        throw ProblemError.forbidden(
          'Metrics need METRICS_TOKEN as a bearer token, or a client on this host',
        );
      res
        .set('Cache-Control', 'no-store')
        .type(this.registry.contentType)
        .send(await this.registry.metrics());
    });
    return router;
  }
}
