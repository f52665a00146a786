/**
 * Every construct of the definition language on the real dev server: parallel branches and a join,
 * an automatic step, a wait, a sub-case awaited for its outcome, escalation (priority and reassignment),
 * a loop, a case timer and an email rule. Durations are seconds so nothing sleeps long.
 */
import type { CaseTypeDefinition } from '../engine/types';
import { eventually, scoped, shippedDefinition, startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;
let parentType: string;

function definitions(prefix: string): { parent: CaseTypeDefinition; child: CaseTypeDefinition } {
  const child: CaseTypeDefinition = {
    dslVersion: '1',
    id: `${prefix}-credit-check`,
    version: '1',
    name: 'Credit check',
    statuses: [
      { code: 'CHECKING', name: 'Checking', category: 'open' },
      { code: 'APPROVED', name: 'Approved', category: 'won' },
    ],
    initialStatus: 'CHECKING',
    start: 'approve',
    steps: { approve: { type: 'automatic', do: [{ setStatus: 'APPROVED' }], then: { end: true } } },
  };
  const parent: CaseTypeDefinition = {
    dslVersion: '1',
    id: `${prefix}-constructs`,
    version: '1',
    name: 'Constructs',
    title: 'Constructs {{data.subject}}',
    statuses: [
      { code: 'OPEN', name: 'Open', category: 'open' },
      { code: 'PARKED', name: 'Parked', category: 'open' },
      { code: 'DONE', name: 'Done', category: 'won' },
      { code: 'LOST', name: 'Lost', category: 'lost' },
    ],
    initialStatus: 'OPEN',
    start: 'fork',
    steps: {
      fork: { type: 'parallel', branches: ['call', 'flag'], join: 'meet' },
      call: {
        type: 'human',
        action: 'call',
        title: 'Call',
        assign: { team: `${prefix}-sales` },
        outcomes: { ok: { next: 'meet' } },
      },
      flag: {
        type: 'automatic',
        do: [{ setField: { path: 'flagged', value: true } }],
        then: { next: 'meet' },
      },
      meet: { type: 'join', then: { next: 'pause' } },
      pause: { type: 'wait', until: 'PT1S', then: { next: 'check' } },
      check: {
        type: 'subcase',
        caseType: child.id,
        wait: true,
        outcomes: { won: { next: 'review' }, lost: { status: 'LOST', end: true } },
      },
      review: {
        type: 'human',
        action: 'task',
        title: 'Review {{data.subject}}',
        assign: { team: `${prefix}-sales` },
        escalations: [{ after: 'PT1S', priority: 'urgent', reassign: { user: `${prefix}-bob` } }],
        outcomes: { done: { status: 'DONE', end: true }, park: { status: 'PARKED', next: 'review' } },
      },
    },
    timers: [
      { id: 'parked-too-long', inStatus: 'PARKED', after: 'PT2S', then: { status: 'LOST', end: true } },
    ],
    emailRules: [{ id: 'done', on: { statusEntered: 'DONE' }, template: 'case-status', to: ['owner'] }],
  };
  return { parent, child };
}

beforeAll(async () => {
  env = await startTestEnv();
  const { parent, child } = definitions(env.prefix);
  await env.publish(child);
  parentType = await env.publish(parent);
});

afterAll(async () => {
  await env?.stop();
});

type View = {
  status: string;
  endedAt: string | null;
  data: Record<string, unknown>;
  tasks: { id: string; step: string; status: string; assignee: string | null; priority: string }[];
  timeline: { kind: string; detail: Record<string, unknown> }[];
};

async function view(caseId: string): Promise<View> {
  return (await env.http(env.users.admin, 'GET', `/api/cases/${caseId}`)).body as View;
}

async function reachReview(subject: string): Promise<{ caseId: string; review: View['tasks'][number] }> {
  const started = await env.http(env.users.alice, 'POST', '/api/cases', {
    caseType: parentType,
    data: { subject },
  });
  expect(started.status).toBe(201);
  const caseId = started.body.id as string;
  // The automatic branch finished at once and waits at the join; the human branch is open.
  expect(started.body.data).toEqual({ subject, flagged: true });
  expect(started.body.tasks.map((t: { step: string }) => t.step)).toEqual(['call']);
  expect(
    (
      await env.http(env.users.alice, 'POST', `/api/tasks/${started.body.tasks[0].id}/complete`, {
        outcome: 'ok',
      })
    ).status,
  ).toBe(200);

  const atReview = await eventually(
    async () => {
      const v = await view(caseId);
      const review = v.tasks.find((t) => t.step === 'review' && t.status === 'open');
      return review ? { v, review } : undefined;
    },
    20_000,
    'the review task after the wait and the sub-case',
  );
  const kinds = atReview.v.timeline.map((e) => e.kind);
  expect(kinds).toEqual(
    expect.arrayContaining([
      'parallel.started',
      'parallel.joined',
      'wait.started',
      'wait.ended',
      'subcase.started',
      'subcase.ended',
    ]),
  );
  const ended = atReview.v.timeline.find((e) => e.kind === 'subcase.ended');
  expect(ended?.detail).toMatchObject({ status: 'APPROVED', category: 'won' });
  const childId = ended?.detail.childCaseId as string;
  expect((await view(childId)).status).toBe('APPROVED');
  return { caseId, review: atReview.review };
}

it('runs parallel branches, a wait, a sub-case, escalation and an email to the end', async () => {
  const { caseId } = await reachReview('happy');
  // Left alone, the review escalates: priority raised and reassigned to Bob.
  const escalated = await eventually(
    async () => {
      const t = (await view(caseId)).tasks.find((x) => x.step === 'review');
      return t?.assignee === env.users.bob.id ? t : undefined;
    },
    15_000,
    'the escalation',
  );
  expect(escalated.priority).toBe('urgent');
  expect(
    (await env.http(env.users.bob, 'POST', `/api/tasks/${escalated.id}/complete`, { outcome: 'done' }))
      .status,
  ).toBe(200);
  const done = await view(caseId);
  expect(done.status).toBe('DONE');
  const mail = await env.sink.waitFor((m) => m.subject.includes('Constructs happy'), 15_000);
  expect(mail.to).toEqual([`alice.${env.prefix}@example.com`]);
  expect(mail.subject).toBe('Constructs happy: Done');
});

it('loops back to a step and lets a case timer close a parked case', async () => {
  const { caseId, review } = await reachReview('parked');
  expect(
    (await env.http(env.users.alice, 'POST', `/api/tasks/${review.id}/complete`, { outcome: 'park' })).status,
  ).toBe(200);
  const parked = await view(caseId);
  expect(parked.status).toBe('PARKED');
  expect(parked.tasks.filter((t) => t.step === 'review').map((t) => t.status)).toEqual(['completed', 'open']);
  const lost = await eventually(
    async () => {
      const v = await view(caseId);
      return v.endedAt ? v : undefined;
    },
    15_000,
    'the case timer',
  );
  expect(lost.status).toBe('LOST');
  expect(lost.tasks.filter((t) => t.step === 'review').map((t) => t.status)).toEqual([
    'completed',
    'cancelled',
  ]);
  expect(lost.timeline.map((e) => e.kind)).toContain('timer.fired');
});

describe('every shipped definition runs', () => {
  const samples: Record<string, Record<string, unknown>> = {
    opportunity: { subject: 'Run me' },
    lead: { subject: 'Run me' },
    claim: { subject: 'Run me' },
    'service-request': { subject: 'Run me', preferredDate: '2030-01-15' },
    'campaign-follow-up': { subject: 'Run me', campaignId: 'c1' },
  };
  it.each(Object.keys(samples))('%s starts and opens its first task', async (name) => {
    const def = scoped(shippedDefinition(name), env.prefix);
    await env.publish(def);
    const started = await env.http(env.users.alice, 'POST', '/api/cases', {
      caseType: def.id,
      entityId: `${env.prefix}-acme`,
      data: samples[name],
    });
    expect(started.status).toBe(201);
    expect(started.body.status).toBe(def.initialStatus);
    const first = Array.isArray(def.start) ? def.start[0] : def.start;
    expect(started.body.tasks[0]).toMatchObject({ step: first, status: 'open' });
  });
});
