/**
 * Concurrency: two claims or two completes of one task (50 pairs each, all at once) end with exactly one
 * success and one 409 carrying the current task; and Idempotency-Key retries get the first answer while
 * the action is applied once.
 */
import { PROBLEM_BASE } from '../api/problem';
import { startTestEnv, type HttpResult, type TestEnv } from './support/env';
import { inBatches, startWork, workDefinition } from './support/matrix';

let env: TestEnv;
let caseType: string;
const PAIRS = 50;

beforeAll(async () => {
  env = await startTestEnv();
  caseType = await env.publish(workDefinition(env.prefix, 'sales'));
});

afterAll(async () => {
  await env?.stop();
});

const startMany = (n: number, label: string) =>
  inBatches([...Array(n).keys()], 10, (i) => startWork(env, caseType, `${label}-${i}`));

async function eventsOf(caseId: string, kind: string): Promise<number> {
  const rows = await env.db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM case_events WHERE case_id = $1 AND kind = $2',
    [caseId, kind],
  );
  return rows[0]?.n ?? 0;
}

describe('races', () => {
  it(`lets exactly one of two concurrent claims win, ${PAIRS} times`, async () => {
    const cases = await startMany(PAIRS, 'claim');
    const outcomes = await Promise.all(
      cases.map(async ({ taskId }) => {
        const [a, b] = await Promise.all([
          env.http(env.users.alice, 'POST', `/api/tasks/${taskId}/claim`, {}),
          env.http(env.users.bob, 'POST', `/api/tasks/${taskId}/claim`, {}),
        ]);
        return { taskId, a, b };
      }),
    );
    for (const { taskId, a, b } of outcomes) {
      expect([a.status, b.status].sort()).toEqual([200, 409]);
      const [won, lost, winner] = a.status === 200 ? [a, b, env.users.alice] : [b, a, env.users.bob];
      expect(won.body).toMatchObject({ id: taskId, assignee: winner.id });
      expect(lost.type).toContain('application/problem+json');
      expect(lost.body).toMatchObject({
        type: `${PROBLEM_BASE}task-already-claimed`,
        code: 'TASK_ALREADY_CLAIMED',
      });
      // The loser gets the task as it is now: claimed by the winner.
      expect(lost.body.task).toMatchObject({ id: taskId, assignee: winner.id, status: 'open' });
    }
    for (const { caseId } of cases) expect(await eventsOf(caseId, 'task.claimed')).toBe(1);
  });

  it(`lets exactly one of two concurrent completes win, ${PAIRS} times`, async () => {
    const cases = await startMany(PAIRS, 'complete');
    const outcomes = await Promise.all(
      cases.map(async ({ taskId }) => {
        const [a, b] = await Promise.all([
          env.http(env.users.alice, 'POST', `/api/tasks/${taskId}/complete`, {
            outcome: 'done',
            notes: 'alice',
          }),
          env.http(env.users.bob, 'POST', `/api/tasks/${taskId}/complete`, { outcome: 'done', notes: 'bob' }),
        ]);
        return { taskId, a, b };
      }),
    );
    for (const { a, b } of outcomes) {
      expect([a.status, b.status].sort()).toEqual([200, 409]);
      const [won, lost] = a.status === 200 ? [a, b] : [b, a];
      expect(won.body.status).toBe('completed');
      expect(lost.body).toMatchObject({
        code: 'TASK_NOT_OPEN',
        task: { status: 'completed', notes: won.body.notes },
      });
    }
    for (const { caseId } of cases) {
      expect(await eventsOf(caseId, 'task.completed')).toBe(1);
      // The next step started once.
      const next = await env.db.query('SELECT id FROM tasks WHERE case_id = $1 AND step = $2', [
        caseId,
        'wrap',
      ]);
      expect(next).toHaveLength(1);
    }
  });
  it('applies a burst of 40 concurrent actions on one case exactly once each, retries included', async () => {
    const { taskId } = await startWork(env, caseType, 'burst');
    const comment = (i: number) =>
      env.http(
        env.users.alice,
        'POST',
        `/api/tasks/${taskId}/comment`,
        { text: `c${i}` },
        { 'idempotency-key': `burst-${i}` },
      );
    const results = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        // A loaded engine may answer 503; a client retries with the same key, and the action still applies once.
        let res = await comment(i);
        for (let attempt = 0; res.status === 503 && attempt < 5; attempt++) res = await comment(i);
        return res;
      }),
    );
    expect(results.filter((r) => r.status !== 200).map((r) => r.body)).toEqual([]);
    const task = await env.http(env.users.alice, 'GET', `/api/tasks/${taskId}`);
    expect(task.body.comments.map((c: { text: string }) => c.text).sort()).toEqual(
      Array.from({ length: 40 }, (_, i) => `c${i}`).sort(),
    );
  });
});

