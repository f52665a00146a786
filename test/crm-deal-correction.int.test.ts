/**
 * The audited correction of a closed deal's amount (issue 15): PATCH of a won case's amount stays refused
 * (the case has ended), a supervisor or administrator corrects it with a reason, the audit row keeps old and
 * new, and the forecast counts the corrected amount. Expected figures are worked out here from the amounts sent.
 */
import { PROBLEM_BASE } from '../api/problem';
import { scoped, shippedDefinition, startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;
let caseType: string;

beforeAll(async () => {
  env = await startTestEnv();
  caseType = await env.publish(scoped(shippedDefinition('opportunity'), env.prefix));
});

afterAll(async () => {
  await env?.stop();
});

async function deal(amount: number): Promise<string> {
  const res = await env.http(env.users.alice, 'POST', '/api/cases', {
    caseType,
    entityId: `${env.prefix}-acme`,
    data: { subject: 'Fleet', amount, currency: 'EUR', expectedCloseDate: '2031-05-10' },
  });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

describe("correcting a closed deal's amount", () => {
  it('refuses PATCH on a won deal, corrects it with a reason, audits it, and the forecast counts the new amount', async () => {
    const won = await deal(12500);
    const lost = await deal(4000);
    const open = await deal(1000);
    expect(
      (await env.http(env.users.admin, 'POST', `/api/cases/${won}/status`, { status: 'WON' })).status,
    ).toBe(200);
    expect(
      (await env.http(env.users.alice, 'POST', `/api/cases/${lost}/status`, { status: 'LOST' })).status,
    ).toBe(200);

    // Today's behaviour, unchanged: a closed case's data cannot be edited.
    for (const user of [env.users.alice, env.users.admin]) {
      const patch = await env.http(user, 'PATCH', `/api/cases/${won}`, { data: { amount: 11800 } });
      expect(patch.status).toBe(409);
      expect(patch.body.type).toBe(`${PROBLEM_BASE}case-ended`);
    }

    const url = (id: string) => `/api/cases/${id}/amount-correction`;
    const body = { amount: 11800, reason: 'Discount agreed at signature' };
    expect((await env.http(env.users.alice, 'POST', url(won), body)).status).toBe(403);
    expect((await env.http(env.users.dana, 'POST', url(won), body)).status).toBe(403);
    const noReason = await env.http(env.users.sam, 'POST', url(won), { amount: 11800 });
    expect(noReason.status).toBe(400);
    expect(noReason.body.errors.map((e: { pointer: string }) => e.pointer)).toEqual(['/body/reason']);
    const notClosed = await env.http(env.users.sam, 'POST', url(open), body);
    expect(notClosed.status).toBe(409);
    expect(notClosed.body.type).toBe(`${PROBLEM_BASE}case-not-closed`);
    expect((await env.http(env.users.sam, 'POST', url(`nope-${env.prefix}`), body)).status).toBe(404);

    const before = Date.now();
    const corrected = await env.http(env.users.sam, 'POST', url(won), body);
    expect(corrected.status).toBe(200);
    expect(corrected.body).toMatchObject({
      caseId: won,
      status: 'WON',
      statusCategory: 'won',
      currency: 'EUR',
      previousAmount: 12500,
      amount: 11800,
      reason: 'Discount agreed at signature',
      correctedBy: env.users.sam.id,
    });
    expect(Date.parse(corrected.body.correctedAt)).toBeGreaterThanOrEqual(before - 1000);
    const lostFix = await env.http(env.users.admin, 'POST', url(lost), {
      amount: 3500,
      reason: 'Typo in the offer',
    });
    expect(lostFix.status).toBe(200);
    expect(lostFix.body.previousAmount).toBe(4000);
    // The case shows the correction beside the amount it closed with.
    const shown = await env.http(env.users.sam, 'GET', `/api/cases/${won}`);
    expect(shown.status).toBe(200);
    expect(shown.body.amountCorrected).toBe(11800);
    expect(shown.body.data.amount).toBe(12500);
    const stillOpen = await env.http(env.users.sam, 'GET', `/api/cases/${open}`);
    expect(stillOpen.body.amountCorrected).toBeNull();

    const audit = await env.db.query(
      `SELECT actor, action, record_id, reason, detail FROM crm_audit WHERE record_type = 'case' AND record_id = $1`,
      [won],
    );
    expect(audit).toEqual([
      {
        actor: env.users.sam.id,
        action: 'case.amount-corrected',
        record_id: won,
        reason: 'Discount agreed at signature',
        detail: { previousAmount: 12500, amount: 11800, currency: 'EUR', status: 'WON' },
      },
    ]);

    // The audit trail as the API reads it: one correction of the won deal, by sam, with his reason.
    const trail = await env.http(env.users.sam, 'GET', `/api/cases/${won}/amount-corrections`);
    expect(trail.status).toBe(200);
    expect(trail.body.items).toMatchObject([
      {
        previousAmount: 12500,
        amount: 11800,
        correctedBy: env.users.sam.id,
        reason: 'Discount agreed at signature',
      },
    ]);
    expect(
      (await env.http(env.users.sam, 'GET', `/api/cases/${open}/amount-corrections`)).body.items,
    ).toEqual([]);
    expect(
      (await env.http(env.users.sam, 'GET', `/api/cases/nope-${env.prefix}/amount-corrections`)).status,
    ).toBe(404);

    // Won 11800 (100 %), lost 3500 (0 %), open 1000 at IDENTIFYING's default 10 %: weighted 11800 + 100.
    for (const source of ['totals', 'cases']) {
      const forecast = await env.http(
        env.users.sam,
        'GET',
        `/api/reports/forecast?caseType=${caseType}&source=${source}`,
      );
      expect(forecast.status).toBe(200);
      const eur = forecast.body.totals.find((t: { currency: string }) => t.currency === 'EUR');
      expect([source, eur]).toEqual([
        source,
        expect.objectContaining({
          count: 3,
          amount: 11800 + 3500 + 1000,
          wonAmount: 11800,
          lostAmount: 3500,
          openAmount: 1000,
          weightedAmount: 11800 + 100,
        }),
      ]);
    }
  });
});
