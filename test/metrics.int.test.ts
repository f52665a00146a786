/**
 * Prometheus metrics on the real stack: the API's /metrics after real calls (route templates, case
 * starts, inbox queries, outbox states) and who may read it.
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../api/app';
import { listen } from '../api/server';
import { scoped, shippedDefinition, startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;
const servers: http.Server[] = [];

beforeAll(async () => {
  env = await startTestEnv();
});

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await env?.stop();
});

/** The value of one sample line (`name{labels} value`), or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const inside = line.slice(name.length + 1, line.lastIndexOf('}'));
    if (Object.entries(labels).every(([k, v]) => inside.includes(`${k}="${v}"`)))
      return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('the API', () => {
  it('reports request latency by route template and status, case starts, inbox queries and the outbox', async () => {
    const caseType = await env.publish(scoped(shippedDefinition('opportunity'), env.prefix));
    const started = await env.http(env.users.alice, 'POST', '/api/cases', {
      caseType,
      entityId: `${env.prefix}-acme`,
      data: { subject: 'Metrics', amount: 1000, currency: 'EUR' },
    });
    expect(started.status).toBe(201);
    expect((await env.http(env.users.alice, 'GET', '/api/inbox')).status).toBe(200);
    expect((await env.http(env.users.alice, 'GET', `/api/cases/${started.body.id}`)).status).toBe(200);
    expect((await env.http(env.users.alice, 'GET', '/api/cases/nope-nope')).status).toBe(404);

    const res = await fetch(`${env.baseUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    const count = 'crm_http_request_duration_seconds_count';
    expect(sample(text, count, { method: 'POST', route: '/api/cases', status: '201' })).toBe(1);
    expect(sample(text, count, { method: 'GET', route: '/api/inbox', status: '200' })).toBe(1);
    // A route template, never the case id.
    expect(sample(text, count, { method: 'GET', route: '/api/cases/:id', status: '200' })).toBe(1);
    expect(sample(text, count, { method: 'GET', route: '/api/cases/:id', status: '404' })).toBe(1);
    expect(text).not.toContain(started.body.id);
    expect(sample(text, 'crm_case_call_duration_seconds_count', { call: 'start', result: 'ok' })).toBe(1);
    expect(text).toMatch(/^crm_inbox_query_duration_seconds_count\{role="api"\} 1$/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total\{role="api"\} /m);

    // The outbox as Postgres has it (shared by the test files: compared with a count read the same moment).
    const [{ sent } = { sent: '0' }] = await env.db.query<{ sent: string }>(
      `SELECT count(*) AS sent FROM email_outbox WHERE state = 'sent'`,
    );
    const reported = sample(await (await fetch(`${env.baseUrl}/metrics`)).text(), 'crm_email_outbox_emails', {
      state: 'sent',
    });
    expect(reported ?? 0).toBeGreaterThanOrEqual(Number(sent));
  });

  it('answers only METRICS_TOKEN when one is set, and a client on this host otherwise', async () => {
    const app = createApp({
      db: env.db,
      client: env.client,
      taskQueue: env.taskQueue,
      publicUrl: 'http://localhost:3000',
      maxPageSize: 200,
      bodyLimit: '1mb',
      updateTimeoutMs: 10_000,
      metricsToken: 'scrape-secret',
    });
    const server = await listen(app, 0, '127.0.0.1');
    servers.push(server);
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect((await fetch(`${base}/metrics`)).status).toBe(403);
    const wrong = await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer scrape-secreT' } });
    expect(wrong.status).toBe(403);
    expect((await wrong.json()) as object).not.toHaveProperty('instance', expect.stringContaining('secret'));
    const right = await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer scrape-secret' } });
    expect(right.status).toBe(200);
    // Without a token: a request that came through a proxy is not "on this host".
    const proxied = await fetch(`${env.baseUrl}/metrics`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(proxied.status).toBe(403);
  });
});
