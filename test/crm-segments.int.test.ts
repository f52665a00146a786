import { count, seedEntity } from './support/crm';
import { scoped, shippedDefinition, startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;
let T: string;

const id = (n: string) => `${env.prefix}-${n}`;
/** Every filter is confined to this file's entities: the database is shared with other test files. */
const mine = () => ({ field: 'code', op: 'startsWith', value: env.prefix });

async function seedCase(caseId: string, entityId: string, status: string, category: string, amount: number) {
  await env.db.query(
    `INSERT INTO cases (id, case_type, definition_version, title, status, status_category, entity_id, owner_id, data,
       created_at, updated_at, ended_at, version)
     VALUES ($1, $2, 1, 'Deal', $3, $4, $5, $6, $7, now(), now(), CASE WHEN $4 = 'open' THEN NULL ELSE now() END, 1)`,
    [caseId, T, status, category, entityId, env.users.alice.id, JSON.stringify({ subject: 'Deal', amount })],
  );
}

beforeAll(async () => {
  env = await startTestEnv({ worker: false });
  T = await env.publish(scoped(shippedDefinition('opportunity'), env.prefix));
  await seedEntity(env, {
    id: id('s1'),
    code: id('S1'),
    name: 'S1 Retail North',
    sector: 'retail',
    zone: 'north',
    agentId: env.users.alice.id,
    custom: { employees: 150, tier: 'ENT', tags: ['vip', 'fleet'], billing: { creditLimit: 10000 } },
  });
  await seedEntity(env, {
    id: id('s2'),
    code: id('S2'),
    name: 'S2 Retail South',
    sector: 'retail',
    zone: 'south',
    agentId: env.users.bob.id,
    custom: { employees: 50, tier: 'SMB', tags: ['fleet'] },
  });
  await seedEntity(env, {
    id: id('s3'),
    code: id('S3'),
    name: 'S3 Industry North',
    sector: 'industry',
    zone: 'north',
    agentId: env.users.carol.id,
    custom: { employees: 500, vip: true },
  });
  await seedEntity(env, {
    id: id('s4'),
    code: id('S4'),
    name: 'S4 Retail North',
    sector: 'retail',
    zone: 'north',
  });
  await seedCase(id('c1'), id('s1'), 'WON', 'won', 8000);
  await seedCase(id('c2'), id('s2'), 'WON', 'won', 3000);
  await seedCase(id('c3'), id('s2'), 'WON', 'won', 2500);
  await seedCase(id('c4'), id('s3'), 'LOST', 'lost', 9000);
  for (const [task, caseId, status] of [
    ['t1', id('c2'), 'completed'],
    ['t2', id('c4'), 'open'],
  ] as const) {
    await env.db.query(
      `INSERT INTO tasks (id, case_id, action, title, status, priority, created_at, completed_at, case_type, case_title,
         case_status, version)
       VALUES ($1, $2, 'visit', 'Visit', $3, 'normal', now(), CASE WHEN $3 = 'completed' THEN now() END, $4, 'Deal', 'WON', 1)`,
      [id(task), caseId, status, T],
    );
  }
});

afterAll(async () => {
  await env?.stop();
});

async function preview(filter: unknown): Promise<string[]> {
  const res = await env.http(env.users.sam, 'POST', '/api/segments/preview?limit=100', { filter });
  expect(res.status).toBe(200);
  expect(res.body.count).toBe(res.body.items.length);
  return res.body.items.map((e: { id: string }) => e.id).sort();
}

describe('segment filters', () => {
  it('filters on standard and custom fields', async () => {
    expect(
      await preview({
        all: [
          mine(),
          { field: 'sector', op: 'eq', value: 'retail' },
          { field: 'custom.employees', op: 'gte', value: 100 },
        ],
      }),
    ).toEqual([id('s1')]);
    expect(
      await preview({ all: [mine(), { field: 'custom.tier', op: 'in', value: ['ENT', 'SMB'] }] }),
    ).toEqual([id('s1'), id('s2')]);
    expect(await preview({ all: [mine(), { field: 'custom.tags', op: 'has', value: 'vip' }] })).toEqual([
      id('s1'),
    ]);
    expect(
      await preview({ all: [mine(), { field: 'custom.billing.creditLimit', op: 'gt', value: 5000 }] }),
    ).toEqual([id('s1')]);
    expect(await preview({ all: [mine(), { field: 'custom.vip', op: 'eq', value: true }] })).toEqual([
      id('s3'),
    ]);
    expect(
      await preview({
        all: [
          mine(),
          {
            any: [
              { field: 'zone', op: 'eq', value: 'south' },
              { field: 'sector', op: 'eq', value: 'industry' },
            ],
          },
        ],
      }),
    ).toEqual([id('s2'), id('s3')]);
    expect(await preview({ all: [mine(), { field: 'name', op: 'contains', value: 'retail n' }] })).toEqual([
      id('s1'),
      id('s4'),
    ]);
    expect(
      await preview({
        all: [
          mine(),
          { field: 'agentId', op: 'isSet', value: false },
          { not: { field: 'sector', op: 'eq', value: 'industry' } },
        ],
      }),
    ).toEqual([id('s4')]);
    // The acme entity of the test environment belongs to alice (sales) too.
    expect(
      await preview({ all: [mine(), { field: 'team', op: 'eq', value: `${env.prefix}-sales` }] }),
    ).toEqual([`${env.prefix}-acme`, id('s1'), id('s2')].sort());
  });

  it('filters on history: cases, actions done and won amounts', async () => {
    expect(await preview({ all: [mine(), { hasCases: { caseType: T, status: 'WON' } }] })).toEqual([
      id('s1'),
      id('s2'),
    ]);
    expect(await preview({ all: [mine(), { hasCases: { category: 'won', minCount: 2 } }] })).toEqual([
      id('s2'),
    ]);
    expect(await preview({ all: [mine(), { wonAmount: { op: 'gte', value: 5000 } }] })).toEqual([
      id('s1'),
      id('s2'),
    ]);
    expect(await preview({ all: [mine(), { wonAmount: { op: 'gte', value: 6000, caseType: T } }] })).toEqual([
      id('s1'),
    ]);
    expect(await preview({ all: [mine(), { actionsDone: { action: 'visit' } }] })).toEqual([id('s2')]);
  });

  it('rejects unknown fields, misfit operators and values with pointers, and saves nothing', async () => {
    const res = await env.http(env.users.sam, 'POST', '/api/segments', {
      name: `${env.prefix} broken`,
      filter: {
        all: [
          mine(),
          { field: 'colour', op: 'eq', value: 'red' },
          { field: 'custom.shoeSize', op: 'gt', value: 40 },
          { field: 'sector', op: 'gt', value: 'x' },
          { field: 'custom.employees', op: 'eq', value: 'many' },
        ],
      },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { pointer: '/body/filter/all/1/field', message: expect.stringContaining('unknown field "colour"') },
      { pointer: '/body/filter/all/2/field', message: expect.stringContaining('entity.schema.json') },
      { pointer: '/body/filter/all/3/op', message: expect.stringContaining('"gt" does not apply to sector') },
      { pointer: '/body/filter/all/4/value', message: 'must be a number' },
    ]);
    expect(await count(env, 'segments WHERE name = $1', [`${env.prefix} broken`])).toBe(0);
    const malformed = await env.http(env.users.sam, 'POST', '/api/segments/preview', {
      filter: { field: 'sector' },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors.length).toBeGreaterThan(0);
  });
});

describe('saved segments', () => {
  it('saves a segment by name and reuses it for entity lists and reports', async () => {
    const name = `${env.prefix} retail winners`;
    const filter = {
      all: [mine(), { field: 'sector', op: 'eq', value: 'retail' }, { wonAmount: { op: 'gt', value: 0 } }],
    };
    const saved = await env.http(env.users.sam, 'POST', '/api/segments', { name, filter });
    expect(saved.status).toBe(201);
    const dup = await env.http(env.users.sam, 'POST', '/api/segments', { name, filter });
    expect(dup.status).toBe(409);
    expect(dup.body.errors[0].pointer).toBe('/body/name');
    // Renaming another segment to a name in use is the same conflict, and changes nothing.
    const other = await env.http(env.users.sam, 'POST', '/api/segments', { name: `${name} (copy)`, filter });
    const renamed = await env.http(env.users.sam, 'PUT', `/api/segments/${other.body.id}`, { name, filter });
    expect(renamed.status).toBe(409);
    expect(renamed.body.type).toMatch(/duplicate-name$/);
    expect(renamed.body.errors[0].pointer).toBe('/body/name');
    expect((await env.http(env.users.sam, 'GET', `/api/segments/${other.body.id}`)).body.name).toBe(
      `${name} (copy)`,
    );
    const agent = await env.http(env.users.alice, 'POST', '/api/segments', { name: `${name} 2`, filter });
    expect(agent.status).toBe(403);

    const members = await env.http(env.users.alice, 'GET', `/api/segments/${saved.body.id}/entities`);
    expect(members.body).toMatchObject({ count: 2, segment: { name } });
    const listed = await env.http(
      env.users.alice,
      'GET',
      `/api/entities?segmentId=${encodeURIComponent(name)}`,
    );
    expect(listed.body.items.map((e: { id: string }) => e.id)).toEqual([id('s1'), id('s2')]);

    const report = await env.http(
      env.users.admin,
      'GET',
      `/api/reports/forecast?caseType=${T}&segmentId=${saved.body.id}`,
    );
    expect(report.body.totals).toEqual([expect.objectContaining({ count: 3, wonAmount: 13500 })]);
    const unknown = await env.http(env.users.admin, 'GET', '/api/reports/forecast?segmentId=nope');
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors[0].pointer).toBe('/query/segmentId');
  });
});
