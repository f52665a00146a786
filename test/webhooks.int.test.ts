/**
 * Messages from other systems through the signed webhook route, on the real stack (Temporal dev server,
 * Postgres, the API): a valid signature moves the case as its definition says, bad or stale signatures
 * are refused, and a repeated delivery id delivers the message once.
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { CaseTypeDefinition } from '../engine/types';
import { startTestEnv, type TestEnv } from './support/env';

const SECRET = 'erp-test-secret-0123456789';
let env: TestEnv;
let caseType: string;

function definition(prefix: string): CaseTypeDefinition {
  return {
    dslVersion: '1',
    id: `${prefix}-order`,
    version: '1',
    name: 'Wait for the ERP',
    statuses: [
      { code: 'OPEN', name: 'Open', category: 'open' },
      { code: 'SHIPPED', name: 'Shipped', category: 'open' },
      { code: 'WON', name: 'Won', category: 'won' },
    ],
    initialStatus: 'OPEN',
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
  caseType = await env.publish(definition(env.prefix));
});
afterAll(async () => {
  delete process.env.WEBHOOK_SECRETS;
  await env?.stop();
});

/** The signature a sender computes: HMAC-SHA256 over `<timestamp>.<raw body>`, hex. */
function sign(secret: string, timestamp: number, raw: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${raw}`).digest('hex')}`;
}

const now = () => Math.floor(Date.now() / 1000);

async function deliver(
  caseId: string,
  message: Record<string, unknown>,
  opts: { secret?: string; timestamp?: number; delivery?: string; source?: string } = {},
) {
  const raw = JSON.stringify(message);
  const timestamp = opts.timestamp ?? now();
  return env.http(null, 'POST', `/api/webhooks/${opts.source ?? 'erp'}/cases/${caseId}/messages`, raw, {
    'x-webhook-timestamp': String(timestamp),
    'x-webhook-signature': sign(opts.secret ?? SECRET, timestamp, raw),
    'x-webhook-delivery': opts.delivery ?? randomUUID(),
  });
}

async function startCase(): Promise<string> {
  const started = await env.http(env.users.alice, 'POST', '/api/cases', { caseType, data: {} });
  expect(started.status).toBe(201);
  return started.body.id as string;
}

const caseOf = async (caseId: string) =>
  (await env.http(env.users.admin, 'GET', `/api/cases/${caseId}`)).body as {
    status: string;
    timeline: { kind: string; actor: string; detail: Record<string, unknown> }[];
  };

