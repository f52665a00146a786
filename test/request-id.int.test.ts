/**
 * Request ids (issue 16): every answer carries X-Request-Id, a sane incoming one is kept, an unsafe one
 * replaced, and a case start carries it into Temporal (the workflow's memo `requestId`).
 */
import { loggedUrl } from '../api/request-log';
import { scoped, shippedDefinition, startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;
let caseType: string;

beforeAll(async () => {
  env = await startTestEnv();
  caseType = await env.publish(scoped(shippedDefinition('opportunity'), env.prefix));
});

afterAll(async () => {
  await env?.stop();
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

it('answers with a fresh request id when none is sent, a new one per request', async () => {
  const a = await env.http(null, 'GET', '/livez');
  const b = await env.http(env.users.alice, 'GET', '/api/inbox');
  expect(a.headers.get('x-request-id')).toMatch(UUID);
  expect(b.headers.get('x-request-id')).toMatch(UUID);
  expect(a.headers.get('x-request-id')).not.toBe(b.headers.get('x-request-id'));
});

it('keeps a sane incoming X-Request-Id and replaces an unsafe one', async () => {
  const kept = await env.http(env.users.alice, 'GET', '/api/inbox', undefined, {
    'x-request-id': 'lb-7f3a.91:2',
  });
  expect(kept.headers.get('x-request-id')).toBe('lb-7f3a.91:2');
  for (const unsafe of ['a'.repeat(129), 'has space', 'semi;colon', '']) {
    const res = await env.http(null, 'GET', '/livez', undefined, { 'x-request-id': unsafe });
    expect(res.headers.get('x-request-id')).toMatch(UUID);
  }
});

it('carries the request id of a case start into the workflow memo', async () => {
  const res = await env.http(
    env.users.alice,
    'POST',
    '/api/cases',
    { caseType, entityId: `${env.prefix}-acme`, data: { subject: 'Traced', amount: 10, currency: 'EUR' } },
    { 'x-request-id': `trace-${env.prefix}` },
  );
  expect(res.status).toBe(201);
  expect(res.headers.get('x-request-id')).toBe(`trace-${env.prefix}`);
  const described = await env.client.workflow.getHandle(res.body.id).describe();
  expect(described.memo).toMatchObject({ requestId: `trace-${env.prefix}` });
});

it('logs no query string and masks the secret of a calendar feed or unsubscribe link', () => {
  expect(loggedUrl('/api/inbox?cursor=abc&token=t-1')).toBe('/api/inbox');
  expect(loggedUrl('/calendar/s3cr3t.ics?x=1')).toBe('/calendar/***');
  expect(loggedUrl('/unsubscribe/tok-123')).toBe('/unsubscribe/***');
  expect(loggedUrl('/api/cases/case-1')).toBe('/api/cases/case-1');
});
