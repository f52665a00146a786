/**
 * A generated set of bad requests against every route the app serves (taken from its own /openapi.json,
 * which also lists routes without a description): malformed JSON, wrong types, unknown fields, huge and
 * deeply nested bodies, injection strings, NUL bytes, huge page sizes, odd path segments, long headers.
 * None may answer 500, and every error must be application/problem+json.
 */
import { startTestEnv, type TestEnv } from './support/env';
import { inBatches, startWork, workDefinition } from './support/matrix';

let env: TestEnv;
const ids: Record<string, string> = {};

beforeAll(async () => {
  env = await startTestEnv();
  const caseType = await env.publish(workDefinition(env.prefix, 'sales'));
  const work = await startWork(env, caseType, 'bad');
  ids.task = work.taskId;
  ids.case = work.caseId;
  ids.team = `${env.prefix}-sales`;
  const user = await env.http(env.users.admin, 'POST', '/api/users', {
    id: `${env.prefix}-target`,
    name: 'Target',
    email: `target.${env.prefix}@example.com`,
    role: 'agent',
  });
  ids.user = user.body.id;
});

afterAll(async () => {
  await env?.stop();
});

const INJECTIONS = [
  "' OR 1=1 --",
  '"; DROP TABLE tasks; --',
  '<script>alert(1)</script>',
  '../../etc/passwd',
  '{{constructor.constructor("return process")()}}',
  '${7*7}',
  '\ud800',
  '🙂'.repeat(50),
];
/** Replacement values for a body property, whatever its declared type. */
const BODY_VALUES: unknown[] = [
  12345,
  -1,
  1e308,
  1.5,
  'true',
  null,
  {},
  [],
  [[[]]],
  { $gt: '' },
  'x'.repeat(100_000),
  'a\u0000b',
  ...INJECTIONS,
];
/** Percent-encodes, or for a lone surrogate gives its (invalid) UTF-8 bytes. */
function encode(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return '%ED%A0%80';
  }
}
/** Replacement values for a query parameter (strings only). */
const QUERY_VALUES = [
  '',
  '-1',
  '0',
  '99999999999999999999',
  '1e9',
  'true',
  'x'.repeat(5000),
  '%00',
  'a%00b',
  '%E0%A4%A',
  ...INJECTIONS.map(encode),
];
const PATH_VALUES = [
  'nope',
  '%00',
  'a%00b',
  'x'.repeat(3000),
  '%E0%A4%A',
  '..%2F..%2Fetc%2Fpasswd',
  encodeURIComponent("' OR 1=1 --"),
  encodeURIComponent('<script>'),
  '%F0%9F%99%82',
];

interface Probe {
  name: string;
  method: string;
  url: string;
  body?: string;
  headers?: Record<string, string>;
}

type Operation = {
  parameters?: { name: string; in: string }[];
  requestBody?: { content: { 'application/json': { schema: { properties?: Record<string, unknown> } } } };
};

function pathWith(template: string, override?: [string, string]): string {
  return template.replace(/\{([A-Za-z0-9_]+)\}/g, (_, name: string) => {
    if (override && override[0] === name) return override[1];
    if (name === 'key') return 'allowEditClosedTasks';
    if (name === 'userId') return ids.user as string;
    if (name === 'file') return 'x'.repeat(43) + '.ics';
    if (template.startsWith('/api/tasks')) return ids.task as string;
    if (template.startsWith('/api/cases')) return ids.case as string;
    if (template.startsWith('/api/teams')) return ids.team as string;
    if (template.startsWith('/api/users')) return ids.user as string;
    return 'x';
  });
}

