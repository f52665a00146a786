/**
 * Boundary events, messages and cancellation on the real stack (Temporal dev server, Postgres, the API):
 * what an agent sees in the inbox and a supervisor in the case's timeline.
 */
import type { CaseTypeDefinition } from '../engine/types';
import { eventually, startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;
let caseType: string;

function definition(prefix: string): CaseTypeDefinition {
  const team = `${prefix}-sales`;
  return {
    dslVersion: '1',
    id: `${prefix}-reply`,
    version: '1',
    name: 'Wait for the reply',
    statuses: [
      { code: 'OPEN', name: 'Open', category: 'open' },
      { code: 'CHASING', name: 'Chasing', category: 'open' },
      { code: 'WON', name: 'Won', category: 'won' },
      { code: 'LOST', name: 'Lost', category: 'lost' },
    ],
    initialStatus: 'OPEN',
    start: 'offer',
    messages: [{ name: 'reply' }, { name: 'signed', buffer: true }],
    steps: {
      offer: {
        type: 'human',
        action: 'call',
        title: 'Send the offer',
        assign: { team },
        outcomes: { sent: { next: 'await' } },
      },
      // Event-based choice: the customer's reply, or a chase after the (short) timer.
      await: {
        type: 'human',
        action: 'call',
        title: 'Expect the reply',
        assign: { team },
        outcomes: { gave_up: { status: 'LOST', end: true } },
        boundary: [
          { message: 'reply', then: { next: 'contract' } },
          { after: 'PT2S', then: { status: 'CHASING', next: 'chase' } },
        ],
      },
      chase: {
        type: 'human',
        action: 'call',
        title: 'Chase the customer',
        assign: { team },
        outcomes: { reached: { next: 'contract' } },
      },
      contract: { type: 'wait', message: 'signed', then: { status: 'WON', end: true } },
    },
  };
}

beforeAll(async () => {
  env = await startTestEnv();
  caseType = await env.publish(definition(env.prefix));
});
afterAll(async () => env?.stop());

type Task = { id: string; step: string; status: string };
const inboxSteps = async (caseId: string): Promise<string[]> => {
  const res = await env.http(env.users.alice, 'GET', '/api/inbox?scope=claimable&limit=200');
  return (res.body.items as { caseId: string; step: string }[])
    .filter((t) => t.caseId === caseId)
    .map((t) => t.step);
};
const caseOf = async (caseId: string) =>
  (await env.http(env.users.admin, 'GET', `/api/cases/${caseId}`)).body;

async function startAtAwait(): Promise<string> {
  const started = await env.http(env.users.alice, 'POST', '/api/cases', { caseType, data: {} });
  expect(started.status).toBe(201);
  const caseId = started.body.id as string;
  const offer = (started.body.tasks as Task[])[0] as Task;
  expect(
    (await env.http(env.users.alice, 'POST', `/api/tasks/${offer.id}/complete`, { outcome: 'sent' })).status,
  ).toBe(200);
  return caseId;
}

describe('a reply reaching the running case', () => {
  it('withdraws the waiting task from the inbox, and a buffered message sent early is used later', async () => {
    const caseId = await startAtAwait();
    expect(await inboxSteps(caseId)).toEqual(['await']);
    // "signed" arrives before anything waits for it: kept, because the definition buffers it.
    const early = await env.http(env.users.alice, 'POST', `/api/cases/${caseId}/messages`, {
      name: 'signed',
    });
    expect(early.status).toBe(200);
    const reply = await env.http(env.users.alice, 'POST', `/api/cases/${caseId}/messages`, {
      name: 'reply',
      payload: { text: 'Yes, send the contract' },
    });
    expect(reply.status).toBe(200);
    // The reply withdrew the task; the contract wait took the buffered signature at once: won.
    expect(reply.body.status).toBe('WON');
    expect(await inboxSteps(caseId)).toEqual([]);
    const view = await caseOf(caseId);
    expect((view.tasks as Task[]).map((t) => [t.step, t.status])).toEqual([
      ['offer', 'completed'],
      ['await', 'cancelled'],
    ]);
    expect((view.timeline as { kind: string }[]).map((e) => e.kind)).toEqual(
      expect.arrayContaining(['message.buffered', 'message.received', 'boundary.fired', 'task.cancelled']),
    );
  });

  it('refuses a message the case type does not declare, with a problem naming it', async () => {
    const caseId = await startAtAwait();
    const res = await env.http(env.users.alice, 'POST', `/api/cases/${caseId}/messages`, { name: 'invoice' });
    expect(res.status).toBe(400);
    expect(res.type).toContain('application/problem+json');
    expect(res.body.type).toMatch(/\/unknown-message$/);
    expect(res.body.detail).toContain('"invoice"');
  });
});

describe('an interrupting timer', () => {
  it('withdraws the task from the open inbox and opens the chase', async () => {
    const caseId = await startAtAwait();
    expect(await inboxSteps(caseId)).toEqual(['await']);
    await eventually(async () => (await inboxSteps(caseId)).join() === 'chase', 15_000, 'the chase task');
    const view = await caseOf(caseId);
    expect(view.status).toBe('CHASING');
    expect((view.tasks as Task[]).find((t) => t.step === 'await')?.status).toBe('cancelled');
  });
});

describe('cancelling a case', () => {
  it('is refused to an agent and done by a supervisor, who sees the reason and no open task remains', async () => {
    const caseId = await startAtAwait();
    const agent = await env.http(env.users.alice, 'POST', `/api/cases/${caseId}/cancel`, {
      reason: 'duplicate',
    });
    expect(agent.status).toBe(403);
    const res = await env.http(env.users.sam, 'POST', `/api/cases/${caseId}/cancel`, {
      reason: 'customer withdrew',
    });
    expect(res.status).toBe(200);
    expect(res.body.endedAt).not.toBeNull();
    expect(await inboxSteps(caseId)).toEqual([]);
    const ended = (res.body.timeline as { kind: string; detail: { reason?: string } }[]).find(
      (e) => e.kind === 'case.ended',
    );
    expect(ended?.detail.reason).toBe('cancelled: customer withdrew');
    const again = await env.http(env.users.sam, 'POST', `/api/cases/${caseId}/cancel`, { reason: 'twice' });
    expect(again.status).toBe(409);
  });
});

describe('four eyes', () => {
  it('refuses the approval to whoever prepared it with a clear 403, and a colleague approves', async () => {
    const team = `${env.prefix}-sales`;
    const type = await env.publish({
      dslVersion: '1',
      id: `${env.prefix}-four-eyes`,
      version: '1',
      name: 'Four eyes',
      statuses: [
        { code: 'OPEN', name: 'Open', category: 'open' },
        { code: 'APPROVED', name: 'Approved', category: 'won' },
      ],
      initialStatus: 'OPEN',
      start: 'prepare',
      steps: {
        prepare: {
          type: 'human',
          action: 'task',
          title: 'Prepare',
          assign: { team },
          outcomes: { done: { next: 'approve' } },
        },
        approve: {
          type: 'human',
          action: 'task',
          title: 'Approve',
          assign: { team },
          separateFrom: ['prepare'],
          outcomes: { ok: { status: 'APPROVED', end: true } },
        },
      },
    });
    const started = await env.http(env.users.alice, 'POST', '/api/cases', { caseType: type, data: {} });
    const prepare = (started.body.tasks as Task[])[0] as Task;
    const done = await env.http(env.users.alice, 'POST', `/api/tasks/${prepare.id}/complete`, {
      outcome: 'done',
    });
    expect(done.status).toBe(200);
    const view = await caseOf(started.body.id as string);
    const approve = (view.tasks as Task[]).find((t) => t.step === 'approve') as Task;
    const refused = await env.http(env.users.alice, 'POST', `/api/tasks/${approve.id}/claim`, {});
    expect(refused.status).toBe(403);
    expect(refused.body.type).toMatch(/\/separation-of-duties$/);
    expect(refused.body.detail).toContain('four eyes');
    const ok = await env.http(env.users.bob, 'POST', `/api/tasks/${approve.id}/complete`, { outcome: 'ok' });
    expect(ok.status).toBe(200);
    expect(ok.body.case.status).toBe('APPROVED');
  });
});
