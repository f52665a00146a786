/**
 * Publishing at run time (POST /api/case-types) and at start-up (lib/publish.ts publishValidDefinitions)
 * on the real stack: located errors as the CLI reports them, new cases on the new version while running
 * cases keep theirs, and a broken file skipped at start-up while the rest keeps serving.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { latestDefinition } from '../db/definitions';
import { loadDefinitionFiles } from '../designer/validate';
import type { CaseTypeDefinition } from '../engine/types';
import { publishAtStartup } from '../lib/publish';
import { DEFINITIONS_DIR, eventually, startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv();
});

afterAll(async () => {
  await env?.stop();
});

/** A small case type: one task for the sales team; `solved` ends it in v1 and asks for a review in v2. */
function definition(id: string, version: 1 | 2): CaseTypeDefinition {
  const review = version === 2;
  return {
    dslVersion: '1',
    id,
    version: `${version}.0.0`,
    name: 'Publish test',
    statuses: [
      { code: 'NEW', name: 'New', category: 'open' },
      { code: 'REVIEW', name: 'Review', category: 'open' },
      { code: 'DONE', name: 'Done', category: 'closed' },
    ],
    initialStatus: 'NEW',
    start: 'handle',
    steps: {
      handle: {
        type: 'human',
        action: 'task',
        title: `Handle (v${version})`,
        assign: { team: `${env.prefix}-sales` },
        outcomes: {
          solved: review ? { status: 'REVIEW', next: 'review' } : { status: 'DONE', end: true },
        },
      },
      ...(review
        ? {
            review: {
              type: 'human' as const,
              action: 'task',
              title: 'Review',
              assign: { team: `${env.prefix}-sales` },
              outcomes: { ok: { status: 'DONE', end: true } },
            },
          }
        : {}),
    },
  } as CaseTypeDefinition;
}

/** The located errors the CLI's loader reports for the same content in a file of that name. */
function cliErrors(def: unknown, name: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'publish-cli-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(def, null, 2));
  const { issues } = loadDefinitionFiles([file], path.join(DEFINITIONS_DIR, 'templates'));
  return issues
    .filter((i) => i.severity === 'error')
    .map((i) => ({ file: name, definitionPointer: i.pointer, message: i.message }));
}

async function startCase(caseType: string) {
  const res = await env.http(env.users.alice, 'POST', '/api/cases', { caseType });
  expect(res.status).toBe(201);
  return res.body as { id: string; definitionVersion: number; tasks: { id: string; title: string }[] };
}

async function complete(taskId: string, outcome: string) {
  expect((await env.http(env.users.alice, 'POST', `/api/tasks/${taskId}/claim`, {})).status).toBe(200);
  const res = await env.http(env.users.alice, 'POST', `/api/tasks/${taskId}/complete`, { outcome });
  expect(res.status).toBe(200);
}

