/**
 * Records workflow histories of representative cases into test/fixtures/histories/, for the replay test
 * that guards running cases against non-deterministic workflow changes. Re-record only on purpose (a
 * deliberate, patched() change), never to make the replay test pass.
 *
 *   npx tsx scripts/record-histories.ts [name ...]   (only the named histories; default all)
 */
import fs from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import globalSetup from '../test/global-setup';
import globalTeardown from '../test/global-teardown';
import { upload, seedEntity } from '../test/support/crm';
import { ROOT, scoped, shippedDefinition, startTestEnv, type TestEnv } from '../test/support/env';
import { campaignWorkflowId } from '../workflows/campaign-messages';
import { importWorkflowId } from '../workflows/import-messages';

const OUT = path.join(ROOT, 'test/fixtures/histories');

async function openTask(env: TestEnv, caseId: string): Promise<string> {
  const view = await env.http(env.users.alice, 'GET', `/api/cases/${caseId}`);
  const task = (view.body.tasks as { id: string; status: string }[]).find((t) => t.status === 'open');
  if (!task) throw new Error(`no open task in ${caseId}`);
  return task.id;
}

/**
 * A step of a recorded case: a task action with its body, `merge` (its entity merged into acme), or `wait`
 * (that many milliseconds: long enough, the workflow writes the actions so far itself).
 */
type RecordedStep = [string, unknown];

async function run(
  env: TestEnv,
  caseType: string,
  name: string,
  steps: RecordedStep[],
  entityId = `${env.prefix}-acme`,
): Promise<void> {
  const started = await env.http(env.users.alice, 'POST', '/api/cases', {
    caseType,
    entityId,
    data: { subject: name, amount: 1000 },
  });
  const caseId = started.body.id as string;
  for (const [action, body] of steps) {
    if (action === 'wait') {
      await new Promise((resolve) => setTimeout(resolve, body as number));
      continue;
    }
    if (action === 'merge') {
      const merged = await env.http(env.users.admin, 'POST', `/api/entities/${env.prefix}-acme/merge`, {
        from: entityId,
      });
      if (merged.status !== 200 || merged.body.workflows?.relinked !== 1)
        throw new Error(`${name}: merge answered ${merged.status} ${JSON.stringify(merged.body)}`);
      continue;
    }
    const res = await env.http(
      env.users.alice,
      'POST',
      `/api/tasks/${await openTask(env, caseId)}/${action}`,
      body,
    );
    if (res.status !== 200)
      throw new Error(`${name}: ${action} answered ${res.status} ${JSON.stringify(res.body)}`);
  }
  await env.client.workflow
    .getHandle(caseId)
    .result()
    .catch(() => undefined);
  await save(env, caseId, name);
}

/** Writes the history of a closed workflow as `<name>.json`. */
async function save(env: TestEnv, workflowId: string, name: string): Promise<void> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  fs.writeFileSync(path.join(OUT, `${name}.json`), historyToJSON(history));
  console.log(`recorded ${name} (${history.events?.length ?? 0} events)`);
}

/** A campaign over three targets in batches of two, started through the API. */
async function recordCampaign(env: TestEnv, name: string): Promise<void> {
  const caseType = await env.publish(scoped(shippedDefinition('campaign-follow-up'), env.prefix));
  for (const n of [1, 2, 3]) {
    await seedEntity(env, {
      id: `${env.prefix}-r${n}`,
      kind: 'CL',
      code: `${env.prefix}-R${n}`,
      name: `R${n}`,
    });
  }
  const created = await env.http(env.users.sam, 'POST', '/api/campaigns', {
    name: `Recorded ${env.prefix}`,
    caseType,
    batchSize: 2,
    ratePerSecond: 100,
  });
  const id = created.body.id as string;
  const csv = `type,code\n${[1, 2, 3].map((n) => `CL,${env.prefix}-R${n}`).join('\n')}\n`;
  await upload(env, env.users.sam, `/api/campaigns/${id}/targets`, csv, 'text/csv');
  const started = await env.http(env.users.sam, 'POST', `/api/campaigns/${id}/start`, {});
  if (started.status !== 202) throw new Error(`${name}: start answered ${started.status}`);
  await env.client.workflow.getHandle(campaignWorkflowId(id)).result();
  await save(env, campaignWorkflowId(id), name);
}

