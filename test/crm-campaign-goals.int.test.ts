/**
 * Issue 15: campaign results against the campaign's goals, and a won amount never added across currencies.
 * Every expected figure is worked out by hand from the cases and rates inserted here (the comments show the
 * sums). Rates use pairs no other test file touches (CHF and ISK into EUR, EUR into CHF and NOK).
 */
import { PROBLEM_BASE } from '../api/problem';
import { seedEntity } from './support/crm';
import { scoped, shippedDefinition, startTestEnv, type TestEnv } from './support/env';
import { must } from './support/matrix';

let env: TestEnv;
let followUp: string;
let opportunity: string;
let seq = 0;

beforeAll(async () => {
  env = await startTestEnv({ worker: false });
  followUp = await env.publish(scoped(shippedDefinition('campaign-follow-up'), env.prefix));
  opportunity = await env.publish(scoped(shippedDefinition('opportunity'), env.prefix));
  // 1 CHF = 0.95 EUR, 1 EUR = 1.1 CHF; no ISK rate into EUR, no rate into NOK.
  await must(env, env.users.admin, 'PUT', '/api/exchange-rates/CHF/EUR/2001-01-01', { rate: 0.95 });
  await must(env, env.users.admin, 'PUT', '/api/exchange-rates/EUR/CHF/2001-01-01', { rate: 1.1 });
});

afterAll(async () => {
  await env?.stop();
});

/** A case of the campaign, inserted as the read model holds it; `target` makes it the campaign's target case. */
async function campaignCase(
  campaignId: string,
  caseType: string,
  status: string,
  category: string,
  data: Record<string, unknown>,
  target = false,
): Promise<void> {
  const n = ++seq;
  const caseId = target ? `campaign-${campaignId}-${env.prefix}-acme-${n}` : `${env.prefix}-cc-${n}`;
  await env.db.query(
    `INSERT INTO cases (id, case_type, definition_version, title, status, status_category, entity_id, entity_name,
       owner_id, data, created_at, updated_at, version)
     VALUES ($1, $2, 1, $3, $4, $5, $6, 'ACME', $7, $8, now(), now(), 1)`,
    [
      caseId,
      caseType,
      `Case ${n}`,
      status,
      category,
      `${env.prefix}-acme`,
      env.users.alice.id,
      JSON.stringify({ subject: `s${n}`, campaignId, ...data }),
    ],
  );
  if (target) {
    const entityId = `${env.prefix}-acme-${n}`;
    await seedEntity(env, { id: entityId, code: entityId, name: `Target ${n}` });
    await env.db.query(
      `INSERT INTO campaign_targets (campaign_id, entity_id, case_id, source, state) VALUES ($1, $2, $3, 'test', 'started')`,
      [campaignId, entityId, caseId],
    );
  }
}

