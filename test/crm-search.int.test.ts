/**
 * Entity and contact search ignore case and accents ("gomez" finds "Gómez", "GÓMEZ" finds "Gomez"). The
 * expected matches are computed here by folding the names with Unicode decomposition, not by the database.
 */
import { seedEntity } from './support/crm';
import { startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv({ worker: false });
});

afterAll(async () => {
  await env?.stop();
});

/** Lower case without combining marks: what a reader means by "the same letters". */
const fold = (text: string) => text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();

const NAMES = ['Gómez Hermanos', 'GÓMEZ Y CÍA', 'Gomez Logistics', 'Gomes Trading', 'Núñez Gómara', 'Ibáñez'];

describe('accent-insensitive search', () => {
  let names: string[];

  beforeAll(async () => {
    names = NAMES.map((n) => `${n} ${env.prefix}`);
    for (const [i, name] of names.entries()) {
      await seedEntity(env, { id: `${env.prefix}-s${i}`, code: `${env.prefix}-S${i}`, name, agentId: null });
      await env.db.query('INSERT INTO contacts (id, entity_id, name) VALUES ($1, $2, $3)', [
        `${env.prefix}-sc${i}`,
        `${env.prefix}-s${i}`,
        `José ${name}`,
      ]);
    }
  });

  it.each(['gomez', 'GÓMEZ', 'Gómez', 'nunez', 'ibañez', 'y cia'])(
    'finds the entities whose name holds "%s" whatever its accents and case',
    async (q) => {
      const expected = names.filter((n) => fold(n).includes(fold(q))).sort();
      expect(expected.length).toBeGreaterThan(0);
      const found = await env.http(
        env.users.alice,
        'GET',
        `/api/entities?limit=100&q=${encodeURIComponent(q)}`,
      );
      const ours = found.body.items
        .map((e: { name: string }) => e.name)
        .filter((n: string) => n.endsWith(env.prefix))
        .sort();
      expect(ours).toEqual(expected);
    },
  );

  it('finds contacts the same way ("jose nunez" finds "José Núñez ...")', async () => {
    const q = `jose nunez`;
    const expected = names.map((n) => `José ${n}`).filter((n) => fold(n).includes(q));
    expect(expected).toHaveLength(1);
    const res = await env.http(env.users.bob, 'GET', `/api/contacts?q=${encodeURIComponent(q)}&limit=100`);
    expect(res.status).toBe(200);
    expect(
      res.body.items.map((c: { name: string }) => c.name).filter((n: string) => n.endsWith(env.prefix)),
    ).toEqual(expected);
  });

  it('keeps the wildcards of the text literal', async () => {
    const res = await env.http(env.users.alice, 'GET', `/api/entities?q=${encodeURIComponent('g%z')}`);
    expect(res.status).toBe(200);
    expect(res.body.items.filter((e: { name: string }) => e.name.endsWith(env.prefix))).toEqual([]);
  });

  it('can serve a search from the folded-name trigram index', async () => {
    // On a small table the planner prefers other scans; with them off, the trigram index must fit the predicate
    // the entity list uses (the stored folded name, migration 071).
    const plan = await env.db.transaction(async (tx) => {
      for (const scan of ['seqscan', 'indexscan', 'indexonlyscan'])
        await tx.query(`SET LOCAL enable_${scan} = off`);
      return tx.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT id FROM entities e WHERE e.name_fold LIKE crm_fold($1)`,
        ['%gomez%'],
      );
    });
    expect(plan.map((r) => r['QUERY PLAN']).join('\n')).toContain('entities_name_fold_trgm');
  });
});

describe('search by code', () => {
  it('finds an entity by its exact code through an index led by code (not a scan of the (kind, code) one)', async () => {
    const plan = await env.db.transaction(async (tx) => {
      await tx.query('SET LOCAL enable_seqscan = off');
      return tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN SELECT id FROM entities e WHERE e.code = $1`, [
        'X1',
      ]);
    });
    expect(plan.map((r) => r['QUERY PLAN']).join('\n')).toContain('entities_code');
  });
});
