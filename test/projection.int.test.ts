/**
 * The case read model the workflow writes (activities/projection.ts): one statement per projection, so it
 * must still write everything, keep only the newest version of each row, and keep the pipeline totals exact
 * when many cases sharing a total change at once.
 */
import { projectCase } from '../activities/projection';
import type { ProjectionInput } from '../activities/types';
import type { TaskState } from '../engine/state';
import { startTestEnv, type TestEnv } from './support/env';
import { inBatches } from './support/matrix';
import { caseProjection, projectedTask } from './support/projection';

let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv({ worker: false });
});

afterAll(async () => {
  await env?.stop();
});

const T0 = Date.parse('2031-03-01T09:00:00Z');

const task = (id: string, overrides: Partial<TaskState> = {}): TaskState =>
  projectedTask(env, id, T0, overrides);

const projection = (
  caseId: string,
  version: number,
  status: string,
  tasks: TaskState[],
  timeline: ProjectionInput['timeline'] = [],
  caseType = `${env.prefix}-projected`,
  title?: string,
): ProjectionInput =>
  caseProjection(env, {
    caseId,
    caseType,
    version,
    status,
    at: T0,
    tasks,
    timeline,
    ...(title ? { title } : {}),
  });

const taskRow = async (id: string) =>
  (
    await env.db.query(
      `SELECT status, assignee, candidate_teams, priority, due_at, form_data, comments, case_status, case_title,
              entity_name, version FROM tasks WHERE id = $1`,
      [id],
    )
  )[0];

describe('the case projection', () => {
  it('writes the case, its tasks and its timeline entries', async () => {
    const caseId = `${env.prefix}-p1`;
    await projectCase(
      env.db,
      projection(
        caseId,
        1,
        'OPEN',
        [
          task(`${caseId}-a`),
          task(`${caseId}-b`, {
            status: 'completed',
            assignee: env.users.bob.id,
            formData: { note: 'called' },
            comments: [{ at: T0, by: env.users.bob.id, text: 'done' }],
          }),
        ],
        [
          { seq: 1, at: T0, kind: 'case.started', actor: env.users.alice.id, detail: {} },
          {
            seq: 2,
            at: T0,
            kind: 'task.created',
            actor: 'system',
            taskId: `${caseId}-a`,
            detail: { step: 'call' },
          },
        ],
      ),
    );
    const [row] = await env.db.query('SELECT status, title, owner_id, version FROM cases WHERE id = $1', [
      caseId,
    ]);
    expect(row).toEqual({
      status: 'OPEN',
      title: `Case ${caseId}`,
      owner_id: env.users.alice.id,
      version: 1,
    });
    expect(await taskRow(`${caseId}-a`)).toMatchObject({
      status: 'open',
      assignee: null,
      candidate_teams: [`${env.prefix}-sales`],
      priority: 'high',
      due_at: new Date(T0 + 86_400_000).toISOString(),
      form_data: null,
      comments: [],
      case_status: 'OPEN',
      case_title: `Case ${caseId}`,
      entity_name: 'Acme',
    });
    expect(await taskRow(`${caseId}-b`)).toMatchObject({
      status: 'completed',
      assignee: env.users.bob.id,
      form_data: { note: 'called' },
      comments: [{ at: T0, by: env.users.bob.id, text: 'done' }],
    });
    const events = await env.db.query(
      'SELECT seq, kind, task_id FROM case_events WHERE case_id = $1 ORDER BY seq',
      [caseId],
    );
    expect(events).toEqual([
      { seq: 1, kind: 'case.started', task_id: null },
      { seq: 2, kind: 'task.created', task_id: `${caseId}-a` },
    ]);
  });

  it('keeps the newest version when an older projection arrives late or one is repeated', async () => {
    const caseId = `${env.prefix}-p2`;
    const v1 = projection(caseId, 1, 'OPEN', [task(`${caseId}-a`), task(`${caseId}-b`)]);
    const v2 = projection(
      caseId,
      2,
      'QUALIFIED',
      [task(`${caseId}-a`, { status: 'completed', outcome: 'done', version: 2 })],
      [{ seq: 1, at: T0, kind: 'status.changed', actor: 'system', detail: { to: 'QUALIFIED' } }],
    );
    await projectCase(env.db, v1);
    await projectCase(env.db, v2);
    await projectCase(env.db, v2);
    await projectCase(env.db, v1);
    const [row] = await env.db.query('SELECT status, version FROM cases WHERE id = $1', [caseId]);
    expect(row).toEqual({ status: 'QUALIFIED', version: 2 });
    expect(await taskRow(`${caseId}-a`)).toMatchObject({ status: 'completed', version: 2 });
    // Task b was not in v2 but is open: it shows v2's case status, and the late v1 did not put OPEN back.
    expect(await taskRow(`${caseId}-b`)).toMatchObject({
      status: 'open',
      case_status: 'QUALIFIED',
      version: 1,
    });
    const events = await env.db.query('SELECT count(*)::int AS n FROM case_events WHERE case_id = $1', [
      caseId,
    ]);
    expect(events[0]?.n).toBe(1);
  });

  it("shows the case's current status and title on every task of the case, open or closed", async () => {
    const caseId = `${env.prefix}-p3`;
    const v1 = projection(caseId, 1, 'OPEN', [
      task(`${caseId}-a`),
      task(`${caseId}-b`, { status: 'completed', outcome: 'done', completedBy: env.users.bob.id }),
    ]);
    const v2 = projection(caseId, 2, 'DONE', [], [], undefined, `Renamed ${caseId}`);
    await projectCase(env.db, v1);
    await projectCase(env.db, v2);
    await projectCase(env.db, v1);
    for (const [id, status] of [
      [`${caseId}-a`, 'open'],
      [`${caseId}-b`, 'completed'],
    ]) {
      expect(await taskRow(id as string)).toMatchObject({
        status,
        case_status: 'DONE',
        case_title: `Renamed ${caseId}`,
        version: 1,
      });
    }
  });

  it('keeps the pipeline totals exact while many cases sharing one total change at once', async () => {
    const caseType = `${env.prefix}-concurrent`;
    const ids = [...Array(40).keys()].map((i) => `${env.prefix}-c${i}`);
    await inBatches(ids, 20, (id) =>
      projectCase(env.db, projection(id, 1, 'OPEN', [task(`${id}-a`)], [], caseType)),
    );
    // Half of them move to DONE while the other half are projected again, all at once.
    await inBatches(ids, 40, (id) => {
      const done = Number(id.slice(id.lastIndexOf('c') + 1)) % 2 === 0;
      return projectCase(
        env.db,
        done
          ? projection(id, 2, 'DONE', [task(`${id}-a`, { status: 'completed', version: 2 })], [], caseType)
          : projection(id, 1, 'OPEN', [task(`${id}-a`)], [], caseType),
      );
    });
    const totals = await env.db.query(
      `SELECT status, sum(cases)::int AS cases, sum(amount)::int AS amount FROM case_pipeline_totals
       WHERE case_type = $1 GROUP BY status ORDER BY status`,
      [caseType],
    );
    expect(totals).toEqual([
      { status: 'DONE', cases: 20, amount: 20_000 },
      { status: 'OPEN', cases: 20, amount: 20_000 },
    ]);
  });
});
