/**
 * A user's action is written to the read model by the API from the update's committed result; the case
 * workflow backs that write up lazily instead of with one more activity per action (docs/projection.md):
 * - an action that ends the case ends the workflow in the update's own workflow task;
 * - when the API's write never happens (the API process died after Temporal answered), the workflow writes
 *   the change itself a few seconds later, and a case that ended that way is repaired from the ended
 *   workflow's result by the worker's sweep (`repairEndedCases`).
 */
import { randomBytes } from 'node:crypto';
import type { temporal } from '@temporalio/proto';
import type { ProjectionInput } from '../activities/types';
import { CaseGateway } from '../api/gateway';
import type { CaseTypeDefinition } from '../engine/types';
import { repairEndedCases, sweepEndedCases } from '../worker/read-model-repair';
import { byRule } from './support/email-fixtures';
import { eventually, scoped, startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;
let caseType: string;
let definition: CaseTypeDefinition;
/** The same with an email to the owner when the case is done. */
let mailedType: string;
/** An API process that dies right after Temporal answered: its write never happens. */
let dyingApi: CaseGateway;
const lostWrites: ProjectionInput[] = [];
/** alice as the workflow sees her: an agent of the sales team. */
const alice = () => ({ userId: env.users.alice.id, role: 'agent' as const, teams: [`${env.prefix}-sales`] });

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

beforeAll(async () => {
  env = await startTestEnv();
  const def: CaseTypeDefinition = scoped(
    {
      dslVersion: '1',
      id: 'lazy-write',
      version: '1.0.0',
      name: 'Lazy write',
      title: 'Lazy {{data.n}}',
      statuses: [
        { code: 'OPEN', name: 'Open', category: 'open' },
        { code: 'DONE', name: 'Done', category: 'closed' },
      ],
      initialStatus: 'OPEN',
      start: 'work',
      steps: {
        work: {
          type: 'human',
          action: 'call',
          title: 'Work on {{data.n}}',
          assign: { team: 'sales' },
          outcomes: { close: { status: 'DONE', end: true } },
        },
      },
    },
    env.prefix,
  );
  caseType = await env.publish(def);
  definition = def;
  mailedType = await env.publish({
    ...def,
    id: `${def.id}-mailed`,
    emailRules: [{ id: 'done', on: { statusEntered: 'DONE' }, template: 'case-status', to: ['owner'] }],
  });
  dyingApi = new CaseGateway(env.client, env.taskQueue, 15_000, async (p) => {
    lostWrites.push(p);
  });
});

afterAll(async () => {
  await env?.stop();
});

async function startCase(type = caseType): Promise<{ caseId: string; taskId: string }> {
  const res = await env.http(env.users.alice, 'POST', '/api/cases', {
    caseType: type,
    data: { n: randomBytes(3).toString('hex') },
  });
  expect(res.status).toBe(201);
  const caseId = res.body.id as string;
  return { caseId, taskId: (res.body.tasks as { id: string }[])[0]?.id as string };
}

const history = async (caseId: string): Promise<HistoryEvent[]> =>
  (await env.client.workflow.getHandle(caseId).fetchHistory()).events ?? [];

const type = (e: HistoryEvent) => String(e.eventType);
/** Event type numbers of temporal.api.enums.v1.EventType. */
const WORKFLOW_TASK_SCHEDULED = '5';
const ACTIVITY_TASK_SCHEDULED = '10';
const UPDATE_ACCEPTED = '41';
const WORKFLOW_COMPLETED = '2';

const caseRow = async (caseId: string) =>
  (await env.db.query(`SELECT status, ended_at, version FROM cases WHERE id = $1`, [caseId]))[0] as {
    status: string;
    ended_at: Date | null;
    version: number;
  };
const taskRow = async (taskId: string) =>
  (await env.db.query(`SELECT status, assignee, outcome FROM tasks WHERE id = $1`, [taskId]))[0] as {
    status: string;
    assignee: string | null;
    outcome: string | null;
  };
const timelineKinds = async (caseId: string) =>
  (
    (await env.db.query(`SELECT kind FROM case_events WHERE case_id = $1 ORDER BY seq`, [caseId])) as {
      kind: string;
    }[]
  ).map((r) => r.kind);

it("ends the workflow in the update's own workflow task when an action ends the case", async () => {
  const { caseId, taskId } = await startCase();
  const done = await env.http(env.users.alice, 'POST', `/api/tasks/${taskId}/complete`, { outcome: 'close' });
  expect(done.status).toBe(200);
  // The read model shows the end as soon as the API answered.
  expect(await caseRow(caseId)).toMatchObject({ status: 'DONE' });
  expect((await caseRow(caseId)).ended_at).not.toBeNull();
  expect(await taskRow(taskId)).toMatchObject({ status: 'completed', outcome: 'close' });

  await env.client.workflow.getHandle(caseId).result();
  const events = await history(caseId);
  // The last update accepted is the completion (the first is the start's).
  const accepted = events.map(type).lastIndexOf(UPDATE_ACCEPTED);
  expect(accepted).toBeGreaterThan(0);
  const after = events.slice(accepted).map(type);
  // No read-model activity and no second workflow task after the action: the workflow completed at once.
  expect(after.filter((t) => t === ACTIVITY_TASK_SCHEDULED || t === WORKFLOW_TASK_SCHEDULED)).toEqual([]);
  expect(after.at(-1)).toBe(WORKFLOW_COMPLETED);
});

it("sends an ending action's email with that action's write: the email is the case's only work after it", async () => {
  const { caseId, taskId } = await startCase(mailedType);
  const done = await env.http(env.users.alice, 'POST', `/api/tasks/${taskId}/complete`, { outcome: 'close' });
  expect(done.status).toBe(200);
  // Rendered from the read model: the owner's address and the case's title are there.
  const mail = await env.sink.waitFor(byRule(caseId, 'done'), 20_000);
  expect(mail.envelopeTo).toEqual([`alice.${env.prefix}@example.com`]);
  expect(mail.subject).toMatch(/^Lazy [0-9a-f]{6}: Done$/);
  await env.client.workflow.getHandle(caseId).result();
  const events = await history(caseId);
  const after = events.slice(events.map(type).lastIndexOf(UPDATE_ACCEPTED));
  const activities = after
    .filter((e) => type(e) === ACTIVITY_TASK_SCHEDULED)
    .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
  expect(activities).toEqual(['sendEmail']);
  expect((await caseRow(caseId)).ended_at).not.toBeNull();
});

it('writes an action itself a few seconds later when the API died before its write', async () => {
  const { caseId, taskId } = await startCase();
  const claimed = await dyingApi.act(caseId, { type: 'claim', taskId, actor: alice() });
  expect(claimed.task?.assignee).toBe(env.users.alice.id);
  // Nobody wrote the claim yet; the workflow does within its reconcile delay (5 s).
  const started = Date.now();
  await eventually(
    async () => (await taskRow(taskId)).assignee === env.users.alice.id || undefined,
    20_000,
    'the claim in the read model',
  );
  expect(Date.now() - started).toBeLessThan(15_000);
  expect(await timelineKinds(caseId)).toContain('task.claimed');
}, 30_000);

it('leaves the start to the API as well: the history holds no read-model activity before the first action', async () => {
  const { caseId } = await startCase();
  const scheduled = (await history(caseId))
    .filter((e) => type(e) === ACTIVITY_TASK_SCHEDULED)
    .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
  expect(scheduled).not.toContain('projectCase');
});

it('writes a start itself a few seconds later when the API died before its write', async () => {
  const caseId = `${env.prefix}-lost-start-${randomBytes(3).toString('hex')}`;
  const started = await dyingApi.start(definition, {
    caseId,
    caseType,
    definitionVersion: 1,
    data: { n: 'lost start' },
    ownerId: env.users.alice.id,
  });
  expect(started.caseId).toBe(caseId);
  await eventually(
    async () => (await caseRow(caseId))?.status === 'OPEN' || undefined,
    20_000,
    'the started case in the read model',
  );
  expect(await timelineKinds(caseId)).toContain('case.started');
  const tasks = (await env.db.query(`SELECT status FROM tasks WHERE case_id = $1`, [caseId])) as {
    status: string;
  }[];
  expect(tasks.map((t) => t.status)).toEqual(['open']);
}, 30_000);

it('repairs a case whose ending action the API never wrote, from the ended workflow', async () => {
  const { caseId, taskId } = await startCase();
  const sweepFrom = new Date(Date.now() - 1000);
  // Claimed and completed through an API process whose writes are all lost.
  await dyingApi.act(caseId, { type: 'claim', taskId, actor: alice() });
  const done = await dyingApi.act(caseId, {
    type: 'complete',
    taskId,
    actor: alice(),
    outcome: 'close',
  });
  expect(done.case.ended).toBe(true);
  await env.client.workflow.getHandle(caseId).result();
  expect(await caseRow(caseId)).toMatchObject({ status: 'OPEN' });

  // The worker's sweep finds the ended workflow (visibility may take a moment) and writes its last state.
  await eventually(
    async () => {
      await repairEndedCases({ db: env.db, client: env.client, since: sweepFrom });
      return (await caseRow(caseId)).ended_at !== null || undefined;
    },
    20_000,
    'the repaired case',
  );
  expect(await caseRow(caseId)).toMatchObject({ status: 'DONE' });
  expect(await taskRow(taskId)).toMatchObject({
    status: 'completed',
    assignee: env.users.alice.id,
    outcome: 'close',
  });
  const kinds = await timelineKinds(caseId);
  expect(kinds).toEqual(expect.arrayContaining(['task.claimed', 'task.completed', 'case.ended']));
  // A second sweep over the same window changes nothing.
  const version = (await caseRow(caseId)).version;
  const again = await repairEndedCases({ db: env.db, client: env.client, since: sweepFrom });
  expect(again.repaired).toEqual([]);
  expect((await caseRow(caseId)).version).toBe(version);
  expect(await timelineKinds(caseId)).toEqual(kinds);
}, 40_000);

it("the workers' periodic sweep goes on from where the last one got to and repairs a lost end", async () => {
  // A sweep has run before (it records how far it got), as on any running worker.
  await sweepEndedCases(env.db, env.client);
  const { caseId, taskId } = await startCase();
  await dyingApi.act(caseId, { type: 'complete', taskId, actor: alice(), outcome: 'close' });
  await env.client.workflow.getHandle(caseId).result();
  expect(await caseRow(caseId)).toMatchObject({ status: 'OPEN' });
  await eventually(
    async () => {
      await sweepEndedCases(env.db, env.client);
      return (await caseRow(caseId)).ended_at !== null || undefined;
    },
    20_000,
    'the case repaired by the next sweeps',
  );
  expect(await taskRow(taskId)).toMatchObject({ status: 'completed', outcome: 'close' });
}, 40_000);