describe('POST /api/case-types', () => {
  it('answers the located errors the CLI reports, with pointers into the request', async () => {
    const def = definition(`${env.prefix}-bad`, 1) as unknown as Record<string, unknown>;
    const steps = def.steps as Record<string, Record<string, unknown>>;
    (steps.handle as { outcomes: unknown }).outcomes = { solved: { next: 'revew' } };
    (steps.handle as { due: string }).due = '3 days';
    const res = await env.http(env.users.dana, 'POST', '/api/case-types', {
      definition: def,
      file: 'bad.json',
    });
    expect(res.status).toBe(400);
    expect(res.type).toContain('application/problem+json');
    expect(res.body.type).toMatch(/\/invalid-definition$/);
    const want = cliErrors(def, 'bad.json');
    expect(want.length).toBeGreaterThanOrEqual(2);
    expect(
      (res.body.errors as Record<string, string>[]).map(({ file, definitionPointer, message }) => ({
        file,
        definitionPointer,
        message,
      })),
    ).toEqual(want);
    for (const e of res.body.errors as { pointer: string; definitionPointer: string }[])
      expect(e.pointer).toBe(`/body/definition${e.definitionPointer}`);
    expect(res.body.detail).toContain('bad.json#/steps/handle/due:');
    expect(await latestDefinition(env.db, `${env.prefix}-bad`)).toBeUndefined();
  });

  it('refuses a team that is not in the directory, at its pointer', async () => {
    const def = definition(`${env.prefix}-ghost`, 1);
    const handle = def.steps.handle as { assign: unknown };
    handle.assign = { team: `${env.prefix}-nobody` };
    const res = await env.http(env.users.dana, 'POST', '/api/case-types', { definition: def });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      expect.objectContaining({
        pointer: '/body/definition/steps/handle/assign/team',
        file: `${env.prefix}-ghost.json`,
        message: `unknown team "${env.prefix}-nobody"`,
      }),
    ]);
  });

  it('is for designers and administrators; a dry run publishes nothing', async () => {
    const def = definition(`${env.prefix}-dry`, 1);
    expect((await env.http(env.users.alice, 'POST', '/api/case-types', { definition: def })).status).toBe(
      403,
    );
    const dry = await env.http(env.users.dana, 'POST', '/api/case-types', { definition: def, dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ id: def.id, version: null, created: false, dryRun: true });
    expect(await latestDefinition(env.db, def.id)).toBeUndefined();
  });

  it('new cases use the published version; a running case of the old one keeps running it', async () => {
    const id = `${env.prefix}-pub`;
    const first = await env.http(env.users.dana, 'POST', '/api/case-types', {
      definition: definition(id, 1),
    });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ id, version: 1, created: true });
    const old = await startCase(id);
    expect(old.definitionVersion).toBe(1);

    const second = await env.http(env.users.admin, 'POST', '/api/case-types', {
      definition: definition(id, 2),
    });
    expect(second.status).toBe(201);
    expect(second.body).toMatchObject({ version: 2, created: true });
    const again = await env.http(env.users.dana, 'POST', '/api/case-types', {
      definition: definition(id, 2),
    });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ version: 2, created: false });

    const fresh = await startCase(id);
    expect(fresh.definitionVersion).toBe(2);
    expect(fresh.tasks[0]?.title).toBe('Handle (v2)');

    // The old case follows version 1: solved ends it.
    await complete(old.tasks[0]?.id as string, 'solved');
    const ended = await eventually(async () => {
      const res = await env.http(env.users.alice, 'GET', `/api/cases/${old.id}`);
      return res.body.endedAt ? res.body : undefined;
    });
    expect(ended).toMatchObject({ status: 'DONE', definitionVersion: 1 });
    // The new case follows version 2: solved asks for a review.
    await complete(fresh.tasks[0]?.id as string, 'solved');
    const reviewing = await eventually(async () => {
      const res = await env.http(env.users.alice, 'GET', `/api/cases/${fresh.id}`);
      return (res.body.tasks as { title: string; status: string }[]).some(
        (t) => t.title === 'Review' && t.status === 'open',
      )
        ? res.body
        : undefined;
    });
    expect(reviewing).toMatchObject({ status: 'REVIEW', endedAt: null });
  });
});

describe('publishing at start-up', () => {
  it('skips a broken file with its located errors; the others and its last published version keep serving', async () => {
    const good = definition(`${env.prefix}-good`, 1);
    const kept = definition(`${env.prefix}-kept`, 1);
    await env.publish(kept);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'startup-'));
    fs.mkdirSync(path.join(dir, 'templates'));
    fs.writeFileSync(path.join(dir, 'good.json'), JSON.stringify(good));
    // Version 2 of `kept`, broken: an unknown status.
    const broken = definition(`${env.prefix}-kept`, 2);
    broken.initialStatus = 'NOPE';
    fs.writeFileSync(path.join(dir, 'kept.json'), JSON.stringify(broken));
    fs.writeFileSync(path.join(dir, 'garbled.json'), '{ "dslVersion": "1", ');

    const logged: { fields: Record<string, unknown>; msg: string }[] = [];
    const log = {
      info: () => undefined,
      error: (fields: Record<string, unknown>, msg: string) => logged.push({ fields, msg }),
    } as unknown as Parameters<typeof publishAtStartup>[2];
    const result = await publishAtStartup(env.db, dir, log);
    expect(result.published.map((p) => p.stored.caseType)).toEqual([good.id]);
    const skipped = Object.fromEntries(result.skipped.map((s) => [path.basename(s.file), s.errors]));
    expect(Object.keys(skipped).sort()).toEqual(['garbled.json', 'kept.json']);
    expect(skipped['kept.json']).toEqual([
      expect.objectContaining({ pointer: '/initialStatus', message: expect.stringContaining('NOPE') }),
    ]);
    expect(skipped['garbled.json']?.[0]?.message).toMatch(/^invalid JSON at line 1/);
    // Each error is logged with its file, pointer and message.
    expect(logged).toEqual(
      expect.arrayContaining([
        {
          fields: expect.objectContaining({ file: path.join(dir, 'kept.json'), pointer: '/initialStatus' }),
          msg: expect.stringMatching(new RegExp(`^definition skipped: .*kept\\.json#/initialStatus: .*NOPE`)),
        },
      ]),
    );
    expect(logged).toHaveLength(result.skipped.flatMap((s) => s.errors).length);

    // The skipped type still serves its last published version; the valid one is new.
    expect((await latestDefinition(env.db, kept.id))?.definition.version).toBe('1.0.0');
    expect((await startCase(kept.id)).definitionVersion).toBe(1);
    expect((await startCase(good.id)).tasks[0]?.title).toBe('Handle (v1)');
  });
});
