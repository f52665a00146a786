/**
 * Contention on the real stack (issue 12, items 4 and 6): many agents act on one task at the same moment.
 * Exactly one request wins each run, and afterwards the read model in Postgres (the task and case rows,
 * the timeline) says what the workflow itself says (its `state` Query): a discarded speculative workflow
 * task must leave nothing behind.
 *
 * CONTENTION_RUNS sets the runs per race (default 20, as the "Done when" asks).
 */
import { stateQuery } from '../workflows/messages';
import type { CaseState } from '../engine/state';
import { eventually, startTestEnv, type HttpResult, type TestEnv, type TestUser } from './support/env';
import { createUser, inBatches, startWork, workDefinition } from './support/matrix';

const RUNS = Number(process.env.CONTENTION_RUNS ?? 20);
const CLAIMERS = 30;
const COMPLETERS = 20;

let env: TestEnv;
let caseType: string;
let agents: TestUser[];

jest.setTimeout(Math.max(120_000, RUNS * 2 * 15_000));

beforeAll(async () => {
  env = await startTestEnv();
  caseType = await env.publish(workDefinition(env.prefix, 'sales'));
  agents = await inBatches([...Array(CLAIMERS).keys()], 5, (i) =>
    createUser(env, `agent${i}`, 'agent', [`${env.prefix}-sales`]),
  );
});

afterAll(async () => {
  await env?.stop();
});

const workflowState = (caseId: string): Promise<CaseState> =>
  env.client.workflow.getHandle(caseId).query(stateQuery);

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** What Postgres holds of a case: its row, every task row, its timeline. */
async function readModel(caseId: string) {
  const [row] = await env.db.query<Record<string, unknown>>(
    'SELECT status, version, ended_at FROM cases WHERE id = $1',
    [caseId],
  );
  const tasks = await env.db.query<Record<string, unknown>>(
    `SELECT id, status, assignee, claimed_at, completed_by, outcome, notes, version, case_status
     FROM tasks WHERE case_id = $1 ORDER BY id`,
    [caseId],
  );
  const events = await env.db.query<{ kind: string; actor: string; task_id: string | null; detail: unknown }>(
    'SELECT kind, actor, task_id, detail FROM case_events WHERE case_id = $1 ORDER BY seq',
    [caseId],
  );
  return { row, tasks, events };
}

/** The same fields, taken from the workflow's own state. */
function expectedFromWorkflow(state: CaseState) {
  return {
    row: {
      status: state.status,
      version: state.version,
      ended_at: state.ended ? expect.anything() : null,
    },
    tasks: Object.values(state.tasks)
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map((t) => ({
        id: t.id,
        status: t.status,
        assignee: t.assignee,
        claimed_at: iso(t.claimedAt),
        completed_by: t.completedBy,
        outcome: t.outcome,
        notes: t.notes,
        version: t.version,
        case_status: state.status,
      })),
  };
}

/** Waits (bounded) until Postgres equals the workflow's state, and returns both. */
async function agreed(caseId: string) {
  let last: unknown;
  try {
    return await eventually(
      async () => {
        const state = await workflowState(caseId);
        const model = await readModel(caseId);
        const expected = expectedFromWorkflow(state);
        last = { expected, actual: { row: model.row, tasks: model.tasks } };
        const same =
          JSON.stringify({ row: { ...expected.row, ended_at: null }, tasks: expected.tasks }) ===
            JSON.stringify({ row: { ...model.row, ended_at: null }, tasks: model.tasks }) &&
          (model.row?.ended_at === null) === !state.ended;
        return same ? { state, model } : undefined;
      },
      5_000,
      `Postgres to equal the workflow state of ${caseId}`,
    );
  } catch (err) {
    // Show the disagreement itself.
    expect(last).toEqual({ disagreement: 'none' });
    throw err;
  }
}

/**
 * One agent's request as a client makes it: a loaded engine may answer 503 (busy), and the client retries
 * with the same Idempotency-Key, so the action still applies at most once.
 */