describe('a signed webhook delivery', () => {
  it('delivers the message: the case moves as its definition says, the timeline names the source', async () => {
    const caseId = await startCase();
    const res = await deliver(caseId, { name: 'shipped', payload: { tracking: 'TR-1' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ source: 'erp', caseId, message: 'shipped', caseStatus: 'SHIPPED' });
    const view = await caseOf(caseId);
    expect(view.status).toBe('SHIPPED');
    const received = view.timeline.filter((e) => e.kind === 'message.received');
    expect(received).toEqual([expect.objectContaining({ actor: 'webhook:erp' })]);
  });

  it('refuses a bad signature, an unknown source and a missing signature alike, with 401', async () => {
    const caseId = await startCase();
    const bad = await deliver(caseId, { name: 'shipped' }, { secret: 'not-the-secret-at-all' });
    const unknown = await deliver(caseId, { name: 'shipped' }, { source: 'forms' });
    const missing = await env.http(null, 'POST', `/api/webhooks/erp/cases/${caseId}/messages`, {
      name: 'shipped',
    });
    for (const res of [bad, unknown, missing]) {
      expect(res.status).toBe(401);
      expect(res.type).toContain('application/problem+json');
      expect(res.body.type).toMatch(/\/webhook-signature-invalid$/);
      expect(JSON.stringify(res.body)).not.toContain(SECRET);
    }
    expect(unknown.body.detail).toBe(bad.body.detail);
    expect((await caseOf(caseId)).status).toBe('OPEN');
  });

  it('refuses a body changed after signing (the signature covers the raw bytes)', async () => {
    const caseId = await startCase();
    const timestamp = now();
    const res = await env.http(
      null,
      'POST',
      `/api/webhooks/erp/cases/${caseId}/messages`,
      '{"name": "shipped"}',
      {
        'x-webhook-timestamp': String(timestamp),
        'x-webhook-signature': sign(SECRET, timestamp, '{"name":"shipped"}'),
        'x-webhook-delivery': randomUUID(),
      },
    );
    expect(res.status).toBe(401);
    expect(res.body.type).toMatch(/\/webhook-signature-invalid$/);
  });

  it('refuses a stale timestamp, even correctly signed', async () => {
    const caseId = await startCase();
    const res = await deliver(caseId, { name: 'shipped' }, { timestamp: now() - 301 });
    expect(res.status).toBe(401);
    expect(res.body.type).toMatch(/\/webhook-timestamp-stale$/);
    expect((await caseOf(caseId)).status).toBe('OPEN');
  });

  it('delivers a repeated delivery id once and answers the first result again', async () => {
    const caseId = await startCase();
    const delivery = randomUUID();
    const first = await deliver(caseId, { name: 'shipped' }, { delivery });
    expect(first.status).toBe(200);
    const again = await deliver(caseId, { name: 'shipped' }, { delivery, timestamp: now() + 1 });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    const view = await caseOf(caseId);
    expect(view.timeline.filter((e) => e.kind.startsWith('message.'))).toHaveLength(1);
    // A new delivery id is a new message: the case goes on.
    const paid = await deliver(caseId, { name: 'paid' });
    expect(paid.body.caseStatus).toBe('WON');
    // The case has ended: a further message is refused, and the first delivery still answers as before.
    const late = await deliver(caseId, { name: 'paid' });
    expect(late.status).toBe(409);
    expect(late.body.type).toMatch(/\/case-ended$/);
    expect((await deliver(caseId, { name: 'shipped' }, { delivery })).body).toEqual(first.body);
  });

  it('delivers copies of one delivery sent at the same moment once, and answers each with the same result', async () => {
    const caseId = await startCase();
    const delivery = randomUUID();
    const copies = await Promise.all(
      [0, 1, 2, 3, 4, 5].map(() => deliver(caseId, { name: 'shipped' }, { delivery })),
    );
    expect(copies.map((c) => c.status)).toEqual([200, 200, 200, 200, 200, 200]);
    for (const copy of copies) expect(copy.body).toEqual(copies[0]?.body);
    expect(copies[0]?.body).toMatchObject({ deliveryId: delivery, caseStatus: 'SHIPPED' });
    const view = await caseOf(caseId);
    expect(view.timeline.filter((e) => e.kind.startsWith('message.'))).toHaveLength(1);
    const [stored] = await env.db.query<{ n: string }>(
      'SELECT count(*)::text AS n FROM webhook_deliveries WHERE source = $1 AND delivery_id = $2',
      ['erp', delivery],
    );
    expect(stored?.n).toBe('1');
  });

  it('forgets deliveries older than the retention (7 days by default) when new ones arrive', async () => {
    const caseId = await startCase();
    const old = `old-${randomUUID()}`;
    const young = `young-${randomUUID()}`;
    const result = JSON.stringify({ source: 'erp', deliveryId: old, caseId, message: 'shipped' });
    await env.db.query(
      `INSERT INTO webhook_deliveries (source, delivery_id, case_id, message, result, received_at)
       VALUES ('erp', $1, $3, 'shipped', $4, now() - interval '7 days 1 minute'),
              ('erp', $2, $3, 'shipped', $4, now() - interval '6 days 23 hours')`,
      [old, young, caseId, result],
    );
    const res = await deliver(caseId, { name: 'shipped' });
    expect(res.status).toBe(200);
    const left = await env.db.query<{ delivery_id: string }>(
      'SELECT delivery_id FROM webhook_deliveries WHERE delivery_id = ANY($1) ORDER BY delivery_id',
      [[old, young]],
    );
    expect(left.map((r) => r.delivery_id)).toEqual([young]);
  });

  it('answers 404 for an unknown case and 400 with a pointer for a bad body', async () => {
    const unknown = await deliver(`case-${randomUUID()}`, { name: 'shipped' });
    expect(unknown.status).toBe(404);
    const caseId = await startCase();
    const bad = await deliver(caseId, { payload: {} });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ pointer: expect.stringMatching(/^\/body/) })]);
  });
});