function deep(levels: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

/** The bad requests for one operation. */
function probes(path: string, method: string, op: Operation): Probe[] {
  const out: Probe[] = [];
  const base = pathWith(path);
  const name = `${method.toUpperCase()} ${path}`;
  for (const param of (op.parameters ?? []).filter((p) => p.in === 'path')) {
    for (const value of PATH_VALUES) {
      out.push({
        name: `${name} path ${param.name}=${value.slice(0, 20)}`,
        method,
        url: pathWith(path, [param.name, value]),
      });
    }
  }
  if (method === 'get') {
    const query = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
    for (const q of [...query, 'limit', 'unknownParam']) {
      for (const value of QUERY_VALUES)
        out.push({ name: `${name} ?${q}=${value.slice(0, 20)}`, method, url: `${base}?${q}=${value}` });
    }
    out.push({ name: `${name} repeated`, method, url: `${base}?limit=1&limit=2&sort=due&sort=due` });
    out.push({
      name: `${name} nested`,
      method,
      url: `${base}?a[b][c]=1&__proto__[x]=1&constructor[prototype][y]=1`,
    });
  } else {
    const json = (body: unknown) => JSON.stringify(body);
    out.push({ name: `${name} malformed`, method, url: base, body: '{"a": ' });
    out.push({ name: `${name} trailing`, method, url: base, body: '{"a": 1}}' });
    for (const body of ['[]', '"x"', 'null', '42', 'true', '{"__proto__": {"admin": true}}']) {
      out.push({ name: `${name} body ${body}`, method, url: base, body });
    }
    out.push({ name: `${name} unknown field`, method, url: base, body: json({ unknownField: 1 }) });
    out.push({ name: `${name} NUL key`, method, url: base, body: '{"a\\u0000b": 1}' });
    out.push({
      name: `${name} deep`,
      method,
      url: base,
      body: `{"data":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`,
    });
    out.push({
      name: `${name} very deep`,
      method,
      url: base,
      body: '['.repeat(200_000) + ']'.repeat(200_000),
    });
    out.push({ name: `${name} huge`, method, url: base, body: json({ text: 'x'.repeat(1_200_000) }) });
    out.push({
      name: `${name} text/plain`,
      method,
      url: base,
      body: 'hello',
      headers: { 'content-type': 'text/plain' },
    });
    const props = Object.keys(op.requestBody?.content['application/json'].schema.properties ?? {});
    for (const prop of props) {
      for (const value of BODY_VALUES) {
        out.push({
          name: `${name} ${prop}=${JSON.stringify(value)?.slice(0, 20)}`,
          method,
          url: base,
          body: json({ [prop]: value }),
        });
      }
    }
    out.push({
      name: `${name} long key`,
      method,
      url: base,
      body: json({}),
      headers: { 'idempotency-key': 'k'.repeat(5000) },
    });
    out.push({
      name: `${name} latin1 key`,
      method,
      url: base,
      body: json({}),
      headers: { 'idempotency-key': 'clé' },
    });
  }
  out.push({
    name: `${name} long bearer`,
    method,
    url: base,
    headers: { authorization: `Bearer ${'x'.repeat(8000)}` },
  });
  out.push({ name: `${name} basic auth`, method, url: base, headers: { authorization: 'Basic YTpi' } });
  out.push({ name: `${name} no auth`, method, url: base, headers: { authorization: '' } });
  return out;
}

interface Outcome {
  probe: string;
  status: number;
  type: string;
}

async function send(probe: Probe): Promise<Outcome> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${env.users.admin.token}`,
    ...(probe.body !== undefined ? { 'content-type': 'application/json' } : {}),
    ...probe.headers,
  };
  if (headers.authorization === '') delete headers.authorization;
  const res = await fetch(env.baseUrl + probe.url, {
    method: probe.method.toUpperCase(),
    headers,
    body: probe.body,
    signal: AbortSignal.timeout(30_000),
  });
  const type = res.headers.get('content-type') ?? '';
  // An event stream that opened is a success; stop reading it.
  if (type.includes('text/event-stream')) await res.body?.cancel();
  else await res.text();
  return { probe: probe.name, status: res.status, type };
}

const isBad = (o: Outcome) =>
  o.status >= 500 || (o.status >= 400 && !o.type.includes('application/problem+json'));

describe('bad requests', () => {
  it('never answer 500 and always answer problem+json, on every route', async () => {
    const doc = await env.http(null, 'GET', '/openapi.json');
    expect(doc.status).toBe(200);
    const all: Probe[] = [];
    for (const [path, methods] of Object.entries(
      doc.body.paths as Record<string, Record<string, Operation>>,
    )) {
      for (const [method, op] of Object.entries(methods)) all.push(...probes(path, method, op));
    }
    expect(all.length).toBeGreaterThan(2000);
    const outcomes = await inBatches(all, 8, send);
    const bad = outcomes.filter(isBad);
    expect(bad).toEqual([]);
    // The body limit answers 413.
    const huge = outcomes.filter((o) => o.probe.endsWith(' huge') && o.probe.startsWith('POST /api/'));
    expect(huge.length).toBeGreaterThan(10);
    for (const o of huge) expect(o.status).toBe(413);
  });

  it('answers oversized headers and request lines with problem+json too', async () => {
    const headers = await send({
      name: 'big header',
      method: 'get',
      url: '/api/inbox',
      headers: { 'x-big': 'x'.repeat(20_000) },
    });
    expect(headers).toMatchObject({ status: 431, type: 'application/problem+json' });
    const url = await send({ name: 'big url', method: 'get', url: `/api/inbox?q=${'x'.repeat(20_000)}` });
    expect(url).toMatchObject({ status: 431, type: 'application/problem+json' });
  });

  it('points at the offending value for NUL bytes and over-deep bodies', async () => {
    const nul = await env.http(env.users.alice, 'POST', `/api/tasks/${ids.task}/comment`, {
      text: 'a\u0000b',
    });
    expect(nul.status).toBe(400);
    expect(nul.body.errors).toEqual([{ pointer: '/body/text', message: 'must not contain NUL characters' }]);
    const nested = await env.http(env.users.alice, 'POST', `/api/tasks/${ids.task}/complete`, {
      outcome: 'done',
      data: deep(100),
    });
    expect(nested.status).toBe(400);
    expect(nested.body.errors[0].message).toBe('nests deeper than 64 levels');
    const path = await env.http(env.users.alice, 'GET', '/api/tasks/a%00b');
    expect(path.status).toBe(400);
  });
});
