/**
 * Messages correlated by business key on the real stack (issue 13, item 2): a case type names a field as its
 * `businessKey`; a message that names the key (POST /api/messages, or a signed webhook) reaches the one
 * running case holding it, and nothing else. Expected cases are the ones each test started itself.
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { CaseTypeDefinition } from '../engine/types';
import { startTestEnv, type TestEnv, type TestUser } from './support/env';

const SECRET = 'erp-test-secret-0123456789';
let env: TestEnv;
let orders: string;
let returns: string;
let tickets: string;

/** Waits for "shipped" then "paid"; the order number is the business key. */
function definition(id: string, key: { name: string; type: 'string' | 'integer' }): CaseTypeDefinition {
  return {
    dslVersion: '1',
    id,
    version: '1',
    name: `Wait for the ERP (${id})`,
    statuses: [
      { code: 'OPEN', name: 'Open', category: 'open' },
      { code: 'SHIPPED', name: 'Shipped', category: 'open' },
      { code: 'WON', name: 'Won', category: 'won' },
    ],
    initialStatus: 'OPEN',
    businessKey: key.name,
    fields: { type: 'object', properties: { [key.name]: { type: key.type } } },
    start: 'shipped',
    messages: [{ name: 'shipped' }, { name: 'paid' }],
    steps: {
      shipped: { type: 'wait', message: 'shipped', then: { status: 'SHIPPED', next: 'paid' } },
      paid: { type: 'wait', message: 'paid', then: { status: 'WON', end: true } },
    },
  };
}

beforeAll(async () => {
  process.env.WEBHOOK_SECRETS = `erp=${SECRET}`;
  env = await startTestEnv();
  orders = await env.publish(definition(`${env.prefix}-order`, { name: 'orderNumber', type: 'string' }));
  returns = await env.publish(definition(`${env.prefix}-return`, { name: 'orderNumber', type: 'string' }));
  tickets = await env.publish(definition(`${env.prefix}-ticket`, { name: 'ticketNo', type: 'integer' }));
});
afterAll(async () => {
  delete process.env.WEBHOOK_SECRETS;
  await env?.stop();
});

async function startCase(caseType: string, data: Record<string, unknown>, user?: TestUser): Promise<string> {
  const started = await env.http(user ?? env.users.alice, 'POST', '/api/cases', { caseType, data });
  expect(started.status).toBe(201);
  return started.body.id as string;
}

const caseOf = async (caseId: string) =>
  (await env.http(env.users.admin, 'GET', `/api/cases/${caseId}`)).body as {
    status: string;
    businessKey: string | null;
    endedAt: string | null;
    timeline: { kind: string; actor: string; detail: Record<string, unknown> }[];
  };

const key = () => `PO-${randomUUID().slice(0, 8)}`;

function signedDelivery(body: Record<string, unknown>, delivery = randomUUID()) {
  const raw = JSON.stringify(body);
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = createHmac('sha256', SECRET).update(`${timestamp}.${raw}`).digest('hex');
  return env.http(null, 'POST', '/api/webhooks/erp/messages', raw, {
    'x-webhook-timestamp': String(timestamp),
    'x-webhook-signature': `sha256=${signature}`,
    'x-webhook-delivery': delivery,
  });
}

