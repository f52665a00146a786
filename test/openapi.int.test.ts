/** /openapi.json and /docs: complete, built from the schemas the routes validate with, self-contained. */
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { createApp } from '../api/app';
import { ALL_OPERATIONS, listRoutes, openApiPath } from '../api/openapi';
import { inboxQuerySchema } from '../api/routes/inbox';
import { caseMessageSchema } from '../api/routes/cases';
import { editClosedSchema } from '../api/routes/tasks';
import { reassignSchema } from '../api/routes/supervisor';
import { startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;
type Doc = { openapi: string; paths: Record<string, Record<string, Record<string, unknown>>> };
let doc: Doc;

beforeAll(async () => {
  env = await startTestEnv({ worker: false });
  const res = await env.http(null, 'GET', '/openapi.json');
  expect(res.status).toBe(200);
  doc = res.body;
});

afterAll(async () => {
  await env?.stop();
});

describe('OpenAPI', () => {
  it('describes every operation, each of which is a registered route', () => {
    expect(doc.openapi).toBe('3.1.0');
    const app = createApp({
      db: env.db,
      client: env.client,
      taskQueue: env.taskQueue,
      publicUrl: 'http://localhost',
      maxPageSize: 200,
      bodyLimit: '1mb',
      updateTimeoutMs: 1000,
      mailbox: env.sink,
    });
    const routes = new Set(listRoutes(app).map((r) => `${r.method} ${openApiPath(r.path)}`));
    const described = ALL_OPERATIONS.map((op) => `${op.method} ${openApiPath(op.path)}`);
    expect(described.filter((d) => !routes.has(d))).toEqual([]);
    for (const op of ALL_OPERATIONS) {
      const entry = doc.paths[openApiPath(op.path)]?.[op.method];
      expect(entry).toMatchObject({ operationId: op.operationId });
    }
    // Every registered route is described; none falls back to an "undocumented" entry.
    expect([...routes].filter((route) => !described.includes(route))).toEqual([]);
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, entry] of Object.entries(methods)) {
        expect({ route: `${method} ${path}`, undocumented: entry['x-undocumented'] }).toEqual({
          route: `${method} ${path}`,
          undocumented: undefined,
        });
      }
    }
    const ids = ALL_OPERATIONS.map((op) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('uses the very schemas the routes validate with', () => {
    const body = (path: string, method: string) =>
      (doc.paths[path]?.[method]?.requestBody as { content: Record<string, { schema: unknown }> }).content[
        'application/json'
      ]?.schema;
    // As JSON, as a client reads it (TypeBox schemas carry symbol keys that JSON leaves out).
    expect(body('/api/tasks/{id}', 'patch')).toEqual(JSON.parse(JSON.stringify(editClosedSchema)));
    expect(body('/api/cases/{id}/messages', 'post')).toEqual(JSON.parse(JSON.stringify(caseMessageSchema)));
    expect(body('/api/teams/{id}/reassign', 'post')).toEqual(JSON.parse(JSON.stringify(reassignSchema)));
    const params = doc.paths['/api/inbox']?.get?.parameters as { name: string; in: string }[];
    expect(params.filter((p) => p.in === 'query').map((p) => p.name)).toEqual(
      Object.keys(inboxQuerySchema.properties),
    );
    expect(doc.paths['/api/emails']?.get?.operationId).toBe('listEmails');
    expect(doc.paths['/api/emails']?.get?.['x-undocumented']).toBeUndefined();
  });

  it('holds only valid JSON Schemas (2020-12) and a problem type list per operation', () => {
    const ajv = new Ajv2020({ strict: false });
    addFormats(ajv);
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const schemas: unknown[] = [];
        const bodySchema = (op.requestBody as { content?: Record<string, { schema: unknown }> } | undefined)
          ?.content?.['application/json']?.schema;
        if (bodySchema) schemas.push(bodySchema);
        for (const p of (op.parameters as { schema: unknown }[]) ?? []) schemas.push(p.schema);
        for (const r of Object.values(
          (op.responses as Record<string, { content?: Record<string, { schema: unknown }> }>) ?? {},
        ))
          for (const c of Object.values(r.content ?? {})) schemas.push(c.schema);
        for (const schema of schemas) {
          expect(() => ajv.compile(schema as object)).not.toThrow();
        }
        expect(Array.isArray(op['x-problem-types'])).toBe(true);
        expect(`${method} ${path}`).toBeTruthy();
      }
    }
  });

  it('serves a self-contained documentation page listing every operation', async () => {
    const res = await env.http(null, 'GET', '/docs');
    expect(res.status).toBe(200);
    expect(res.type).toContain('text/html');
    for (const op of ALL_OPERATIONS) expect(res.body).toContain(openApiPath(op.path).replace(/&/g, '&#38;'));
    expect(res.body).not.toMatch(/<script|<link|src=|href="https?:/i);
  });
});
