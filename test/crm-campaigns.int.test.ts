import ExcelJS from 'exceljs';
import { CAMPAIGN_WORKFLOW_TYPE, campaignWorkflowId } from '../workflows/campaign-messages';
import { count, seedEntity, upload } from './support/crm';
import {
  eventually,
  scoped,
  shippedDefinition,
  startTestEnv,
  type TestEnv,
  type TestUser,
} from './support/env';

const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

let env: TestEnv;
let followUp: string;
let opportunity: string;

const id = (n: string) => `${env.prefix}-${n}`;

/** An .xlsx workbook with one sheet holding `rows`, as a spreadsheet program would save it. */
async function workbook(rows: (string | number)[][]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.addWorksheet('Targets').addRows(rows);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

beforeAll(async () => {
  env = await startTestEnv();
  followUp = await env.publish(scoped(shippedDefinition('campaign-follow-up'), env.prefix));
  opportunity = await env.publish(scoped(shippedDefinition('opportunity'), env.prefix));
  await seedEntity(env, {
    id: id('k1'),
    kind: 'CL',
    code: id('K1'),
    name: 'K1 Bakery',
    agentId: env.users.bob.id,
    sector: 'food',
  });
  await seedEntity(env, { id: id('k2'), kind: 'EN', code: id('K2'), name: 'K2 Grocer', sector: 'food' });
  await seedEntity(env, { id: id('k3'), kind: 'PR', code: id('K3'), name: 'K3 Mill', sector: 'food' });
});

afterAll(async () => {
  await env?.stop();
});

async function createCampaign(extra: Record<string, unknown> = {}) {
  const res = await env.http(env.users.sam, 'POST', '/api/campaigns', {
    name: `Spring bakery push ${env.prefix}`,
    startsOn: '2031-03-01',
    endsOn: '2031-05-31',
    goal: { leads: 2, wonAmount: 10000 },
    budget: 1000,
    actualCost: 600,
    caseType: followUp,
    ...extra,
  });
  expect(res.status).toBe(201);
  return res.body as { id: string };
}

async function completeTask(user: TestUser, caseId: string, outcome: string) {
  const task = await eventually(
    async () => {
      const rows = await env.db.query<{ id: string }>(
        `SELECT id FROM tasks WHERE case_id = $1 AND status = 'open'`,
        [caseId],
      );
      return rows[0];
    },
    15_000,
    `an open task of ${caseId}`,
  );
  expect((await env.http(user, 'POST', `/api/tasks/${task.id}/claim`, {})).status).toBe(200);
  const done = await env.http(user, 'POST', `/api/tasks/${task.id}/complete`, { outcome });
  expect(done.status).toBe(200);
}

describe('campaign targets from spreadsheets', () => {
  it('reports every bad line of an .xlsx and adds nothing; with acceptValid it adds the valid rows; again it is unchanged', async () => {
    const campaign = await createCampaign();
    const sheet = await workbook([
      ['Type', 'Code'],
      ['CL', `${env.prefix}-C1`],
      ['CL', id('K1')],
      ['EN', id('NOPE')],
      ['XX', id('K2')],
      ['CL', id('K1')],
    ]);
    const rejected = await upload(
      env,
      env.users.sam,
      `/api/campaigns/${campaign.id}/targets`,
      sheet,
      XLSX_TYPE,
    );
    expect(rejected.status).toBe(400);
    expect(rejected.body.errors).toEqual([
      { line: 4, pointer: '/body/rows/4/code', message: `line 4: no EN entity has the code "${id('NOPE')}"` },
      { line: 5, pointer: '/body/rows/5/type', message: 'line 5: entity type "XX" is not EN, CL or PR' },
    ]);
    expect(await count(env, 'campaign_targets WHERE campaign_id = $1', [campaign.id])).toBe(0);

    const accepted = await upload(
      env,
      env.users.sam,
      `/api/campaigns/${campaign.id}/targets?acceptValid=true`,
      sheet,
      XLSX_TYPE,
    );
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({
      result: 'added',
      added: 2,
      alreadyTargets: 0,
      rejected: 2,
      duplicates: [{ line: 6, sameAs: 3 }],
    });

    const again = await upload(
      env,
      env.users.sam,
      `/api/campaigns/${campaign.id}/targets?acceptValid=true`,
      sheet,
      XLSX_TYPE,
    );
    expect(again.body).toMatchObject({ result: 'unchanged', added: 0, alreadyTargets: 2 });
    expect(await count(env, 'campaign_targets WHERE campaign_id = $1', [campaign.id])).toBe(2);
  });

  it('refuses a spreadsheet with wrong columns, pointing at the header row', async () => {
    const campaign = await createCampaign();
    const res = await upload(
      env,
      env.users.sam,
      `/api/campaigns/${campaign.id}/targets`,
      await workbook([
        ['Customer', 'Region'],
        ['CL', 'x'],
      ]),
      XLSX_TYPE,
    );
    expect(res.status).toBe(400);
    expect(res.body.detail).toContain('"Customer", "Region"');
    expect(res.body.errors).toEqual([
      { pointer: '/body/rows/1', message: expect.stringContaining('"type" and "code"') },
    ]);
    const notXlsx = await upload(
      env,
      env.users.sam,
      `/api/campaigns/${campaign.id}/targets`,
      Buffer.from('hello'),
      XLSX_TYPE,
    );
    expect(notXlsx.status).toBe(400);
  });

  it('reads CSV target lists (semicolon separated) and segments', async () => {
    const campaign = await createCampaign();
    const csv = await upload(
      env,
      env.users.sam,
      `/api/campaigns/${campaign.id}/targets`,
      `tipo;código\r\nEN;${id('K2')}\r\n`,
      'text/csv',
    );
    expect(csv.status).toBe(200);
    expect(csv.body).toMatchObject({ result: 'added', added: 1 });
    const segment = await env.http(env.users.sam, 'POST', '/api/segments', {
      name: `${env.prefix} food`,
      filter: {
        all: [
          { field: 'code', op: 'startsWith', value: env.prefix },
          { field: 'sector', op: 'eq', value: 'food' },
        ],
      },
    });
    const fromSegment = await env.http(env.users.sam, 'POST', `/api/campaigns/${campaign.id}/targets`, {
      segmentId: segment.body.id,
    });
    expect(fromSegment.body).toMatchObject({ result: 'added', added: 2, alreadyTargets: 1 });
  });
});

describe('starting a campaign', () => {
  it('creates one case per target through Temporal, shows progress, and never twice', async () => {
    const campaign = await createCampaign({ batchSize: 2, ratePerSecond: 100 });
    const csv = `type,code\nCL,${env.prefix}-C1\nCL,${id('K1')}\nEN,${id('K2')}\nPR,${id('K3')}\n`;
    expect(
      (await upload(env, env.users.sam, `/api/campaigns/${campaign.id}/targets`, csv, 'text/csv')).body.added,
    ).toBe(4);

    const started = await env.http(env.users.sam, 'POST', `/api/campaigns/${campaign.id}/start`, {});
    expect(started.status).toBe(202);
    expect(started.body.progress.targets).toBe(4);
    const done = await eventually(
      async () => {
        const res = await env.http(env.users.alice, 'GET', `/api/campaigns/${campaign.id}`);
        return res.body.status === 'completed' && res.body.progress.casesCreated === 4 ? res.body : undefined;
      },
      30_000,
      'all campaign cases',
    );
    expect(done.progress).toEqual({ targets: 4, pending: 0, started: 4, failed: 0, casesCreated: 4 });

    const cases = await env.db.query<{
      id: string;
      owner_id: string;
      data: Record<string, unknown>;
      case_type: string;
    }>('SELECT id, owner_id, data, case_type FROM cases WHERE campaign_id = $1 ORDER BY id', [campaign.id]);
    expect(cases.map((c) => c.id)).toEqual(
      [`${env.prefix}-acme`, id('k1'), id('k2'), id('k3')].map((e) => `campaign-${campaign.id}-${e}`).sort(),
    );
    expect(cases[0]).toMatchObject({
      case_type: followUp,
      data: { subject: `Spring bakery push ${env.prefix}`, campaignId: campaign.id },
    });
    // The entity's agent owns the case; without one, the campaign's creator.
    const owners = Object.fromEntries(cases.map((c) => [c.id, c.owner_id]));
    expect(owners[`campaign-${campaign.id}-${id('k1')}`]).toBe(env.users.bob.id);
    expect(owners[`campaign-${campaign.id}-${id('k2')}`]).toBe(env.users.sam.id);

    // Starting again (a resumed or repeated start) creates nothing new, even for a target whose case was started
    // but not marked (a worker that died between the two).
    await env.db.query(
      `UPDATE campaign_targets SET state = 'pending' WHERE campaign_id = $1 AND entity_id = $2`,
      [campaign.id, id('k3')],
    );
    const again = await env.http(env.users.sam, 'POST', `/api/campaigns/${campaign.id}/start`, {});
    expect(again.status).toBe(202);
    // The request joins the first start if it is still finishing (which then looks again), or starts anew:
    // either way the start ends having found the target's case already there.
    const rerun = await env.client.workflow.getHandle(campaignWorkflowId(campaign.id)).result();
    expect(rerun).toMatchObject({ existing: 1, failed: 0 });
    expect(await count(env, 'cases WHERE campaign_id = $1', [campaign.id])).toBe(4);
    const after = await env.http(env.users.alice, 'GET', `/api/campaigns/${campaign.id}`);
    expect(after.body.status).toBe('completed');
    expect(after.body.progress).toEqual({ targets: 4, pending: 0, started: 4, failed: 0, casesCreated: 4 });

    // Results against the budget: one qualified lead, one opportunity won for 4,000.
    await completeTask(env.users.alice, `campaign-${campaign.id}-${id('k1')}`, 'interested');
    const opp = await env.http(env.users.alice, 'POST', '/api/cases', {
      caseType: opportunity,
      entityId: id('k1'),
      data: { subject: 'Ovens', amount: 4000, campaignId: campaign.id },
    });
    expect(opp.status).toBe(201);
    await completeTask(env.users.alice, opp.body.id, 'interested');
    await completeTask(env.users.alice, opp.body.id, 'presented');
    await completeTask(env.users.alice, opp.body.id, 'won');
    const results = await env.http(env.users.alice, 'GET', `/api/campaigns/${campaign.id}/results`);
    // Against the goal (2 leads, 10,000 won) and the budget: 1 of 2 = 50 %, 4,000 of 10,000 = 40 %, 600 of 1,000 = 60 %.
    expect(results.body).toEqual({
      leads: 1,
      opportunitiesOpened: 1,
      opportunitiesWon: 1,
      currency: 'EUR',
      wonAmount: 4000,
      wonByCurrency: [{ currency: 'EUR', count: 1, amount: 4000, rate: null, converted: true }],
      complete: true,
      unconverted: [],
      rateDate: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
      budget: 1000,
      actualCost: 600,
      costPerLead: 600,
      roi: 5.6667,
      budgetUsed: 0.6,
      goals: {
        leads: { goal: 2, actual: 1, percent: 50 },
        wonAmount: {
          goal: 10000,
          currency: 'EUR',
          actual: 4000,
          percent: 40,
          complete: true,
          unconverted: [],
        },
        budget: { goal: 1000, actual: 600, percent: 60, currency: 'EUR' },
      },
    });
  });

  it('refuses to start without targets, and pauses and resumes a running start', async () => {
    const empty = await createCampaign();
    const refused = await env.http(env.users.sam, 'POST', `/api/campaigns/${empty.id}/start`, {});
    expect(refused.status).toBe(409);

    const slow = await createCampaign({ batchSize: 1, ratePerSecond: 2 });
    const csv = `type,code\nCL,${id('K1')}\nEN,${id('K2')}\nPR,${id('K3')}\n`;
    await upload(env, env.users.sam, `/api/campaigns/${slow.id}/targets`, csv, 'text/csv');
    expect((await env.http(env.users.sam, 'POST', `/api/campaigns/${slow.id}/start`, {})).status).toBe(202);
    const paused = await env.http(env.users.sam, 'POST', `/api/campaigns/${slow.id}/pause`, {});
    expect(paused.status).toBe(200);
    expect(paused.body.status).toBe('paused');
    const resumed = await env.http(env.users.sam, 'POST', `/api/campaigns/${slow.id}/resume`, {});
    expect(resumed.body.status).toBe('running');
    await eventually(
      async () =>
        (await env.http(env.users.sam, 'GET', `/api/campaigns/${slow.id}`)).body.progress.casesCreated === 3,
      30_000,
      'the resumed campaign',
    );
  });

  it('continues as new between batches and still starts every target once', async () => {
    const campaign = await createCampaign({ batchSize: 2, ratePerSecond: 1000 });
    const csv = `type,code\nCL,${env.prefix}-C1\nCL,${id('K1')}\nEN,${id('K2')}\nPR,${id('K3')}\n`;
    await upload(env, env.users.sam, `/api/campaigns/${campaign.id}/targets`, csv, 'text/csv');
    await env.db.query('UPDATE campaigns SET definition_version = 1 WHERE id = $1', [campaign.id]);
    const handle = await env.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
      workflowId: campaignWorkflowId(campaign.id),
      taskQueue: env.taskQueue,
      args: [{ campaignId: campaign.id, batchesPerRun: 1 }],
    });
    const progress = (await handle.result()) as { started: number; batches: number };
    expect(progress).toMatchObject({ started: 4, batches: 2 });
    const description = await handle.describe();
    expect(description.runId).not.toBe(handle.firstExecutionRunId);
    expect(await count(env, 'cases WHERE campaign_id = $1', [campaign.id])).toBe(4);
  });

  it('validates the campaign: unknown case type, dates, bad case data', async () => {
    const res = await env.http(env.users.sam, 'POST', '/api/campaigns', {
      name: 'x',
      caseType: 'nope',
      startsOn: '2031-05-01',
      endsOn: '2031-04-01',
    });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].pointer).toBe('/body/endsOn');
    const badType = await env.http(env.users.sam, 'POST', '/api/campaigns', { name: 'x', caseType: 'nope' });
    expect(badType.body.errors).toEqual([
      { pointer: '/body/caseType', message: 'is not a published case type' },
    ]);
    const badData = await env.http(env.users.sam, 'POST', '/api/campaigns', {
      name: 'x',
      caseType: followUp,
      caseData: { colour: 'red' },
    });
    expect(badData.status).toBe(400);
    expect(badData.body.errors[0].pointer).toBe('/body/caseData/colour');
  });

  it('points date errors at the date the request sent, not at the stored one', async () => {
    const campaign = await createCampaign(); // runs 2031-03-01 .. 2031-05-31
    const late = await env.http(env.users.sam, 'PATCH', `/api/campaigns/${campaign.id}`, {
      startsOn: '2031-06-15',
    });
    expect(late.status).toBe(400);
    expect(late.body.errors).toEqual([
      { pointer: '/body/startsOn', message: 'is after the end of the campaign, 2031-05-31' },
    ]);
    const early = await env.http(env.users.sam, 'PATCH', `/api/campaigns/${campaign.id}`, {
      endsOn: '2031-02-01',
    });
    expect(early.status).toBe(400);
    expect(early.body.errors).toEqual([
      { pointer: '/body/endsOn', message: 'is before the start of the campaign, 2031-03-01' },
    ]);
  });

  it('points at the name when the subject the cases take from it does not fit their case type', async () => {
    const def = scoped(shippedDefinition('campaign-follow-up'), env.prefix);
    def.id = `${def.id}-short`;
    const fields = def.fields as { properties: Record<string, Record<string, unknown>> };
    fields.properties.subject = { type: 'string', maxLength: 5 };
    const shortSubject = await env.publish(def);
    const res = await env.http(env.users.sam, 'POST', '/api/campaigns', {
      name: 'Longer than five',
      caseType: shortSubject,
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { pointer: '/body/name', message: 'must NOT have more than 5 characters (the subject of the cases)' },
    ]);
  });

  it('points at the case type when it refuses the campaign id every campaign case carries', async () => {
    const def = scoped(shippedDefinition('campaign-follow-up'), env.prefix);
    def.id = `${def.id}-no-campaign`;
    const fields = def.fields as { properties: Record<string, unknown>; required: string[] };
    delete fields.properties.campaignId;
    fields.required = fields.required.filter((f) => f !== 'campaignId');
    const noCampaign = await env.publish(def);
    const res = await env.http(env.users.sam, 'POST', '/api/campaigns', { name: 'x', caseType: noCampaign });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      {
        pointer: '/body/caseType',
        message: 'does not accept the campaignId every campaign case carries: is not an allowed property',
      },
    ]);
  });
});
