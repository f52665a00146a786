import type { CaseTypeDefinition } from '../engine/types';
import { scoped, shippedDefinition, startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;
let v1: CaseTypeDefinition;

beforeAll(async () => {
  env = await startTestEnv();
  v1 = scoped(shippedDefinition('opportunity'), env.prefix);
  await env.publish(v1);
});

afterAll(async () => {
  await env?.stop();
});

/** Version 2 renames the first step and changes its title: a designer's edit. */
function version2(): CaseTypeDefinition {
  const v2 = JSON.parse(JSON.stringify(v1)) as CaseTypeDefinition;
  const first = v2.steps['identify-needs'];
  if (!first || first.type !== 'human') throw new Error('fixture changed');
  delete v2.steps['identify-needs'];
  v2.steps.discover = { ...first, title: 'Discovery call with {{entity.name}}' };
  v2.start = 'discover';
  v2.version = '2.0.0';
  return v2;
}

async function startCase(subject: string) {
  const res = await env.http(env.users.alice, 'POST', '/api/cases', {
    caseType: v1.id,
    entityId: `${env.prefix}-acme`,
    data: { subject },
  });
  expect(res.status).toBe(201);
  return res.body;
}

it('keeps running cases on their version, and migrates them explicitly with a dry-run first', async () => {
  const old = await startCase('Started on v1');
  expect(old.definitionVersion).toBe(1);
  const oldTask = old.tasks[0].id;
  expect((await env.http(env.users.alice, 'POST', `/api/tasks/${oldTask}/claim`, {})).status).toBe(200);

  await env.publish(version2());
  const fresh = await startCase('Started on v2');
  expect(fresh.definitionVersion).toBe(2);
  expect(fresh.tasks[0]).toMatchObject({ step: 'discover', title: `Discovery call with ACME ${env.prefix}` });

  // The running case is untouched by the new version.
  const before = await env.http(env.users.alice, 'GET', `/api/cases/${old.id}`);
  expect(before.body).toMatchObject({ definitionVersion: 1, currentSteps: ['identify-needs'] });

  const url = `/api/case-types/${v1.id}/migrations`;
  expect((await env.http(env.users.alice, 'POST', url, { fromVersion: 1, toVersion: 2 })).status).toBe(403);

  // Without a mapping the case cannot move: the dry-run says why.
  const unmapped = await env.http(env.users.dana, 'POST', url, { fromVersion: 1, toVersion: 2 });
  expect(unmapped.status).toBe(200);
  expect(unmapped.body.summary).toMatchObject({ considered: 1, wouldMove: 0, blocked: 1 });
  expect(unmapped.body.cases[0].problems[0]).toContain('identify-needs');

  const bad = await env.http(env.users.dana, 'POST', url, {
    fromVersion: 1,
    toVersion: 2,
    steps: { 'identify-needs': 'nowhere' },
  });
  expect(bad.status).toBe(400);
  expect(bad.body.errors).toEqual([
    { pointer: '/body/steps/identify-needs', message: 'target step "nowhere" does not exist in version 2' },
  ]);

  const plan = { fromVersion: 1, toVersion: 2, steps: { 'identify-needs': 'discover' } };
  const dry = await env.http(env.users.dana, 'POST', url, plan);
  expect(dry.body).toMatchObject({ dryRun: true, summary: { considered: 1, wouldMove: 1, moved: 0 } });
  expect(dry.body.cases[0]).toMatchObject({
    caseId: old.id,
    steps: [{ from: 'identify-needs', to: 'discover' }],
  });
  expect((await env.http(env.users.alice, 'GET', `/api/cases/${old.id}`)).body.definitionVersion).toBe(1);

  const applied = await env.http(env.users.dana, 'POST', url, { ...plan, dryRun: false });
  expect(applied.body.summary).toMatchObject({ considered: 1, moved: 1 });

  const after = await env.http(env.users.alice, 'GET', `/api/cases/${old.id}`);
  expect(after.body).toMatchObject({ definitionVersion: 2, currentSteps: ['discover'] });
  expect(after.body.tasks[0]).toMatchObject({
    id: oldTask,
    step: 'discover',
    assignee: env.users.alice.id,
    status: 'open',
  });
  expect(after.body.timeline.map((e: { kind: string }) => e.kind)).toContain('case.migrated');

  // The migrated case follows version 2 from here.
  const done = await env.http(env.users.alice, 'POST', `/api/tasks/${oldTask}/complete`, {
    outcome: 'interested',
  });
  expect(done.status).toBe(200);
  expect(done.body.case.status).toBe('PRESENTING');
});

it('draws the definition with the current step of a case highlighted', async () => {
  const started = await startCase('Diagram me');
  const mermaid = await env.http(
    env.users.alice,
    'GET',
    `/api/case-types/${v1.id}/diagram?format=mermaid&caseId=${started.id}`,
  );
  expect(mermaid.status).toBe(200);
  expect(mermaid.body).toContain('flowchart');
  for (const step of ['discover', 'present', 'decide', 'follow-up']) expect(mermaid.body).toContain(step);
  const html = await env.http(
    env.users.alice,
    'GET',
    `/api/case-types/${v1.id}/diagram?caseId=${started.id}`,
  );
  expect(html.type).toContain('text/html');
  expect(html.body).toContain('<svg');
  const foreign = await env.http(
    env.users.carol,
    'GET',
    `/api/case-types/${v1.id}/diagram?caseId=${started.id}`,
  );
  expect(foreign.status).toBe(404);
});
