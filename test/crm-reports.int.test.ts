/**
 * Forecast and open-cases report on a known dataset written straight into the case read model, so every
 * figure can be asserted exactly.
 */
import type { CaseTypeDefinition } from '../engine/types';
import { scoped, shippedDefinition, startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;
let T: string; // opportunity type (has an amount)
let N: string; // campaign follow-up type (no amount)

type Seed = [
  id: string,
  owner: 'alice' | 'bob' | 'carol',
  version: number,
  status: string,
  category: string,
  data: Record<string, unknown>,
];

beforeAll(async () => {
  env = await startTestEnv({ worker: false });
  const v1 = scoped(shippedDefinition('opportunity'), env.prefix);
  T = await env.publish(v1);
  // Version 2 raises PRESENTING's default probability to 50: cases pinned to v1 keep 30.
  const v2 = JSON.parse(JSON.stringify(v1)) as CaseTypeDefinition;
  (v2.statuses.find((s) => s.code === 'PRESENTING') as { probability: number }).probability = 50;
  await env.publish(v2);
  N = await env.publish(scoped(shippedDefinition('campaign-follow-up'), env.prefix));

  const seeds: Seed[] = [
    ['f1', 'alice', 1, 'IDENTIFYING', 'open', { amount: 1000, expectedCloseDate: '2031-01-15' }],
    [
      'f2',
      'alice',
      1,
      'PRESENTING',
      'open',
      { amount: 2000, probability: 50, expectedCloseDate: '2031-01-20' },
    ],
    ['f3', 'bob', 1, 'PRESENTING', 'open', { amount: 4000, expectedCloseDate: '2031-02-10' }],
    ['f4', 'bob', 2, 'PRESENTING', 'open', { amount: 3000, expectedCloseDate: '2031-02-28' }],
    ['f5', 'alice', 1, 'WON', 'won', { amount: 5000, expectedCloseDate: '2031-01-31' }],
    ['f6', 'bob', 1, 'LOST', 'lost', { amount: 7000, expectedCloseDate: '2031-03-01' }],
    ['f7', 'alice', 1, 'DECIDING', 'open', { amount: 10000, expectedCloseDate: '2031-03-15' }],
    ['f8', 'carol', 1, 'IDENTIFYING', 'open', { amount: 500, expectedCloseDate: '2031-01-05' }],
    ['f9', 'alice', 1, 'IDENTIFYING', 'open', {}],
  ];
  let n = 0;
  for (const [id, owner, version, status, category, data] of seeds) {
    n += 1;
    await env.db.query(
      `INSERT INTO cases (id, case_type, definition_version, title, status, status_category, entity_id, entity_name,
         owner_id, data, created_at, updated_at, version)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'ACME', $8, $9, $10, $10, 1)`,
      [
        `${env.prefix}-${id}`,
        T,
        version,
        `Deal ${id}`,
        status,
        category,
        `${env.prefix}-acme`,
        env.users[owner].id,
        JSON.stringify({ subject: id, ...data }),
        new Date(Date.UTC(2030, 0, n)).toISOString(),
      ],
    );
  }
  await env.db.query(
    `INSERT INTO cases (id, case_type, definition_version, title, status, status_category, owner_id, data, created_at, updated_at, version)
     VALUES ($1, $2, 1, 'Follow-up', 'TO_CONTACT', 'open', $3, '{}', now(), now(), 1)`,
    [`${env.prefix}-n1`, N, env.users.alice.id],
  );
});

afterAll(async () => {
  await env?.stop();
});

const fig = (count: number, amount: number, weightedAmount: number) => ({ count, amount, weightedAmount });

describe('forecast', () => {
  it('weights each case by its own probability or its status default in its definition version', async () => {
    const res = await env.http(env.users.admin, 'GET', `/api/reports/forecast?caseType=${T}`);
    expect(res.status).toBe(200);
    expect(res.body.currencies).toEqual(['EUR']);
    expect(res.body.totals).toHaveLength(1);
    expect(res.body.totals[0]).toEqual({
      currency: 'EUR',
      count: 9,
      amount: 32500,
      weightedAmount: 14850,
      openCount: 7,
      openAmount: 20500,
      openWeightedAmount: 9850,
      wonCount: 1,
      wonAmount: 5000,
      lostCount: 1,
      lostAmount: 7000,
    });
    // Pipeline order, as the definition lists its statuses.
    expect(res.body.byStatus.map((r: { status: string }) => r.status)).toEqual([
      'IDENTIFYING',
      'PRESENTING',
      'DECIDING',
      'WON',
      'LOST',
    ]);
    const byStatus = Object.fromEntries(res.body.byStatus.map((r: { status: string }) => [r.status, r]));
    expect(byStatus.IDENTIFYING).toMatchObject({
      ...fig(3, 1500, 150),
      statusName: 'Identifying needs',
      category: 'open',
    });
    // 2000 x 50% (override) + 4000 x 30% (v1 default) + 3000 x 50% (v2 default).
    expect(byStatus.PRESENTING).toMatchObject(fig(3, 9000, 3700));
    expect(byStatus.DECIDING).toMatchObject(fig(1, 10000, 6000));
    expect(byStatus.WON).toMatchObject({ ...fig(1, 5000, 5000), wonCount: 1, wonAmount: 5000 });
    expect(byStatus.LOST).toMatchObject({ ...fig(1, 7000, 0), lostCount: 1, lostAmount: 7000 });

    const byAgent = Object.fromEntries(res.body.byAgent.map((r: { agentId: string }) => [r.agentId, r]));
    expect(byAgent[env.users.alice.id]).toMatchObject({
      ...fig(5, 18000, 12100),
      wonAmount: 5000,
      agentName: `Alice ${env.prefix}`,
    });
    expect(byAgent[env.users.bob.id]).toMatchObject({ ...fig(3, 14000, 2700), lostAmount: 7000 });
    expect(byAgent[env.users.carol.id]).toMatchObject(fig(1, 500, 50));

    expect(res.body.byMonth).toEqual([
      expect.objectContaining({ month: '2031-01', ...fig(4, 8500, 6150) }),
      expect.objectContaining({ month: '2031-02', ...fig(2, 7000, 2700) }),
      expect.objectContaining({ month: '2031-03', ...fig(2, 17000, 6000) }),
      expect.objectContaining({ month: null, ...fig(1, 0, 0) }),
    ]);
  });

  it('filters by team, agent and period', async () => {
    const team = await env.http(
      env.users.admin,
      'GET',
      `/api/reports/forecast?caseType=${T}&team=${env.prefix}-sales`,
    );
    expect(team.body.totals[0]).toMatchObject(fig(8, 32000, 14800));
    const bob = await env.http(
      env.users.admin,
      'GET',
      `/api/reports/forecast?caseType=${T}&agent=${env.users.bob.id}`,
    );
    expect(bob.body.totals[0]).toMatchObject(fig(3, 14000, 2700));
    const feb = await env.http(
      env.users.admin,
      'GET',
      `/api/reports/forecast?caseType=${T}&from=2031-02&to=2031-02`,
    );
    expect(feb.body.totals[0]).toMatchObject(fig(2, 7000, 2700));
    const days = await env.http(
      env.users.admin,
      'GET',
      `/api/reports/forecast?caseType=${T}&from=2031-01-16&to=2031-01-31`,
    );
    expect(days.body.totals[0]).toMatchObject(fig(2, 7000, 6000));
    const bad = await env.http(env.users.admin, 'GET', `/api/reports/forecast?from=January`);
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].pointer).toBe('/query/from');
  });

  it('shows agents their own cases, supervisors their teams, and covers amount-bearing case types by default', async () => {
    const alice = await env.http(env.users.alice, 'GET', '/api/reports/forecast');
    expect(alice.body.filters.caseTypes).toContain(T);
    expect(alice.body.filters.caseTypes).not.toContain(N);
    expect(alice.body.totals[0]).toMatchObject(fig(5, 18000, 12100));
    const forbidden = await env.http(
      env.users.alice,
      'GET',
      `/api/reports/forecast?agent=${env.users.bob.id}`,
    );
    expect(forbidden.status).toBe(403);
    const sam = await env.http(env.users.sam, 'GET', `/api/reports/forecast?caseType=${T}`);
    expect(sam.body.totals[0]).toMatchObject(fig(9, 32500, 14850));
  });

  it('exports CSV on Accept: text/csv or ?format=csv', async () => {
    const res = await env.http(
      env.users.admin,
      'GET',
      `/api/reports/forecast?caseType=${T}&groupBy=month`,
      undefined,
      {
        accept: 'text/csv',
      },
    );
    expect(res.status).toBe(200);
    expect(res.type).toContain('text/csv');
    const lines = (res.body as string).trim().split('\r\n');
    expect(lines[0]).toBe(
      'dimension,caseType,status,statusName,agentId,month,currency,count,amount,weightedAmount,openCount,openAmount,openWeightedAmount,wonCount,wonAmount,lostCount,lostAmount',
    );
    expect(lines).toContain('month,,,,,2031-02,EUR,2,7000,2700,2,7000,2700,0,0,0,0');
    expect(lines[lines.length - 1]).toBe('total,,,,,,EUR,9,32500,14850,7,20500,9850,1,5000,1,7000');
    const viaQuery = await env.http(env.users.admin, 'GET', `/api/reports/forecast?caseType=${T}&format=csv`);
    expect(viaQuery.type).toContain('text/csv');
    expect((viaQuery.body as string).split('\r\n').filter((l) => l.startsWith('status,'))).toHaveLength(5);
  });
});

