/** A sub-case starts only with data its type's fields accept, as POST /api/cases would; otherwise the step fails visibly. */
import type { CaseTypeDefinition } from '../engine/types';
import { eventually, startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;
let parentType: string;
let childType: string;
const WAIT = 20_000;

const statuses = [
  { code: 'OPEN', name: 'Open', category: 'open' as const },
  { code: 'DONE', name: 'Done', category: 'won' as const },
];

beforeAll(async () => {
  env = await startTestEnv();
  childType = `${env.prefix}-order`;
  parentType = `${env.prefix}-quote`;
  const child: CaseTypeDefinition = {
    dslVersion: '1',
    id: childType,
    version: '1',
    name: 'Order',
    statuses,
    initialStatus: 'OPEN',
    fields: {
      type: 'object',
      properties: { amount: { type: 'number', minimum: 0 } },
      required: ['amount'],
      additionalProperties: false,
    },
    start: 'ship',
    steps: {
      ship: {
        type: 'human',
        action: 'task',
        title: 'Ship',
        assign: { team: `${env.prefix}-sales` },
        outcomes: { done: { status: 'DONE', end: true } },
      },
    },
  };
  // The parent's own fields are open: what it copies into the child is checked only when the child starts.
  const parent: CaseTypeDefinition = {
    dslVersion: '1',
    id: parentType,
    version: '1',
    name: 'Quote',
    statuses,
    initialStatus: 'OPEN',
    start: 'order',
    steps: {
      order: {
        type: 'subcase',
        caseType: childType,
        data: { amount: { var: 'data.amount' } },
        wait: true,
        outcomes: { won: { status: 'DONE', end: true } },
        then: { end: true },
      },
    },
  };
  await env.publish(child);
  await env.publish(parent);
});

afterAll(async () => {
  await env?.stop();
});

async function startParent(data: Record<string, unknown>): Promise<string> {
  const res = await env.http(env.users.admin, 'POST', '/api/cases', { caseType: parentType, data });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

const children = (caseId: string) =>
  env.db.query<{ id: string; data: Record<string, unknown> }>(
    'SELECT id, data FROM cases WHERE parent_case_id = $1',
    [caseId],
  );

it('data the child type accepts starts the child', async () => {
  const caseId = await startParent({ amount: 1200 });
  const [child] = await eventually(
    async () => {
      const rows = await children(caseId);
      return rows.length > 0 && rows;
    },
    WAIT,
    'the child case',
  );
  expect(child?.data).toEqual({ amount: 1200 });
});

it('data POST /api/cases would refuse starts no child: the timeline says why, the case waits at the step', async () => {
  // What POST /api/cases answers for the same data.
  const direct = await env.http(env.users.admin, 'POST', '/api/cases', {
    caseType: childType,
    data: { amount: 'lots' },
  });
  expect(direct.status).toBe(400);
  expect(direct.body.errors).toEqual([{ pointer: '/body/data/amount', message: 'must be number' }]);

  const caseId = await startParent({ amount: 'lots' });
  const refused = await eventually(
    async () => {
      const view = await env.http(env.users.admin, 'GET', `/api/cases/${caseId}`);
      return (view.body.timeline as { kind: string; detail: Record<string, unknown> }[]).find(
        (e) => e.kind === 'subcase.refused',
      );
    },
    WAIT,
    'subcase.refused in the timeline',
  );
  expect(refused.detail).toMatchObject({
    step: 'order',
    caseType: childType,
    errors: [{ pointer: '/amount', message: 'must be number' }],
  });
  expect(await children(caseId)).toEqual([]);
  const view = await env.http(env.users.admin, 'GET', `/api/cases/${caseId}`);
  expect(view.body).toMatchObject({ status: 'OPEN', currentSteps: ['order'] });
  expect(view.body.endedAt ?? null).toBeNull();
});
