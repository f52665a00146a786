/**
 * The custom fields of entities and contacts (GET /api/schemas/:name) and a case type's statuses in pipeline order
 * (GET /api/case-types/:id/statuses), as the web app renders them. Expected values are read from the definition
 * files and the published definition here, not from the code under test.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PROBLEM_BASE } from '../api/problem';
import { DEFINITIONS_DIR, startTestEnv, type TestEnv } from './support/env';
import { workDefinition } from './support/matrix';

let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv({ worker: false });
});

afterAll(async () => {
  await env?.stop();
});

type Node = { type?: string; properties?: Record<string, Node>; title?: string; enum?: unknown[] };

describe('GET /api/schemas/:name', () => {
  it.each(['entity', 'contact'])(
    'lists every leaf field of the %s schema file with its type',
    async (name) => {
      const file = JSON.parse(
        fs.readFileSync(path.join(DEFINITIONS_DIR, `${name}.schema.json`), 'utf8'),
      ) as Node;
      const leaves: { path: string; type: string; enum: unknown[] | null }[] = [];
      const walk = (node: Node, prefix: string) => {
        for (const [key, child] of Object.entries(node.properties ?? {})) {
          const at = prefix ? `${prefix}.${key}` : key;
          if (child.type === 'object' && child.properties) walk(child, at);
          else leaves.push({ path: at, type: child.type ?? 'string', enum: child.enum ?? null });
        }
      };
      walk(file, '');
      expect(leaves.length).toBeGreaterThan(0);
      // Every role reads it, designers included: it holds no personal data.
      for (const user of [env.users.alice, env.users.dana]) {
        const res = await env.http(user, 'GET', `/api/schemas/${name}`);
        expect(res.status).toBe(200);
        expect(res.body.name).toBe(name);
        expect(
          res.body.fields.map((f: { path: string; type: string; enum: unknown }) => ({
            path: f.path,
            type: f.type,
            enum: f.enum,
          })),
        ).toEqual(leaves);
        for (const f of res.body.fields) expect(typeof f.label).toBe('string');
      }
    },
  );

  it('labels a field by its title, or by its name in words', async () => {
    const res = await env.http(env.users.alice, 'GET', '/api/schemas/entity');
    const byPath = Object.fromEntries(res.body.fields.map((f: { path: string }) => [f.path, f]));
    expect(byPath.annualRevenue).toMatchObject({ label: 'Annual revenue', type: 'number' });
    expect(byPath['billing.paymentTerms']).toMatchObject({
      label: 'Payment terms',
      enum: ['prepaid', 'net30', 'net60', 'net90'],
    });
    expect(byPath.foundedOn).toMatchObject({ format: 'date' });
    expect(byPath.tags).toMatchObject({ type: 'array', itemType: 'string' });
  });

  it('answers 404 for a schema that does not exist', async () => {
    const res = await env.http(env.users.alice, 'GET', '/api/schemas/invoice');
    expect(res.status).toBe(404);
    expect(res.body.type).toBe(`${PROBLEM_BASE}not-found`);
  });
});

describe('GET /api/case-types/:id/statuses', () => {
  it('lists the statuses of the latest version in the order the definition lists them', async () => {
    const def = workDefinition(env.prefix, 'sales');
    // Not alphabetical: the pipeline goes OPEN, QUOTED, DONE.
    def.statuses = [
      { code: 'OPEN', name: 'Open', category: 'open', probability: 10 },
      { code: 'QUOTED', name: 'Quoted', category: 'open', probability: 60 },
      { code: 'DONE', name: 'Done', category: 'closed' },
    ];
    const id = await env.publish(def);
    const res = await env.http(env.users.dana, 'GET', `/api/case-types/${id}/statuses`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      caseType: id,
      version: 1,
      initialStatus: 'OPEN',
      items: def.statuses.map((s, i) => ({ position: i + 1, ...s })),
    });
    const missing = await env.http(env.users.dana, 'GET', `/api/case-types/${env.prefix}-nope/statuses`);
    expect(missing.status).toBe(404);
  });
});