/** An import of three cases through the API (one batch, then the empty one that finishes the job). */
async function recordImport(env: TestEnv, caseType: string, name: string): Promise<void> {
  const res = await env.http(env.users.sam, 'POST', '/api/imports?wait=true', {
    caseType,
    filename: 'recorded.json',
    cases: [1, 2, 3].map((n) => ({
      externalKey: `${env.prefix}-REC-${n}`,
      data: { subject: `Recorded ${n}`, amount: n },
    })),
  });
  if (res.status !== 200 || res.body.created !== 3)
    throw new Error(`${name}: import answered ${res.status} ${JSON.stringify(res.body)}`);
  await save(env, importWorkflowId(res.body.id as string), name);
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const wanted = (name: string) => only.length === 0 || only.includes(name);
  await globalSetup();
  const env = await startTestEnv();
  try {
    fs.mkdirSync(OUT, { recursive: true });
    const caseType = await env.publish(scoped(shippedDefinition('opportunity'), env.prefix));
    if (wanted('opportunity-won'))
      await run(env, caseType, 'opportunity-won', [
        ['claim', {}],
        ['complete', { outcome: 'interested', data: { needs: 'forklifts' } }],
        ['complete', { outcome: 'presented' }],
        ['comment', { text: 'Customer asks for a discount' }],
        ['complete', { outcome: 'won' }],
      ]);
    if (wanted('opportunity-won-lazy-writes'))
      // Recorded after the update-writes-lazily patch: actions backed up by the workflow's delayed write
      // (the wait), then an ending action that ends the workflow in its own workflow task.
      await run(env, caseType, 'opportunity-won-lazy-writes', [
        ['claim', {}],
        ['wait', 6500],
        ['complete', { outcome: 'interested', data: { needs: 'forklifts' } }],
        ['comment', { text: 'Customer asks for a discount' }],
        ['wait', 6500],
        ['complete', { outcome: 'presented' }],
        ['complete', { outcome: 'won' }],
      ]);
    if (wanted('opportunity-lazy-start-lost'))
      // Recorded after the start, too, was left to the API (startWrittenByApi): no write until an action.
      await run(env, caseType, 'opportunity-lazy-start-lost', [
        ['claim', {}],
        ['complete', { outcome: 'interested' }],
        ['complete', { outcome: 'presented' }],
        ['complete', { outcome: 'lost' }],
      ]);
    if (wanted('opportunity-won-email-writes'))
      // Recorded after the email activity writes the change it reports (email-writes-its-change).
      await run(env, caseType, 'opportunity-won-email-writes', [
        ['claim', {}],
        ['complete', { outcome: 'interested' }],
        ['complete', { outcome: 'presented' }],
        ['complete', { outcome: 'won' }],
      ]);
    if (wanted('opportunity-postponed-lost'))
      await run(env, caseType, 'opportunity-postponed-lost', [
        ['complete', { outcome: 'interested' }],
        ['complete', { outcome: 'presented' }],
        ['complete', { outcome: 'postponed' }],
        ['complete', { outcome: 'still-postponed' }],
        ['claim', {}],
        ['unclaim', {}],
        ['complete', { outcome: 'lost' }],
      ]);
    if (wanted('opportunity-entity-merged')) {
      // Its entity is merged into acme while it runs: the history holds the relinkEntity Update.
      await seedEntity(env, {
        id: `${env.prefix}-dup`,
        kind: 'CL',
        code: `${env.prefix}-DUP`,
        name: 'Acme dup',
      });
      await run(
        env,
        caseType,
        'opportunity-entity-merged',
        [
          ['complete', { outcome: 'interested' }],
          ['merge', null],
          ['complete', { outcome: 'presented' }],
          ['complete', { outcome: 'won' }],
        ],
        `${env.prefix}-dup`,
      );
    }
    if (wanted('campaign-three-targets')) await recordCampaign(env, 'campaign-three-targets');
    if (wanted('import-three-cases')) await recordImport(env, caseType, 'import-three-cases');
  } finally {
    await env.stop();
    await globalTeardown();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
