/**
 * Issue 15, wrong numbers: a closed deal is weighted by its category (won 100 %, lost 0 %) whatever its own
 * `data.probability`; amounts in different currencies are never added together; `?currency=` converts with
 * the admin-maintained, dated exchange-rate table and says which rate it used. Every expected figure below
 * is worked out by hand from the rows inserted here.
 */
import { scoped, shippedDefinition, startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;
let T: string;

beforeAll(async () => {
  env = await startTestEnv({ worker: false });
  T = await env.publish(scoped(shippedDefinition('opportunity'), env.prefix));
  // [id, status, category, data]. Opportunity defaults: IDENTIFYING 10 %, PRESENTING 30 %, currency EUR.
  const seeds: [string, string, string, Record<string, unknown>][] = [
    // A won deal that kept probability 30: weighted 100 % = 1000.
    ['w1', 'WON', 'won', { amount: 1000, probability: 30, currency: 'EUR', expectedCloseDate: '2031-01-10' }],
    // A lost deal that kept probability 50: weighted 0.
    [
      'l1',
      'LOST',
      'lost',
      { amount: 2000, probability: 50, currency: 'EUR', expectedCloseDate: '2031-01-11' },
    ],
    // Open EUR deal, status default 10 %: weighted 400. No currency: the definition's default, EUR.
    ['o1', 'IDENTIFYING', 'open', { amount: 4000, expectedCloseDate: '2031-01-12' }],
    // Open USD deal with its own 50 %: weighted 25000.
    [
      'u1',
      'PRESENTING',
      'open',
      { amount: 50000, probability: 50, currency: 'USD', expectedCloseDate: '2031-01-13' },
    ],
    // Open JPY deal, PRESENTING default 30 %: weighted 300000.
    ['j1', 'PRESENTING', 'open', { amount: 1000000, currency: 'JPY', expectedCloseDate: '2031-02-01' }],
  ];
  let n = 0;
  for (const [id, status, category, data] of seeds) {
    n += 1;
    await env.db.query(
      `INSERT INTO cases (id, case_type, definition_version, title, status, status_category, entity_id, entity_name,
         owner_id, data, created_at, updated_at, version)
       VALUES ($1, $2, 1, $3, $4, $5, $6, 'ACME', $7, $8, $9, $9, 1)`,
      [
        `${env.prefix}-${id}`,
        T,
        `Deal ${id}`,
        status,
        category,
        `${env.prefix}-acme`,
        env.users.alice.id,
        JSON.stringify({ subject: id, ...data }),
        new Date(Date.UTC(2030, 0, n)).toISOString(),
      ],
    );
  }
});

afterAll(async () => {
  await env?.stop();
});

const byCurrency = (rows: { currency: string }[]) => Object.fromEntries(rows.map((r) => [r.currency, r]));

describe('forecast figures', () => {
  it('weights a won deal 100 % and a lost deal 0 % whatever their own probability', async () => {
    for (const source of ['totals', 'cases']) {
      const res = await env.http(
        env.users.admin,
        'GET',
        `/api/reports/forecast?caseType=${T}&source=${source}`,
      );
      expect(res.status).toBe(200);
      const status = Object.fromEntries(
        res.body.byStatus.map((r: { status: string; currency: string }) => [`${r.status}/${r.currency}`, r]),
      );
      expect(status['WON/EUR']).toMatchObject({ amount: 1000, weightedAmount: 1000, wonAmount: 1000 });
      expect(status['LOST/EUR']).toMatchObject({ amount: 2000, weightedAmount: 0, lostAmount: 2000 });
    }
  });

  it('totals per currency, never adding one currency to another, and names the currency of every figure', async () => {
    for (const source of ['totals', 'cases']) {
      const res = await env.http(
        env.users.admin,
        'GET',
        `/api/reports/forecast?caseType=${T}&source=${source}`,
      );
      expect(res.status).toBe(200);
      expect(res.body.currencies).toEqual(['EUR', 'JPY', 'USD']);
      const totals = byCurrency(res.body.totals);
      // EUR: 1000 won + 2000 lost + 4000 open; weighted 1000 + 0 + 400.
      expect(totals.EUR).toMatchObject({
        currency: 'EUR',
        count: 3,
        amount: 7000,
        weightedAmount: 1400,
        openAmount: 4000,
        openWeightedAmount: 400,
        wonAmount: 1000,
        lostAmount: 2000,
      });
      expect(totals.USD).toMatchObject({ count: 1, amount: 50000, weightedAmount: 25000, openAmount: 50000 });
      expect(totals.JPY).toMatchObject({ count: 1, amount: 1000000, weightedAmount: 300000 });
      for (const section of ['byStatus', 'byAgent', 'byMonth'])
        for (const row of res.body[section]) expect(row.currency).toMatch(/^[A-Z]{3}$/);
      const months = res.body.byMonth.map((r: { month: string; currency: string; amount: number }) => [
        r.month,
        r.currency,
        r.amount,
      ]);
      expect(months).toEqual([
        ['2031-01', 'EUR', 7000],
        ['2031-01', 'USD', 50000],
        ['2031-02', 'JPY', 1000000],
      ]);
      expect(res.body.conversion).toBeNull();
    }
    const csv = await env.http(env.users.admin, 'GET', `/api/reports/forecast?caseType=${T}&format=csv`);
    const lines = (csv.body as string).trim().split('\r\n');
    expect(lines[0]).toContain(',currency,');
    expect(lines).toContain('total,,,,,,USD,1,50000,25000,1,50000,25000,0,0,0,0');
  });

  it('converts into ?currency= only with a dated rate from the exchange-rate table, and says which rate', async () => {
    const noRate = await env.http(env.users.admin, 'GET', `/api/reports/forecast?caseType=${T}&currency=EUR`);
    expect(noRate.status).toBe(400);
    expect(noRate.body.type).toBe('https://crm-process-engine.dev/problems/no-exchange-rate');
    expect(noRate.body.errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ pointer: '/query/currency' })]),
    );
    expect(noRate.body.detail).toMatch(/JPY|USD/);

    // Only administrators maintain the table.
    const denied = await env.http(env.users.sam, 'PUT', '/api/exchange-rates/USD/EUR/2030-01-01', {
      rate: 0.9,
    });
    expect(denied.status).toBe(403);
    const put = async (from: string, to: string, day: string, rate: number) => {
      const r = await env.http(env.users.admin, 'PUT', `/api/exchange-rates/${from}/${to}/${day}`, { rate });
      expect(r.status).toBe(200);
      return r.body;
    };
    expect(await put('USD', 'EUR', '2030-01-01', 0.8)).toMatchObject({
      from: 'USD',
      to: 'EUR',
      validFrom: '2030-01-01',
      rate: 0.8,
    });
    await put('USD', 'EUR', '2030-06-01', 0.9);
    await put('JPY', 'EUR', '2030-01-01', 0.006);
    const bad = await env.http(env.users.admin, 'PUT', '/api/exchange-rates/USD/EUR/2030-13-01', {
      rate: -1,
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual([
      '/body/rate',
      '/path/validFrom',
    ]);

    const list = await env.http(env.users.alice, 'GET', '/api/exchange-rates?from=USD&to=EUR');
    expect(list.status).toBe(200);
    expect(list.body.items.map((r: { validFrom: string; rate: number }) => [r.validFrom, r.rate])).toEqual([
      ['2030-06-01', 0.9],
      ['2030-01-01', 0.8],
    ]);

    // On 2030-07-01: USD at 0.9 (the June rate), JPY at 0.006.
    const res = await env.http(
      env.users.admin,
      'GET',
      `/api/reports/forecast?caseType=${T}&currency=EUR&rateDate=2030-07-01`,
    );
    expect(res.status).toBe(200);
    expect(res.body.currencies).toEqual(['EUR']);
    expect(res.body.conversion).toEqual({
      currency: 'EUR',
      rateDate: '2030-07-01',
      rates: [
        { from: 'JPY', to: 'EUR', rate: 0.006, validFrom: '2030-01-01' },
        { from: 'USD', to: 'EUR', rate: 0.9, validFrom: '2030-06-01' },
      ],
    });
    // amount: 7000 + 50000 x 0.9 + 1000000 x 0.006 = 7000 + 45000 + 6000 = 58000;
    // weighted: 1400 + 25000 x 0.9 + 300000 x 0.006 = 1400 + 22500 + 1800 = 25700.
    expect(res.body.totals).toEqual([
      expect.objectContaining({ currency: 'EUR', count: 5, amount: 58000, weightedAmount: 25700 }),
    ]);
    expect(res.body.byMonth).toEqual([
      expect.objectContaining({ month: '2031-01', currency: 'EUR', amount: 52000 }),
      expect.objectContaining({ month: '2031-02', currency: 'EUR', amount: 6000 }),
    ]);

    // Before June the January rate applies: 7000 + 40000 + 6000 = 53000.
    const earlier = await env.http(
      env.users.admin,
      'GET',
      `/api/reports/forecast?caseType=${T}&currency=EUR&rateDate=2030-03-01`,
    );
    expect(earlier.body.totals[0]).toMatchObject({ currency: 'EUR', amount: 53000 });
    expect(earlier.body.conversion.rates).toContainEqual({
      from: 'USD',
      to: 'EUR',
      rate: 0.8,
      validFrom: '2030-01-01',
    });
    // Before any rate: 400.
    const before = await env.http(
      env.users.admin,
      'GET',
      `/api/reports/forecast?caseType=${T}&currency=EUR&rateDate=2029-12-31`,
    );
    expect(before.status).toBe(400);
    expect(before.body.type).toBe('https://crm-process-engine.dev/problems/no-exchange-rate');

    const gone = await env.http(env.users.admin, 'DELETE', '/api/exchange-rates/USD/EUR/2030-06-01');
    expect(gone.status).toBe(204);
  });
});
