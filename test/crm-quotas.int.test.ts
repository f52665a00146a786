/**
 * Issue 15, quotas: a target per agent or team and period against the forecast. Every expected figure below is
 * worked out by hand from the cases, rates and probabilities inserted here (the comments show the sums).
 * Rates use currencies no other test file touches (CHF, DKK into SEK), so the shared rate table cannot interfere.
 */
import { PROBLEM_BASE } from '../api/problem';
import { scoped, shippedDefinition, startTestEnv, type TestEnv, type TestUser } from './support/env';
import { createTeam, createUser, must } from './support/matrix';

let env: TestEnv;
let T: string;
let olga: TestUser;
let oscar: TestUser;
let sales: string;

beforeAll(async () => {
  env = await startTestEnv({ worker: false });
  T = await env.publish(scoped(shippedDefinition('opportunity'), env.prefix));
  olga = await createUser(env, 'olga', 'supervisor');
  const ops = await createTeam(env, 'ops', olga.id);
  oscar = await createUser(env, 'oscar', 'agent', [ops]);
  sales = `${env.prefix}-sales`;
  // CHF into SEK: 10 from 2000-01-01, 11.5 from 2001-01-01. No DKK rate into SEK, no SEK rate into CHF.
  for (const [validFrom, rate] of [
    ['2000-01-01', 10],
    ['2001-01-01', 11.5],
  ] as const)
    await must(env, env.users.admin, 'PUT', `/api/exchange-rates/CHF/SEK/${validFrom}`, { rate });
  // [id, owner, status, category, data]. Defaults of the opportunity: IDENTIFYING 10 %, PRESENTING 30 %.
  const alice = env.users.alice.id;
  const bob = env.users.bob.id;
  const seeds: [string, string, string, string, Record<string, unknown>][] = [
    [
      'a1',
      alice,
      'WON',
      'won',
      { amount: 10000, probability: 20, currency: 'SEK', expectedCloseDate: '2032-04-10' },
    ],
    [
      'a2',
      alice,
      'LOST',
      'lost',
      { amount: 5000, probability: 50, currency: 'SEK', expectedCloseDate: '2032-05-01' },
    ],
    ['a3', alice, 'IDENTIFYING', 'open', { amount: 20000, currency: 'SEK', expectedCloseDate: '2032-06-30' }],
    [
      'a4',
      alice,
      'PRESENTING',
      'open',
      { amount: 1000, probability: 50, currency: 'CHF', expectedCloseDate: '2032-05-05' },
    ],
    ['a5', alice, 'WON', 'won', { amount: 2000, currency: 'CHF', expectedCloseDate: '2032-04-15' }],
    ['a6', alice, 'WON', 'won', { amount: 300, currency: 'DKK', expectedCloseDate: '2032-05-20' }],
    // Outside the quarter: the day after and the day before.
    ['a7', alice, 'WON', 'won', { amount: 99999, currency: 'SEK', expectedCloseDate: '2032-07-01' }],
    ['a8', alice, 'IDENTIFYING', 'open', { amount: 7777, currency: 'SEK', expectedCloseDate: '2032-03-31' }],
    ['b1', bob, 'WON', 'won', { amount: 4000, currency: 'SEK', expectedCloseDate: '2032-04-02' }],
    ['b2', bob, 'PRESENTING', 'open', { amount: 6000, currency: 'SEK', expectedCloseDate: '2032-06-01' }],
    // Without an expected close date a deal is in no period.
    ['a9', alice, 'WON', 'won', { amount: 555, currency: 'SEK' }],
    // Carol (support) is no member of sales: her deal is no part of the sales team's figures.
    [
      'c1',
      env.users.carol.id,
      'WON',
      'won',
      { amount: 8000, currency: 'SEK', expectedCloseDate: '2032-05-01' },
    ],
  ];
  let n = 0;
  for (const [id, owner, status, category, data] of seeds) {
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
        owner,
        JSON.stringify({ subject: id, ...data }),
        new Date(Date.UTC(2031, 0, n)).toISOString(),
      ],
    );
  }
  const put = (path: string, amount: number, currency: string) =>
    must(env, env.users.admin, 'PUT', `/api/quotas/${path}`, { amount, currency });
  await put(`2032-Q2/agents/${alice}`, 100000, 'SEK');
  await put(`2032-04/agents/${alice}`, 20000, 'SEK');
  await put(`2032-Q2/agents/${bob}`, 1000, 'CHF');
  await put(`2032-Q2/teams/${sales}`, 50000, 'SEK');
  await put(`2032-Q2/agents/${oscar.id}`, 5000, 'SEK');
});

