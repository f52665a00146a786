/** The worker's operations port: /livez, /readyz and /metrics (its own and the Temporal SDK's). */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { freePort } from '../infra/ports';
import { checkComponents, REQUIRED_COMPONENTS, type Probes } from '../lib/health';
import { mayReadMetrics } from '../lib/metrics';
import { installRuntime } from './index';

export interface WorkerOpsOptions {
  host: string;
  port: number;
  probes: Probes;
  registry: Registry;
  /** The SDK's Prometheus exporter (`Runtime.install` telemetry, bound to loopback), appended to /metrics. */
  sdkMetricsUrl?: string;
  metricsToken: string | undefined;
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' }).end(body);
}

/** The SDK's metrics text; empty (and a comment saying why) when its exporter does not answer. */
async function sdkMetrics(url: string | undefined): Promise<string> {
  if (!url) return '';
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return res.ok ? await res.text() : `# Temporal SDK metrics: HTTP ${res.status}\n`;
  } catch (err) {
    return `# Temporal SDK metrics unavailable: ${(err as Error).message}\n`;
  }
}

/**
 * Serves the worker's probes: `/livez` (the process answers), `/readyz` (Postgres and Temporal, 503 with
 * Retry-After otherwise) and `/metrics` (prom-client's registry, then the SDK's worker and connection
 * metrics: task slots, poll and schedule latencies, sticky cache). `/metrics` follows the API's rule:
 * METRICS_TOKEN as a bearer token, or a client on this host.
 */
export async function startWorkerOps(options: WorkerOpsOptions): Promise<http.Server> {
  const json = (res: http.ServerResponse, status: number, body: unknown) =>
    send(res, status, 'application/json', JSON.stringify(body));
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') return json(res, 405, { status: 405, title: 'Method not allowed' });
    if (path === '/livez') return json(res, 200, { status: 'up' });
    if (path === '/readyz') {
      void checkComponents(options.probes, REQUIRED_COMPONENTS).then((report) => {
        if (report.status !== 'up') res.setHeader('Retry-After', '5');
        json(res, report.status === 'up' ? 200 : 503, report);
      });
      return;
    }
    if (path === '/metrics') {
      if (!mayReadMetrics(req, options.metricsToken))
        return json(res, 403, {
          status: 403,
          title: 'Forbidden',
          detail: 'Send METRICS_TOKEN as a bearer token',
        });
      void Promise.all([options.registry.metrics(), sdkMetrics(options.sdkMetricsUrl)]).then(
        ([own, sdk]) => send(res, 200, options.registry.contentType, own + '\n' + sdk),
        (err: unknown) => json(res, 500, { status: 500, title: 'Metrics failed', detail: String(err) }),
      );
      return;
    }
    json(res, 404, { status: 404, title: 'Not found' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return server;
}

/** The port a started ops server listens on (for port 0). */
export const opsPort = (server: http.Server): number => (server.address() as AddressInfo).port;

/**
 * Installs the SDK runtime for a worker process whose ops port is on (`WORKER_OPS_PORT` > 0): the SDK's
 * Prometheus exporter listens on a free loopback port, read and appended by this process's /metrics.
 * Returns that exporter's URL. Call before creating the worker.
 */
export async function installWorkerTelemetry(opsPort: number): Promise<string | undefined> {
  if (opsPort === 0) {
    installRuntime();
    return undefined;
  }
  // Never the ops port itself: the OS may hand out a port just released by whoever chose that one.
  let port = await freePort();
  while (port === opsPort) port = await freePort();
  installRuntime({ prometheusBindAddress: `127.0.0.1:${port}` });
  return `http://127.0.0.1:${port}/metrics`;
}