async function act(agent: TestUser, url: string, body: unknown, key: string): Promise<HttpResult> {
  let res = await env.http(agent, 'POST', url, body, { 'idempotency-key': key });
  for (let attempt = 0; res.status === 503 && attempt < 5; attempt++)
    res = await env.http(agent, 'POST', url, body, { 'idempotency-key': key });
  return res;
}

const winners = (results: HttpResult[]) => results.filter((r) => r.status === 200);

describe(`contention: ${RUNS} runs each`, () => {
  it(`${CLAIMERS} agents claim one task at once: one wins, Postgres records the winner`, async () => {
    for (let run = 0; run < RUNS; run++) {
      const { caseId, taskId } = await startWork(env, caseType, `claim-${run}`);
      const results = await Promise.all(
        agents.map((agent) => act(agent, `/api/tasks/${taskId}/claim`, {}, `claim-${run}`)),
      );
      const won = winners(results);
      expect(results.filter((r) => r.status !== 409).map((r) => [r.status, r.body.detail ?? null])).toEqual([
        [200, null],
      ]);
      expect(results.filter((r) => r.status === 409)).toHaveLength(CLAIMERS - 1);
      const winner = agents[results.findIndex((r) => r.status === 200)] as TestUser;
      expect(won[0]?.body).toMatchObject({ id: taskId, assignee: winner.id });

      const { state, model } = await agreed(caseId);
      expect(state.tasks[taskId]?.assignee).toBe(winner.id);
      const claims = model.events.filter((e) => e.kind === 'task.claimed');
      expect(claims).toEqual([
        { kind: 'task.claimed', actor: winner.id, task_id: taskId, detail: { assignee: winner.id } },
      ]);
      // The winner's inbox shows the task as theirs.
      const inbox = await env.http(winner, 'GET', '/api/inbox?scope=mine');
      expect(inbox.body.items.map((i: { id: string }) => i.id)).toContain(taskId);
    }
  });

  it(`${COMPLETERS} agents complete one task at once with different outcomes: the winner's outcome is recorded`, async () => {
    for (let run = 0; run < RUNS; run++) {
      const { caseId, taskId } = await startWork(env, caseType, `complete-${run}`);
      const completers = agents.slice(0, COMPLETERS);
      // Half end the case (close), half continue to the wrap-up step (done); each leaves its name in notes.
      const outcomeOf = (i: number) => (i % 2 === 0 ? 'close' : 'done');
      // As documented clients do: a 503 is retried with the same Idempotency-Key (each agent its own).
      const results = await Promise.all(
        completers.map((agent, i) =>
          act(
            agent,
            `/api/tasks/${taskId}/complete`,
            { outcome: outcomeOf(i), notes: agent.id },
            `complete-${run}-${i}`,
          ),
        ),
      );
      // One 200 and only 409s besides (any other answer is in the diff, with its problem detail).
      expect(results.filter((r) => r.status !== 409).map((r) => [r.status, r.body.detail ?? null])).toEqual([
        [200, null],
      ]);
      expect(winners(results)).toHaveLength(1);
      const w = results.findIndex((r) => r.status === 200);
      const winner = completers[w] as TestUser;
      const outcome = outcomeOf(w);

      const { state, model } = await agreed(caseId);
      expect(state.tasks[taskId]).toMatchObject({ status: 'completed', outcome, completedBy: winner.id });
      expect(state.ended).toBe(outcome === 'close');
      const completions = model.events.filter((e) => e.kind === 'task.completed');
      expect(completions).toHaveLength(1);
      expect(completions[0]).toMatchObject({ actor: winner.id, task_id: taskId });
      expect(completions[0]?.detail).toEqual({ outcome, by: winner.id });
      // The case ended in the timeline exactly when the winner closed it.
      expect(model.events.filter((e) => e.kind === 'case.ended')).toHaveLength(outcome === 'close' ? 1 : 0);
      // The wrap-up step exists exactly when the winner continued.
      expect(model.tasks.filter((t) => t.id !== taskId)).toHaveLength(outcome === 'done' ? 1 : 0);
    }
  });
});