describe('open-cases report', () => {
  it("counts by type, status and agent the cases in an 'open' status of their definition", async () => {
    const res = await env.http(env.users.admin, 'GET', `/api/reports/open-cases?caseType=${T}&limit=2`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      total: 7,
      openStatuses: 'category:open',
      byType: [{ caseType: T, count: 7 }],
    });
    // In pipeline order (the definition's), not alphabetically.
    expect(res.body.byStatus).toEqual([
      { caseType: T, status: 'IDENTIFYING', count: 3 },
      { caseType: T, status: 'PRESENTING', count: 3 },
      { caseType: T, status: 'DECIDING', count: 1 },
    ]);
    const byAgent = Object.fromEntries(
      res.body.byAgent.map((r: { agentId: string; count: number }) => [r.agentId, r.count]),
    );
    expect(byAgent).toEqual({ [env.users.alice.id]: 4, [env.users.bob.id]: 2, [env.users.carol.id]: 1 });
    // Newest first, two per page.
    expect(res.body.items.map((c: { id: string }) => c.id)).toEqual([`${env.prefix}-f9`, `${env.prefix}-f8`]);
    const next = await env.http(
      env.users.admin,
      'GET',
      `/api/reports/open-cases?caseType=${T}&limit=2&cursor=${res.body.nextCursor}`,
    );
    expect(next.body.items.map((c: { id: string }) => c.id)).toEqual([
      `${env.prefix}-f7`,
      `${env.prefix}-f4`,
    ]);
  });

  it('lets the caller choose which statuses count as open', async () => {
    const res = await env.http(
      env.users.admin,
      'GET',
      `/api/reports/open-cases?caseType=${T}&statuses=IDENTIFYING,${T}:DECIDING,${T}:POSTPONED`,
    );
    expect(res.body.total).toBe(4);
    expect(res.body.openStatuses).toEqual([
      { status: 'IDENTIFYING' },
      { caseType: T, status: 'DECIDING' },
      { caseType: T, status: 'POSTPONED' },
    ]);
    expect(res.body.byStatus.map((s: { status: string }) => s.status)).toEqual(['IDENTIFYING', 'DECIDING']);
  });

  it('covers every case type by default and exports CSV', async () => {
    const alice = await env.http(env.users.alice, 'GET', '/api/reports/open-cases?limit=0');
    expect(alice.body.total).toBe(5);
    expect(alice.body.byType).toEqual([
      { caseType: N, count: 1 },
      { caseType: T, count: 4 },
    ]);
    const csv = await env.http(env.users.alice, 'GET', '/api/reports/open-cases?format=csv');
    const lines = (csv.body as string).trim().split('\r\n');
    expect(lines[0]).toBe('id,caseType,status,title,entityId,entityName,ownerId,createdAt');
    expect(lines).toHaveLength(6);
  });
});