describe('a message correlated by business key', () => {
  it('reaches the running case holding the key, and no other; the case shows its key', async () => {
    const po = key();
    const target = await startCase(orders, { orderNumber: po });
    const other = await startCase(orders, { orderNumber: key() });
    expect((await caseOf(target)).businessKey).toBe(po);

    const res = await env.http(env.users.alice, 'POST', '/api/messages', {
      name: 'shipped',
      businessKey: po,
      payload: { tracking: 'TR-9' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: target, status: 'SHIPPED', businessKey: po });
    expect((await caseOf(target)).timeline.filter((e) => e.kind === 'message.received')).toEqual([
      expect.objectContaining({ actor: env.users.alice.id }),
    ]);
    expect((await caseOf(other)).status).toBe('OPEN');

    const found = await env.http(env.users.alice, 'GET', `/api/cases?businessKey=${po}`);
    expect(found.status).toBe(200);
    expect(found.body.items.map((c: { id: string }) => c.id)).toEqual([target]);
  });

  it('answers 404 no-correlated-case for an unknown key and for a case that has ended', async () => {
    const unknown = await env.http(env.users.alice, 'POST', '/api/messages', {
      name: 'shipped',
      businessKey: key(),
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.type).toMatch(/\/no-correlated-case$/);

    const po = key();
    const caseId = await startCase(orders, { orderNumber: po });
    for (const name of ['shipped', 'paid'])
      expect(
        (await env.http(env.users.alice, 'POST', '/api/messages', { name, businessKey: po })).status,
      ).toBe(200);
    expect((await caseOf(caseId)).endedAt).not.toBeNull();
    const after = await env.http(env.users.alice, 'POST', '/api/messages', { name: 'paid', businessKey: po });
    expect(after.status).toBe(404);
    expect(after.body.type).toMatch(/\/no-correlated-case$/);
  });

  it('refuses a key two running cases share with 409 naming both, and delivers once the case type is named', async () => {
    const po = key();
    const order = await startCase(orders, { orderNumber: po });
    const ret = await startCase(returns, { orderNumber: po });
    const both = await env.http(env.users.alice, 'POST', '/api/messages', {
      name: 'shipped',
      businessKey: po,
    });
    expect(both.status).toBe(409);
    expect(both.body.type).toMatch(/\/correlation-ambiguous$/);
    expect(both.body.cases).toEqual([
      { id: order, caseType: orders },
      { id: ret, caseType: returns },
    ]);
    expect((await caseOf(order)).status).toBe('OPEN');
    expect((await caseOf(ret)).status).toBe('OPEN');

    const named = await env.http(env.users.alice, 'POST', '/api/messages', {
      name: 'shipped',
      businessKey: po,
      caseType: returns,
    });
    expect(named.status).toBe(200);
    expect(named.body.id).toBe(ret);
    expect((await caseOf(order)).status).toBe('OPEN');
  });

  it('correlates an integer key by its digits, and only among the cases the caller may see', async () => {
    const number = 100000 + Math.floor(Math.random() * 800000);
    const caseId = await startCase(tickets, { ticketNo: number });
    expect((await caseOf(caseId)).businessKey).toBe(String(number));
    // carol (support) neither owns the case nor sees a task of it: for her there is no such case.
    const foreign = await env.http(env.users.carol, 'POST', '/api/messages', {
      name: 'shipped',
      businessKey: String(number),
    });
    expect(foreign.status).toBe(404);
    expect(foreign.body.type).toMatch(/\/no-correlated-case$/);
    expect((await caseOf(caseId)).status).toBe('OPEN');
    const own = await env.http(env.users.alice, 'POST', '/api/messages', {
      name: 'shipped',
      businessKey: String(number),
    });
    expect(own.status).toBe(200);
    expect(own.body.id).toBe(caseId);
  });

  it('answers 400 with a pointer for a missing key', async () => {
    const res = await env.http(env.users.alice, 'POST', '/api/messages', { name: 'shipped' });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ pointer: '/body/businessKey' })]);
  });
});

describe('a signed webhook delivery by business key', () => {
  it('reaches the running case, and a repeated delivery answers the first result even after the case ended', async () => {
    const po = key();
    const caseId = await startCase(orders, { orderNumber: po });
    const delivery = randomUUID();
    const first = await signedDelivery({ name: 'shipped', businessKey: po, caseType: orders }, delivery);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ source: 'erp', caseId, message: 'shipped', caseStatus: 'SHIPPED' });
    expect((await signedDelivery({ name: 'paid', businessKey: po })).status).toBe(200);
    expect((await caseOf(caseId)).endedAt).not.toBeNull();

    const again = await signedDelivery({ name: 'shipped', businessKey: po, caseType: orders }, delivery);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    const received = (await caseOf(caseId)).timeline.filter((e) => e.kind === 'message.received');
    expect(received.map((e) => e.actor)).toEqual(['webhook:erp', 'webhook:erp']);

    const none = await signedDelivery({ name: 'shipped', businessKey: po });
    expect(none.status).toBe(404);
    expect(none.body.type).toMatch(/\/no-correlated-case$/);
  });
});