async function createCampaign(body: Record<string, unknown>): Promise<string> {
  const res = await env.http(env.users.sam, 'POST', '/api/campaigns', {
    name: `Goals ${env.prefix} ${++seq}`,
    caseType: followUp,
    ...body,
  });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

describe('campaign results against its goals', () => {
  it('answers actual, goal and % of each, the won amount per currency and converted only with a rate', async () => {
    const id = await createCampaign({
      currency: 'EUR',
      budget: 2000,
      actualCost: 500,
      goal: {
        leads: 4,
        opportunities: 4,
        opportunitiesWon: 2,
        wonAmount: 20000,
        currency: 'EUR',
        text: 'Spring',
      },
    });
    await campaignCase(id, opportunity, 'WON', 'won', { amount: 6000, currency: 'EUR' });
    await campaignCase(id, opportunity, 'WON', 'won', { amount: 1000, currency: 'CHF' });
    await campaignCase(id, opportunity, 'WON', 'won', { amount: 500000, currency: 'ISK' });
    await campaignCase(id, opportunity, 'PRESENTING', 'open', { amount: 9000, currency: 'EUR' });
    await campaignCase(id, opportunity, 'LOST', 'lost', { amount: 3000 });
    // Leads: a qualified target case, and a follow-up case carrying the campaign that is no target; an open target
    // case is not (yet) a lead.
    await campaignCase(id, followUp, 'QUALIFIED', 'won', {}, true);
    await campaignCase(id, followUp, 'TO_CONTACT', 'open', {}, true);
    await campaignCase(id, followUp, 'CALL_BACK', 'open', {});

    const res = await env.http(env.users.alice, 'GET', `/api/campaigns/${id}/results`);
    expect(res.status).toBe(200);
    // Won in EUR: 6000 + 1000 CHF x 0.95 = 950 -> 6950; the 500000 ISK have no rate and are not added.
    // Cost per lead 500 / 2 = 250; ROI (6950 - 500) / 500 = 12.9; budget used 500 / 2000 = 0.25.
    expect(res.body).toMatchObject({
      leads: 2,
      opportunitiesOpened: 5,
      opportunitiesWon: 3,
      currency: 'EUR',
      wonAmount: 6950,
      complete: false,
      unconverted: ['ISK'],
      budget: 2000,
      actualCost: 500,
      costPerLead: 250,
      roi: 12.9,
      budgetUsed: 0.25,
    });
    expect(res.body.wonByCurrency).toEqual([
      {
        currency: 'CHF',
        count: 1,
        amount: 1000,
        rate: { from: 'CHF', to: 'EUR', rate: 0.95, validFrom: '2001-01-01' },
        converted: true,
      },
      { currency: 'EUR', count: 1, amount: 6000, rate: null, converted: true },
      { currency: 'ISK', count: 1, amount: 500000, rate: null, converted: false },
    ]);
    // Goals: leads 2 of 4 = 50 %; opportunities 5 of 4 = 125 %; won 3 of 2 = 150 %; 6950 of 20000 EUR = 34.75 %;
    // budget 500 of 2000 = 25 %.
    expect(res.body.goals).toEqual({
      leads: { goal: 4, actual: 2, percent: 50 },
      opportunities: { goal: 4, actual: 5, percent: 125 },
      opportunitiesWon: { goal: 2, actual: 3, percent: 150 },
      wonAmount: {
        goal: 20000,
        currency: 'EUR',
        actual: 6950,
        percent: 34.75,
        complete: false,
        unconverted: [{ currency: 'ISK', count: 1, amount: 500000 }],
        detail: expect.stringContaining('500000 ISK'),
        rates: [{ from: 'CHF', to: 'EUR', rate: 0.95, validFrom: '2001-01-01' }],
      },
      budget: { goal: 2000, actual: 500, percent: 25, currency: 'EUR' },
      text: 'Spring',
    });
    // The campaign itself shows the same results.
    const campaign = await must(env, env.users.alice, 'GET', `/api/campaigns/${id}`);
    expect(campaign.results).toEqual(res.body);
  });

  it('answers a won-amount goal in a currency without a rate unconverted, and says so', async () => {
    const id = await createCampaign({ currency: 'EUR', goal: { wonAmount: 1000, currency: 'NOK' } });
    await campaignCase(id, opportunity, 'WON', 'won', { amount: 2000, currency: 'EUR' });
    const res = await must(env, env.users.alice, 'GET', `/api/campaigns/${id}/results`);
    // No EUR rate into NOK: nothing counts towards the goal, and the 2000 EUR are answered as they are.
    expect(res.goals.wonAmount).toEqual({
      goal: 1000,
      currency: 'NOK',
      actual: 0,
      percent: 0,
      complete: false,
      unconverted: [{ currency: 'EUR', count: 1, amount: 2000 }],
      detail: expect.stringMatching(/NOK.*2000 EUR/),
    });
    // The campaign's own figures are in EUR and complete; no budget, no other goal set.
    expect(res).toMatchObject({ currency: 'EUR', wonAmount: 2000, complete: true, unconverted: [] });
    expect(Object.keys(res.goals)).toEqual(['wonAmount']);

    // Goal in CHF, which has a rate from EUR: 2000 x 1.1 = 2200 CHF of 4400 = 50 %.
    const patched = await env.http(env.users.sam, 'PATCH', `/api/campaigns/${id}`, {
      goal: { wonAmount: 4400, currency: 'CHF' },
    });
    expect(patched.status).toBe(200);
    const again = await must(env, env.users.alice, 'GET', `/api/campaigns/${id}/results`);
    expect(again.goals.wonAmount).toEqual({
      goal: 4400,
      currency: 'CHF',
      actual: 2200,
      percent: 50,
      complete: true,
      unconverted: [],
      rates: [{ from: 'EUR', to: 'CHF', rate: 1.1, validFrom: '2001-01-01' }],
    });
  });

  it('reports every bad goal at its pointer, and a goal currency without a won amount', async () => {
    const bad = await env.http(env.users.sam, 'POST', '/api/campaigns', {
      name: `Bad goals ${env.prefix}`,
      caseType: followUp,
      goal: { leads: -1, opportunities: 1.5, wonAmount: 'lots', currency: 'eur' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.type).toBe(`${PROBLEM_BASE}validation-error`);
    expect(bad.body.errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual(
      ['/body/goal/currency', '/body/goal/leads', '/body/goal/opportunities', '/body/goal/wonAmount'].sort(),
    );
    for (const method of ['POST', 'PATCH']) {
      const id = method === 'PATCH' ? await createCampaign({}) : '';
      const res = await env.http(env.users.sam, method, `/api/campaigns${id ? `/${id}` : ''}`, {
        ...(method === 'POST' ? { name: `Currency only ${env.prefix}`, caseType: followUp } : {}),
        goal: { leads: 3, currency: 'USD' },
      });
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([
        { pointer: '/body/goal/currency', message: expect.stringContaining('wonAmount') },
      ]);
    }
  });
});
