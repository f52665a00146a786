/**
 * Case-level actions through the API: setting a status by hand (POST /api/cases/:id/status) and changing
 * a running case's data and lines (PATCH /api/cases/:id), as the case type allows (manual statuses,
 * editable fields), through the case workflow like task actions.
 */
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { caseDetailSchema } from '../api/operation';
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

async function startCase() {
  const res = await env.http(env.users.alice, 'POST', '/api/cases', {
    caseType,
    entityId: `${env.prefix}-acme`,
    data: { subject: 'Forklift fleet', amount: 12500, currency: 'EUR' },
  });
  expect(res.status).toBe(201);
  return res.body as { id: string; tasks: { id: string }[] };
}

describe('the case as the API shows it', () => {
  it('fits the schema the OpenAPI document publishes for GET /api/cases/{id} and the case actions', async () => {
    const ajv = new Ajv2020({ strict: false });
    addFormats(ajv);
    const fits = ajv.compile(caseDetailSchema);
    const c = await startCase();
    const shown = await env.http(env.users.alice, 'GET', `/api/cases/${c.id}`);
    expect(shown.status).toBe(200);
    expect({ valid: fits(shown.body), errors: fits.errors ?? null }).toEqual({ valid: true, errors: null });
    expect(shown.body).toMatchObject({ id: c.id, entity: { id: `${env.prefix}-acme` } });
    const changed = await env.http(env.users.alice, 'PATCH', `/api/cases/${c.id}`, {
      data: { amount: 13000 },
    });
    expect(changed.status).toBe(200);
    expect({ valid: fits(changed.body), errors: fits.errors ?? null }).toEqual({ valid: true, errors: null });
    // The schema is not a blank check: a case without its timeline does not fit.
    expect(fits({ ...shown.body, timeline: undefined })).toBe(false);
  });
});

describe('setting a case status by hand', () => {
  it('moves the case to an open status and keeps its work going', async () => {
    const c = await startCase();
    const res = await env.http(env.users.alice, 'POST', `/api/cases/${c.id}/status`, { status: 'POSTPONED' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'POSTPONED', statusName: 'Decision postponed', endedAt: null });
    expect(res.body.tasks.map((t: { status: string }) => t.status)).toEqual(['open']);
    expect(res.body.timeline.map((e: { kind: string }) => e.kind)).toContain('status.changed');
  });

  it('closes a case marked lost: its open tasks leave the inbox', async () => {
    const c = await startCase();
    const taskId = c.tasks[0]?.id as string;
    const res = await env.http(env.users.alice, 'POST', `/api/cases/${c.id}/status`, { status: 'LOST' });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('LOST');
    expect(res.body.endedAt).not.toBeNull();
    expect(res.body.tasks).toEqual([expect.objectContaining({ id: taskId, status: 'cancelled' })]);
    const inbox = await env.http(env.users.alice, 'GET', '/api/inbox?limit=200');
    expect(inbox.body.items.map((t: { id: string }) => t.id)).not.toContain(taskId);
    // The case has ended: nothing more can be done to it.
    const again = await env.http(env.users.alice, 'POST', `/api/cases/${c.id}/status`, {
      status: 'POSTPONED',
    });
    expect(again.status).toBe(409);
    expect(again.body.type).toMatch(/case-ended$/);
  });

  it('refuses statuses that are not manual or unknown, unknown cases and foreign callers', async () => {
    const c = await startCase();
    const won = await env.http(env.users.alice, 'POST', `/api/cases/${c.id}/status`, { status: 'WON' });
    expect(won.status).toBe(400);
    expect(won.body.type).toMatch(/status-not-manual$/);
    const unknown = await env.http(env.users.alice, 'POST', `/api/cases/${c.id}/status`, { status: 'NOPE' });
    expect(unknown.body.type).toMatch(/unknown-status$/);
    const bad = await env.http(env.users.alice, 'POST', `/api/cases/${c.id}/status`, { status: 7 });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].pointer).toBe('/body/status');
    const missing = await env.http(env.users.alice, 'POST', `/api/cases/nope/status`, { status: 'LOST' });
    expect(missing.status).toBe(404);
    const designer = await env.http(env.users.dana, 'POST', `/api/cases/${c.id}/status`, { status: 'LOST' });
    expect(designer.status).toBe(403);
    // Carol works in support and has nothing to do with this sales case: it does not exist for her.
    const foreign = await env.http(env.users.carol, 'POST', `/api/cases/${c.id}/status`, { status: 'LOST' });
    expect(foreign.status).toBe(404);
    const foreignEdit = await env.http(env.users.carol, 'PATCH', `/api/cases/${c.id}`, {
      data: { amount: 1 },
    });
    expect(foreignEdit.status).toBe(404);
    // An administrator may set any status.
    const admin = await env.http(env.users.admin, 'POST', `/api/cases/${c.id}/status`, { status: 'WON' });
    expect(admin.status).toBe(200);
    expect(admin.body.status).toBe('WON');
  });

  it('answers a retried request with the same Idempotency-Key from the first time', async () => {
    const c = await startCase();
    const send = () =>
      env.http(
        env.users.alice,
        'POST',
        `/api/cases/${c.id}/status`,
        { status: 'LOST' },
        { 'idempotency-key': 'k1' },
      );
    const first = await send();
    const second = await send();
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body.status).toBe('LOST');
  });
});

describe("changing a running case's data", () => {
  it('changes the editable fields and keeps the previous values in the timeline', async () => {
    const c = await startCase();
    const forecast = async () =>
      ((
        await env.http(env.users.admin, 'GET', `/api/reports/forecast?caseType=${caseType}`)
      ).body.totals.find((t: { currency: string }) => t.currency === 'EUR')?.amount ?? 0) as number;
    const before = await forecast();
    const res = await env.http(env.users.alice, 'PATCH', `/api/cases/${c.id}`, {
      data: { amount: 20000, expectedCloseDate: '2031-06-30' },
    });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      subject: 'Forklift fleet',
      amount: 20000,
      expectedCloseDate: '2031-06-30',
    });
    const updated = res.body.timeline.find((e: { kind: string }) => e.kind === 'case.updated');
    expect(updated.detail).toMatchObject({ before: { amount: 12500 }, after: { amount: 20000 } });
    // The forecast follows the new amount.
    expect((await forecast()) - before).toBe(7500);
  });

  it('refuses fields that are not editable, data that does not fit the fields, and empty changes', async () => {
    const c = await startCase();
    const locked = await env.http(env.users.alice, 'PATCH', `/api/cases/${c.id}`, {
      data: { subject: 'Other' },
    });
    expect(locked.status).toBe(400);
    expect(locked.body.type).toMatch(/field-not-editable$/);
    const invalid = await env.http(env.users.alice, 'PATCH', `/api/cases/${c.id}`, { data: { amount: -5 } });
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors[0].pointer).toBe('/body/data/amount');
    const empty = await env.http(env.users.alice, 'PATCH', `/api/cases/${c.id}`, {});
    expect(empty.status).toBe(400);
    const unknown = await env.http(env.users.alice, 'PATCH', `/api/cases/${c.id}`, { data: {}, owner: 'x' });
    expect(unknown.status).toBe(400);
    const after = await env.http(env.users.alice, 'GET', `/api/cases/${c.id}`);
    expect(after.body.data).toMatchObject({ subject: 'Forklift fleet', amount: 12500 });
  });
});
