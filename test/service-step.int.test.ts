/**
 * A service step against a local HTTP server on the real stack: success with the response saved, a retry
 * after a 503 then success, the failure path after the retries, and an address outside the allowlist.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CaseTypeDefinition } from '../engine/types';
import { eventually, startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;
let server: http.Server;
let base: string;
const calls: { path: string; key: string | undefined; auth: string | undefined; body: string }[] = [];
/** Per path: the statuses to answer, in order (then 200). */
const script = new Map<string, number[]>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const path = req.url ?? '';
      calls.push({
        path,
        key: req.headers['idempotency-key'] as string | undefined,
        auth: req.headers.authorization,
        body,
      });
      const status = script.get(path)?.shift() ?? 200;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(status === 200 ? { score: 720, path } : { error: status }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  env = await startTestEnv({
    services: { allowlist: [`${base}/credit/`], secrets: { 'credit-key': 'Bearer s3cret' }, timeoutMs: 5000 },
  });
});
afterAll(async () => {
  await env?.stop();
  await new Promise((resolve) => server.close(resolve));
});

async function typeWith(url: string): Promise<string> {
  const def: CaseTypeDefinition = {
    dslVersion: '1',
    id: `${env.prefix}-svc-${calls.length}-${Math.random().toString(36).slice(2, 6)}`,
    version: '1',
    name: 'Credit check',
    statuses: [
      { code: 'OPEN', name: 'Open', category: 'open' },
      { code: 'SCORED', name: 'Scored', category: 'closed' },
      { code: 'MANUAL', name: 'Manual', category: 'closed' },
    ],
    initialStatus: 'OPEN',
    start: 'score',
    steps: {
      score: {
        type: 'service',
        request: {
          method: 'POST',
          url,
          secretHeaders: { authorization: 'credit-key' },
          body: { customer: '{{data.customer}}' },
        },
        saveAs: 'credit',
        retry: { maximumAttempts: 3, initialInterval: 'PT1S' },
        then: { status: 'SCORED', end: true },
        onFailure: { status: 'MANUAL', end: true },
      },
    },
  };
  return env.publish(def);
}

async function run(url: string): Promise<{
  status: string;
  data: Record<string, unknown>;
  timeline: { kind: string; detail: Record<string, unknown> }[];
}> {
  const started = await env.http(env.users.admin, 'POST', '/api/cases', {
    caseType: await typeWith(url),
    data: { customer: 'ACME' },
  });
  expect(started.status).toBe(201);
  return eventually(
    async () => {
      const view = (await env.http(env.users.admin, 'GET', `/api/cases/${started.body.id as string}`)).body;
      return view.endedAt ? view : undefined;
    },
    20_000,
    'the case to end',
  );
}

it('saves the response and goes on, sending the secret header, the rendered body and an idempotency key', async () => {
  const view = await run(`${base}/credit/ok`);
  expect(view.status).toBe('SCORED');
  expect(view.data.credit).toEqual({ score: 720, path: '/credit/ok' });
  const call = calls.filter((c) => c.path === '/credit/ok');
  expect(call).toHaveLength(1);
  expect(call[0]).toMatchObject({ auth: 'Bearer s3cret', body: JSON.stringify({ customer: 'ACME' }) });
  expect(call[0]?.key).toMatch(/:tok-/);
});

it('retries after a 503 and then succeeds, with the same idempotency key', async () => {
  script.set('/credit/flaky', [503]);
  const view = await run(`${base}/credit/flaky`);
  expect(view.status).toBe('SCORED');
  const flaky = calls.filter((c) => c.path === '/credit/flaky');
  expect(flaky).toHaveLength(2);
  expect(flaky[0]?.key).toBe(flaky[1]?.key);
});

it('takes the failure path when every attempt fails', async () => {
  script.set('/credit/down', [500, 500, 500]);
  const view = await run(`${base}/credit/down`);
  expect(view.status).toBe('MANUAL');
  expect(calls.filter((c) => c.path === '/credit/down')).toHaveLength(3);
  expect(view.timeline.find((e) => e.kind === 'service.failed')?.detail.error).toContain('500');
});

it('refuses an address outside the allowlist without calling it', async () => {
  const before = calls.length;
  const view = await run(`${base}/admin/delete-everything`);
  expect(view.status).toBe('MANUAL');
  expect(calls.length).toBe(before);
  expect(view.timeline.find((e) => e.kind === 'service.failed')?.detail.error).toContain(
    'not on the service allowlist',
  );
});