describe('pipeline totals', () => {
  const strip = ({ filters: _filters, ...rest }: Record<string, unknown>) => rest;

  async function expectTotalsEqualCases(): Promise<Record<string, unknown>> {
    const url = `/api/reports/forecast?caseType=${T}`;
    const totals = await env.http(env.users.admin, 'GET', `${url}&source=totals`);
    const cases = await env.http(env.users.admin, 'GET', `${url}&source=cases`);
    expect([totals.body.filters.source, cases.body.filters.source]).toEqual(['totals', 'cases']);
    expect(strip(totals.body)).toEqual(strip(cases.body));
    const open = await env.http(
      env.users.admin,
      'GET',
      `/api/reports/open-cases?caseType=${T}&limit=0&source=totals`,
    );
    const openCases = await env.http(
      env.users.admin,
      'GET',
      `/api/reports/open-cases?caseType=${T}&limit=0&source=cases`,
    );
    expect({ ...open.body, source: null }).toEqual({ ...openCases.body, source: null });
    return totals.body.totals[0];
  }

  it('stay equal to an aggregation of the cases through projection upserts, updates and deletes', async () => {
    await expectTotalsEqualCases();
    // The projection's own statement: INSERT ... ON CONFLICT DO UPDATE.
    await env.db.query(
      `INSERT INTO cases (id, case_type, definition_version, title, status, status_category, owner_id, data, created_at, updated_at, version)
       VALUES ($1, $2, 1, 'Deal f1', 'WON', 'won', $3, '{"subject": "f1", "amount": 2500, "expectedCloseDate": "2031-01-15"}', now(), now(), 2)
       ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, status_category = EXCLUDED.status_category,
         data = EXCLUDED.data, version = EXCLUDED.version WHERE cases.version < EXCLUDED.version`,
      [`${env.prefix}-f1`, T, env.users.alice.id],
    );
    expect(await expectTotalsEqualCases()).toMatchObject({ wonCount: 2, wonAmount: 7500 });
    await env.db.query(`UPDATE cases SET owner_id = $2 WHERE id = $1`, [
      `${env.prefix}-f3`,
      env.users.alice.id,
    ]);
    await env.db.query(`UPDATE cases SET title = 'only the title' WHERE id = $1`, [`${env.prefix}-f4`]);
    await env.db.query('DELETE FROM cases WHERE id = $1', [`${env.prefix}-f9`]);
    expect(await expectTotalsEqualCases()).toMatchObject({ count: 8 });
    const periods = await env.http(
      env.users.admin,
      'GET',
      `/api/reports/forecast?caseType=${T}&from=2031-01-16&to=2031-02-28`,
    );
    expect(periods.body.filters.source).toBe('cases');
    const months = await env.http(
      env.users.admin,
      'GET',
      `/api/reports/forecast?caseType=${T}&from=2031-01&to=2031-02-28`,
    );
    expect(months.body.filters.source).toBe('totals');
  });
});
