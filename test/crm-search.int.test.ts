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

describe('a search of several words, one of them in most names', () => {
  // 1,200 names hold "Benchword" (far more than a tenth of the names, once analysed), so the trigram index is asked
  // for the other words only; the whole text must still be checked. The decoys hold the rare words in the same
  // order with another word between them: the index's pattern matches them, the search must not.
  let names: { id: string; name: string }[];

  beforeAll(async () => {
    names = Array.from({ length: 1200 }, (_, i) => ({
      id: `${env.prefix}-w${i}`,
      name: `Gómez ${env.prefix} Benchword ${i}`,
    }));
    names.push(
      { id: `${env.prefix}-d1`, name: `Gómez ${env.prefix} Other 7` },
      { id: `${env.prefix}-d2`, name: `Gómez ${env.prefix} Benchwords 7` },
      { id: `${env.prefix}-d3`, name: `Gomez ${env.prefix}  Benchword 7` },
    );
    await env.db.query(
      `INSERT INTO entities (id, kind, code, name)
       SELECT id, 'CL', id, name FROM unnest($1::text[], $2::text[]) AS x(id, name)`,
      [names.map((n) => n.id), names.map((n) => n.name)],
    );
    await env.db.query('ANALYZE entities');
  });

  it('is in most names by the statistics the search reads', async () => {
    const [row] = await env.db.query<{ share: number }>(
      `SELECT (SELECT count(*) FROM unnest(histogram_bounds::text::text[]) h WHERE strpos(h, 'benchword') > 0)::float
              / cardinality(histogram_bounds::text::text[]) AS share
       FROM pg_stats WHERE tablename = 'entities' AND attname = 'name_fold'`,
    );
    expect(row?.share).toBeGreaterThan(0.1);
  });

  it.each([
    `gomez ${'PREFIX'} benchword 7`,
    `${'PREFIX'} BENCHWORD 11`,
    `benchword 119`,
    `gómez PREFIX other`,
  ])('finds exactly the names holding "%s", in name order, page after page', async (text) => {
    const q = text.replace('PREFIX', env.prefix);
    const expected = names
      .filter((n) => fold(n.name).includes(fold(q)))
      .map((n) => n.id)
      .sort();
    expect(expected.length).toBeGreaterThan(0);
    const found: { id: string; name: string }[] = [];
    let cursor: string | null = null;
    do {
      const res = await env.http(
        env.users.alice,
        'GET',
        `/api/entities?limit=7&q=${encodeURIComponent(q)}${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(res.status).toBe(200);
      found.push(...(res.body.items as { id: string; name: string }[]));
      cursor = res.body.nextCursor as string | null;
    } while (cursor);
    const ours = found.filter((e) => e.name.includes(env.prefix));
    expect(ours.map((e) => e.id).sort()).toEqual(expected);
    // Name order, no entity twice across the pages (the pages follow each other in (name, id)).
    const keys = ours.map((e) => [e.name, e.id] as const);
    for (let i = 1; i < keys.length; i++) {
      const [a, b] = [keys[i - 1], keys[i]] as [readonly [string, string], readonly [string, string]];
      expect(a[0] < b[0] || (a[0] === b[0] && a[1] < b[1])).toBe(true);
    }
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