afterAll(async () => {
  await env?.stop();
});

type Item = { agentId: string | null; teamId: string | null; [k: string]: unknown };

async function report(user: TestUser, query: string): Promise<Item[]> {
  const res = await env.http(user, 'GET', `/api/reports/quotas?${query}`);
  expect(res.status).toBe(200);
  return res.body.items as Item[];
}

describe('the quota report', () => {
  it("sets an agent's quarter against won, open and weighted deals, converting with the rate table", async () => {
    const items = await report(
      env.users.admin,
      `period=2032-Q2&agentId=${env.users.alice.id}&rateDate=2032-01-01`,
    );
    expect(items).toHaveLength(1);
    // Won: a1 10000 SEK + a5 2000 CHF x 11.5 = 23000 SEK -> 33000 SEK (a6, in DKK, has no rate; a7 is in July).
    // Open: a3 20000 SEK + a4 1000 CHF x 11.5 = 11500 -> 31500 SEK (a8 closes in March).
    // Weighted open: a3 20000 x 10 % = 2000 + a4 1000 x 50 % = 500 CHF x 11.5 = 5750 -> 7750 SEK.
    // Forecast 33000 + 7750 = 40750; attainment 33000 / 100000 = 33 %, projected 40.75 %.
    expect(items[0]).toEqual({
      agentId: env.users.alice.id,
      agentName: expect.any(String),
      teamId: null,
      teamName: null,
      target: { amount: 100000, currency: 'SEK' },
      currency: 'SEK',
      wonCount: 2,
      wonAmount: 33000,
      openCount: 2,
      openAmount: 31500,
      openWeightedAmount: 7750,
      weightedForecast: 40750,
      attainmentPercent: 33,
      projectedAttainmentPercent: 40.75,
      complete: false,
      unconverted: ['DKK'],
      byCurrency: [
        {
          currency: 'CHF',
          wonCount: 1,
          wonAmount: 2000,
          openCount: 1,
          openAmount: 1000,
          openWeightedAmount: 500,
          rate: { from: 'CHF', to: 'SEK', rate: 11.5, validFrom: '2001-01-01' },
          converted: true,
        },
        {
          currency: 'DKK',
          wonCount: 1,
          wonAmount: 300,
          openCount: 0,
          openAmount: 0,
          openWeightedAmount: 0,
          rate: null,
          converted: false,
        },
        {
          currency: 'SEK',
          wonCount: 1,
          wonAmount: 10000,
          openCount: 1,
          openAmount: 20000,
          openWeightedAmount: 2000,
          rate: null,
          converted: true,
        },
      ],
    });
  });

  it('answers the report as CSV, one row per quota', async () => {
    const res = await env.http(
      env.users.admin,
      'GET',
      `/api/reports/quotas?period=2032-Q2&agentId=${env.users.alice.id}&rateDate=2032-01-01&format=csv`,
    );
    expect(res.status).toBe(200);
    expect(res.type).toContain('text/csv');
    // The figures of the first test, in the CSV's column order.
    expect((res.body as string).split('\r\n')).toEqual([
      'period,agentId,agentName,teamId,teamName,currency,target,wonCount,wonAmount,openCount,openAmount,' +
        'openWeightedAmount,weightedForecast,attainmentPercent,projectedAttainmentPercent,complete,unconverted',
      `2032-Q2,${env.users.alice.id},Alice ${env.prefix},,,SEK,100000,2,33000,2,31500,7750,40750,33,40.75,false,DKK`,
      '',
    ]);
  });

  it('uses the rate valid on rateDate and says which', async () => {
    const [item] = await report(
      env.users.admin,
      `period=2032-Q2&agentId=${env.users.alice.id}&rateDate=2000-06-30`,
    );
    // CHF at 10: won 10000 + 2000 x 10 = 30000; weighted open 2000 + 500 x 10 = 7000; forecast 37000.
    expect(item).toMatchObject({ wonAmount: 30000, openWeightedAmount: 7000, weightedForecast: 37000 });
    expect(item?.attainmentPercent).toBe(30);
    expect(item?.projectedAttainmentPercent).toBe(37);
    expect((item?.byCurrency as { currency: string; rate: unknown }[])[0]?.rate).toEqual({
      from: 'CHF',
      to: 'SEK',
      rate: 10,
      validFrom: '2000-01-01',
    });
  });

  it('answers a month by the days of that month', async () => {
    const res = await env.http(
      env.users.admin,
      'GET',
      `/api/reports/quotas?period=2032-04&agentId=${env.users.alice.id}&rateDate=2032-01-01`,
    );
    expect(res.body).toMatchObject({ period: '2032-04', from: '2032-04-01', to: '2032-04-30' });
    const [item] = res.body.items as Item[];
    // April: a1 10000 SEK and a5 2000 CHF x 11.5 won; nothing open. 33000 / 20000 = 165 %.
    expect(item).toMatchObject({ wonAmount: 33000, openAmount: 0, weightedForecast: 33000, complete: true });
    expect(item?.attainmentPercent).toBe(165);
    expect(item?.projectedAttainmentPercent).toBe(165);
  });

  it("counts a team's quota over its members' deals", async () => {
    const items = await report(env.users.admin, `period=2032-Q2&teamId=${sales}&rateDate=2032-01-01`);
    expect(items).toHaveLength(1);
    // Alice (above) + Bob: won 33000 + 4000 = 37000; open 31500 + 6000 = 37500;
    // weighted open 7750 + 6000 x 30 % = 1800 -> 9550; forecast 46550. Of 50000: 74 %, 93.1 %. Carol is not a member.
    expect(items[0]).toMatchObject({
      teamId: sales,
      agentId: null,
      target: { amount: 50000, currency: 'SEK' },
      wonCount: 3,
      wonAmount: 37000,
      openCount: 3,
      openAmount: 37500,
      openWeightedAmount: 9550,
      weightedForecast: 46550,
      attainmentPercent: 74,
      projectedAttainmentPercent: 93.1,
      complete: false,
      unconverted: ['DKK'],
    });
  });

  it('never adds deals it cannot convert into the quota currency', async () => {
    const [item] = await report(env.users.admin, `period=2032-Q2&agentId=${env.users.bob.id}`);
    // Bob's quota is in CHF; his deals are in SEK and no SEK rate into CHF exists.
    expect(item).toMatchObject({
      currency: 'CHF',
      wonAmount: 0,
      openAmount: 0,
      weightedForecast: 0,
      attainmentPercent: 0,
      complete: false,
      unconverted: ['SEK'],
    });
    expect(item?.byCurrency).toEqual([
      {
        currency: 'SEK',
        wonCount: 1,
        wonAmount: 4000,
        openCount: 1,
        openAmount: 6000,
        openWeightedAmount: 1800,
        rate: null,
        converted: false,
      },
    ]);
  });

  it('shows agents their own quotas, supervisors their teams, others nothing of them', async () => {
    const ids = (items: Item[]) => items.map((i) => i.agentId ?? `team:${i.teamId}`).sort();
    expect(ids(await report(env.users.alice, 'period=2032-Q2'))).toEqual([env.users.alice.id]);
    expect(ids(await report(env.users.sam, 'period=2032-Q2'))).toEqual(
      [env.users.alice.id, env.users.bob.id, `team:${sales}`].sort(),
    );
    expect(ids(await report(olga, 'period=2032-Q2'))).toEqual([oscar.id]);
    for (const [user, query] of [
      [env.users.alice, `agentId=${env.users.bob.id}`],
      [env.users.alice, `teamId=${sales}`],
      [olga, `agentId=${env.users.alice.id}`],
      [env.users.sam, `agentId=${oscar.id}`],
    ] as const) {
      for (const path of ['/api/reports/quotas?period=2032-Q2&', '/api/quotas?']) {
        const res = await env.http(user, 'GET', `${path}${query}`);
        expect({ status: res.status, type: res.body.type }).toEqual({
          status: 403,
          type: `${PROBLEM_BASE}forbidden`,
        });
      }
    }
    expect((await env.http(env.users.dana, 'GET', '/api/reports/quotas?period=2032-Q2')).status).toBe(403);
  });

  it('refuses a missing or malformed period, a bad rate date, an unknown filter or parameter (400 at its pointer)', async () => {
    for (const [query, pointer] of [
      ['', '/query/period'],
      ['period=2032-13', '/query/period'],
      ['period=2032-Q5', '/query/period'],
      ['period=2032-Q2&rateDate=2032-02-30', '/query/rateDate'],
      ['period=2032-Q2&agentId=nobody', '/query/agentId'],
      ['period=2032-Q2&teamId=nobody', '/query/teamId'],
      ['period=2032-Q2&agent=x', '/query/agent'],
      [`period=2032-Q2&agentId=${env.users.alice.id}&teamId=${sales}`, '/query/teamId'],
    ]) {
      const res = await env.http(env.users.admin, 'GET', `/api/reports/quotas?${query}`);
      expect(res.status).toBe(400);
      expect(res.body.errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
    }
  });
});

describe('setting quotas', () => {
  it('creates (201), replaces (200), lists and deletes (204, then 404) a quota', async () => {
    const url = `/api/quotas/2033-01/agents/${env.users.bob.id}`;
    const created = await env.http(env.users.sam, 'PUT', url, { amount: 1200.5, currency: 'SEK' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      period: '2033-01',
      agentId: env.users.bob.id,
      teamId: null,
      amount: 1200.5,
      currency: 'SEK',
      updatedBy: env.users.sam.id,
    });
    const replaced = await env.http(env.users.admin, 'PUT', url, { amount: 900, currency: 'CHF' });
    expect(replaced.status).toBe(200);
    const listed = await must(
      env,
      env.users.bob,
      'GET',
      `/api/quotas?period=2033-01&agentId=${env.users.bob.id}`,
    );
    expect(listed.items).toEqual([
      expect.objectContaining({ amount: 900, currency: 'CHF', updatedBy: env.users.admin.id }),
    ]);
    expect((await env.http(env.users.sam, 'DELETE', url)).status).toBe(204);
    expect((await env.http(env.users.sam, 'DELETE', url)).status).toBe(404);
    const rows = await env.db.query('SELECT 1 FROM sales_quotas WHERE agent_id = $1 AND period = $2', [
      env.users.bob.id,
      '2033-01',
    ]);
    expect(rows).toEqual([]);
  });

  it('reports every wrong part of a quota at its pointer', async () => {
    const res = await env.http(env.users.admin, 'PUT', `/api/quotas/2033-13/agents/${env.users.bob.id}`, {
      amount: 0,
      currency: 'sek',
      extra: 1,
    });
    expect(res.status).toBe(400);
    expect(res.body.type).toBe(`${PROBLEM_BASE}validation-error`);
    const pointers = res.body.errors.map((e: { pointer: string }) => e.pointer).sort();
    expect(pointers).toEqual(expect.arrayContaining(['/body/amount', '/body/currency', '/path/period']));
    for (const [url, pointer] of [
      [`/api/quotas/2033-Q1/agents/${env.users.dana.id}`, '/path/agentId'],
      ['/api/quotas/2033-Q1/agents/nobody', '/path/agentId'],
      ['/api/quotas/2033-Q1/teams/nobody', '/path/teamId'],
    ] as const) {
      const bad = await env.http(env.users.admin, 'PUT', url, { amount: 10, currency: 'SEK' });
      expect(bad.status).toBe(400);
      expect(bad.body.errors.map((e: { pointer: string }) => e.pointer)).toEqual([pointer]);
    }
  });

  it('lets supervisors set only their teams and members, never their own; agents and designers none', async () => {
    const denied: [TestUser, string][] = [
      [env.users.alice, `agents/${env.users.alice.id}`],
      [env.users.alice, `agents/${env.users.bob.id}`],
      [env.users.alice, `teams/${sales}`],
      [env.users.sam, `agents/${env.users.sam.id}`],
      [env.users.sam, `agents/${oscar.id}`],
      [env.users.sam, `teams/${env.prefix}-ops`],
      [olga, `agents/${env.users.alice.id}`],
      [olga, `teams/${sales}`],
      [env.users.dana, `agents/${env.users.alice.id}`],
    ];
    for (const [user, subject] of denied)
      for (const method of ['PUT', 'DELETE']) {
        const res = await env.http(user, method, `/api/quotas/2032-Q2/${subject}`, {
          amount: 1,
          currency: 'SEK',
        });
        expect({ subject, user: user.id, method, status: res.status }).toEqual({
          subject,
          user: user.id,
          method,
          status: 403,
        });
      }
    // Nothing changed: the quotas set in beforeAll are as they were.
    const rows = await env.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM sales_quotas WHERE period = '2032-Q2' AND amount = 1`,
    );
    expect(rows[0]?.n).toBe(0);
    expect(
      (await env.http(olga, 'PUT', `/api/quotas/2033-Q1/agents/${oscar.id}`, { amount: 5, currency: 'SEK' }))
        .status,
    ).toBe(201);
    expect(
      (
        await env.http(env.users.sam, 'PUT', `/api/quotas/2033-Q1/teams/${sales}`, {
          amount: 5,
          currency: 'SEK',
        })
      ).status,
    ).toBe(201);
  });
});