describe('idempotent retries', () => {
  const withKey = (key: string) => ({ 'idempotency-key': key });

  it('replays the first answer to a retry and completes once', async () => {
    const { caseId, taskId } = await startWork(env, caseType, 'idem-1');
    const key = `k-${taskId}`;
    const first = await env.http(
      env.users.alice,
      'POST',
      `/api/tasks/${taskId}/complete`,
      { outcome: 'done' },
      withKey(key),
    );
    expect(first.status).toBe(200);
    // Something else happens to the case in between: the replay still shows the first answer.
    const [wrap] = await env.db.query<{ id: string }>(
      'SELECT id FROM tasks WHERE case_id = $1 AND step = $2',
      [caseId, 'wrap'],
    );
    expect(
      (await env.http(env.users.alice, 'POST', `/api/tasks/${wrap?.id}/comment`, { text: 'meanwhile' }))
        .status,
    ).toBe(200);
    const retry = await fetch(`${env.baseUrl}/api/tasks/${taskId}/complete`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${env.users.alice.token}`,
        'content-type': 'application/json',
        ...withKey(key),
      },
      body: JSON.stringify({ outcome: 'done' }),
    });
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await retry.json()).toEqual(first.body);
    expect(await eventsOf(caseId, 'task.completed')).toBe(1);
    expect(
      await env.db.query('SELECT id FROM tasks WHERE case_id = $1 AND step = $2', [caseId, 'wrap']),
    ).toHaveLength(1);
  });

  it('applies concurrent duplicates once and answers them all alike', async () => {
    const { caseId, taskId } = await startWork(env, caseType, 'idem-2');
    const results: HttpResult[] = await Promise.all(
      Array.from({ length: 5 }, () =>
        env.http(env.users.alice, 'POST', `/api/tasks/${taskId}/claim`, {}, withKey('same')),
      ),
    );
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    for (const r of results) expect(r.body.assignee).toBe(env.users.alice.id);
    expect(await eventsOf(caseId, 'task.claimed')).toBe(1);
  });

  it('replays a first refusal too, and refuses a key reused for another request', async () => {
    const { taskId } = await startWork(env, caseType, 'idem-3');
    expect((await env.http(env.users.bob, 'POST', `/api/tasks/${taskId}/claim`, {})).status).toBe(200);
    const refused = await env.http(env.users.alice, 'POST', `/api/tasks/${taskId}/claim`, {}, withKey('r1'));
    expect(refused.status).toBe(409);
    expect((await env.http(env.users.bob, 'POST', `/api/tasks/${taskId}/unclaim`, {})).status).toBe(200);
    const replayed = await env.http(env.users.alice, 'POST', `/api/tasks/${taskId}/claim`, {}, withKey('r1'));
    expect(replayed.status).toBe(409);
    expect(replayed.type).toContain('application/problem+json');
    expect(replayed.body).toEqual(refused.body);
    const reused = await env.http(
      env.users.alice,
      'POST',
      `/api/tasks/${taskId}/comment`,
      { text: 'x' },
      withKey('r1'),
    );
    expect(reused.status).toBe(422);
    expect(reused.body.type).toBe(`${PROBLEM_BASE}idempotency-key-reused`);
    // Keys are per user: bob's "r1" is his own.
    expect(
      (await env.http(env.users.bob, 'POST', `/api/tasks/${taskId}/claim`, {}, withKey('r1'))).status,
    ).toBe(200);
  });

  it('acts once when a request timed out because no worker ran and is retried later', async () => {
    const { caseId, taskId } = await startWork(env, caseType, 'idem-4');
    await env.stopWorker();
    let timedOut: HttpResult;
    try {
      timedOut = await env.http(
        env.users.alice,
        'POST',
        `/api/tasks/${taskId}/complete`,
        { outcome: 'done' },
        withKey('slow'),
      );
    } finally {
      await env.startWorker();
    }
    expect(timedOut.status).toBe(503);
    expect(timedOut.body.type).toBe(`${PROBLEM_BASE}engine-unavailable`);
    const retry = await env.http(
      env.users.alice,
      'POST',
      `/api/tasks/${taskId}/complete`,
      { outcome: 'done' },
      withKey('slow'),
    );
    expect(retry.status).toBe(200);
    expect(retry.body.status).toBe('completed');
    expect(await eventsOf(caseId, 'task.completed')).toBe(1);
  });
});
