/**
 * Every task action through the case workflow, the readable history it leaves, and the supervisor panel:
 * the team board, bulk reassignment and ad-hoc actions.
 */
import { startTestEnv, type TestEnv } from './support/env';
import { must, startWork, workDefinition } from './support/matrix';

let env: TestEnv;
let caseType: string;

beforeAll(async () => {
  env = await startTestEnv();
  caseType = await env.publish(workDefinition(env.prefix, 'sales'));
});

afterAll(async () => {
  await env?.stop();
});

const act = (user: keyof TestEnv['users'], taskId: string, action: string, body: unknown = {}) =>
  env.http(env.users[user], 'POST', `/api/tasks/${taskId}/${action}`, body);

describe('task actions through the workflow', () => {
  it('claims, releases, reassigns, delegates, resolves, comments and completes, with a readable history', async () => {
    const { caseId, taskId } = await startWork(env, caseType, 'life');
    const name = (u: string) => `${u[0]?.toUpperCase()}${u.slice(1)} ${env.prefix}`;

    expect((await act('alice', taskId, 'claim')).body.assignee).toBe(env.users.alice.id);
    expect((await act('alice', taskId, 'unclaim')).body.assignee).toBeNull();
    expect((await act('bob', taskId, 'claim')).body.claimedAt).not.toBeNull();
    // A supervisor reassigns, here to someone outside the candidate team (recorded as such).
    expect((await act('sam', taskId, 'assign', { assignee: env.users.dana.id })).body.assignee).toBe(
      env.users.dana.id,
    );
    const delegated = await act('dana', taskId, 'delegate', { to: env.users.carol.id });
    expect(delegated.body).toMatchObject({ assignee: env.users.carol.id, delegatedBy: env.users.dana.id });
    // The delegate cannot complete before resolving.
    const early = await act('carol', taskId, 'complete', { outcome: 'done' });
    expect(early.status).toBe(409);
    expect(early.body.code).toBe('DELEGATION_PENDING');
    expect((await act('carol', taskId, 'resolve')).body).toMatchObject({
      assignee: env.users.dana.id,
      delegatedBy: null,
    });
    const commented = await act('dana', taskId, 'comment', { text: 'Customer asked for a call back' });
    expect(commented.body.comments).toEqual([
      expect.objectContaining({ by: env.users.dana.id, text: 'Customer asked for a call back' }),
    ]);
    const done = await act('dana', taskId, 'complete', {
      outcome: 'done',
      data: { note: 'ok' },
      notes: 'all good',
    });
    expect(done.body).toMatchObject({
      status: 'completed',
      outcome: 'done',
      completedBy: env.users.dana.id,
      formData: { note: 'ok' },
      notes: 'all good',
    });

    const history = await env.http(env.users.dana, 'GET', `/api/tasks/${taskId}/history`);
    expect(history.status).toBe(200);
    expect(history.body.entries.map((e: { text: string }) => e.text)).toEqual([
      `Created by ${name('admin')}, for team ${env.prefix}-sales`,
      `Claimed by ${name('alice')}`,
      `Released by ${name('alice')}`,
      `Claimed by ${name('bob')}`,
      `Assigned to ${name('dana')} by ${name('sam')} (outside the candidate teams)`,
      `Delegated by ${name('dana')} to ${name('carol')}`,
      `Resolved by ${name('carol')}, back to ${name('dana')}`,
      `${name('dana')} commented: Customer asked for a call back`,
      `Completed by ${name('dana')} with outcome "done"`,
    ]);
    // The case moved on to its next step.
    const next = await env.db.query('SELECT step, status FROM tasks WHERE case_id = $1 ORDER BY created_at', [
      caseId,
    ]);
    expect(next).toEqual([
      { step: 'work', status: 'completed' },
      { step: 'wrap', status: 'open' },
    ]);
  });

  it('refuses an assignee or delegate that is not an active user, and an unknown action', async () => {
    const { taskId } = await startWork(env, caseType, 'bad-user');
    const assign = await act('sam', taskId, 'assign', { assignee: 'nobody' });
    expect(assign.status).toBe(400);
    expect(assign.body.errors).toEqual([{ pointer: '/body/assignee', message: 'is not an active user' }]);
    expect((await act('alice', taskId, 'dance')).status).toBe(404);
  });
});

describe('supervisor panel', () => {
  it("shows the team's pending and overdue work per member and the unassigned work", async () => {
    const a = await startWork(env, caseType, 'board-a');
    const b = await startWork(env, caseType, 'board-b');
    await must(env, env.users.alice, 'POST', `/api/tasks/${a.taskId}/claim`, {});
    const late = await env.http(env.users.sam, 'POST', `/api/cases/${b.caseId}/tasks`, {
      title: 'Late call',
      action: 'call',
      assignee: env.users.bob.id,
      team: `${env.prefix}-sales`,
      dueAt: new Date(Date.now() - 3_600_000).toISOString(),
      priority: 'high',
    });
    expect(late.status).toBe(201);
    const board = await env.http(env.users.sam, 'GET', `/api/teams/${env.prefix}-sales/board`);
    expect(board.status).toBe(200);
    const members = Object.fromEntries(board.body.members.map((m: { id: string }) => [m.id, m]));
    expect(members[env.users.alice.id]).toMatchObject({ pending: 1, overdue: 0 });
    expect(members[env.users.bob.id]).toMatchObject({ pending: 1, overdue: 1 });
    expect(board.body.unassigned.items.map((t: { id: string }) => t.id)).toContain(b.taskId);
    expect(board.body.totals.overdue).toBeGreaterThanOrEqual(1);
  });

  it('reassigns in bulk through each case workflow, with a result per task', async () => {
    const one = await startWork(env, caseType, 'bulk-1');
    const two = await startWork(env, caseType, 'bulk-2');
    const res = await env.http(env.users.sam, 'POST', `/api/teams/${env.prefix}-sales/reassign`, {
      taskIds: [one.taskId, two.taskId, 'case-nope-T1'],
      assignee: env.users.bob.id,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ succeeded: 2, failed: 1 });
    expect(res.body.results.map((r: { status: number }) => r.status)).toEqual([200, 200, 404]);
    expect(res.body.results[0].task).toMatchObject({ id: one.taskId, assignee: env.users.bob.id });
    const inbox = await env.http(env.users.bob, 'GET', '/api/inbox?scope=mine');
    expect(inbox.body.items.map((t: { id: string }) => t.id)).toEqual(
      expect.arrayContaining([one.taskId, two.taskId]),
    );
  });

  it('adds an ad-hoc action for a team member, and refuses someone off the team or an unknown action type', async () => {
    const { caseId } = await startWork(env, caseType, 'adhoc');
    const added = await env.http(env.users.sam, 'POST', `/api/cases/${caseId}/tasks`, {
      title: 'Visit the warehouse',
      action: 'visit',
      assignee: env.users.alice.id,
      team: `${env.prefix}-sales`,
    });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({
      step: null,
      action: 'visit',
      assignee: env.users.alice.id,
      title: 'Visit the warehouse',
    });
    const mine = await env.http(env.users.alice, 'GET', '/api/inbox?scope=mine');
    expect(mine.body.items.map((t: { id: string }) => t.id)).toContain(added.body.id);
    const offTeam = await env.http(env.users.sam, 'POST', `/api/cases/${caseId}/tasks`, {
      title: 'x',
      action: 'call',
      assignee: env.users.carol.id,
      team: `${env.prefix}-sales`,
    });
    expect(offTeam.status).toBe(400);
    expect(offTeam.body.errors[0].pointer).toBe('/body/assignee');
    const badAction = await env.http(env.users.sam, 'POST', `/api/cases/${caseId}/tasks`, {
      title: 'x',
      action: 'dance',
      team: `${env.prefix}-sales`,
    });
    expect(badAction.status).toBe(400);
    expect(badAction.body.errors[0].pointer).toBe('/body/action');
    const nobody = await env.http(env.users.sam, 'POST', `/api/cases/${caseId}/tasks`, {
      title: 'x',
      action: 'call',
    });
    expect(nobody.status).toBe(400);
  });
});

describe('rescheduling an open task', () => {
  it('a supervisor changes its due date and priority; the inbox and the history show it; an agent may not', async () => {
    const { taskId } = await startWork(env, caseType, 'reschedule');
    const due = '2031-03-04T10:00:00.000Z';
    const refused = await act('alice', taskId, 'reschedule', { priority: 'urgent' });
    expect(refused.status).toBe(403);
    const res = await act('sam', taskId, 'reschedule', { dueAt: due, priority: 'urgent' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ dueAt: due, priority: 'urgent' });
    const inbox = await env.http(env.users.alice, 'GET', '/api/inbox?limit=200');
    expect(
      (inbox.body.items as { id: string; dueAt: string; priority: string }[]).find((t) => t.id === taskId),
    ).toMatchObject({
      dueAt: due,
      priority: 'urgent',
    });
    const history = await env.http(env.users.sam, 'GET', `/api/tasks/${taskId}/history`);
    const entry = (history.body.entries as { kind: string; detail: { after: unknown } }[]).find(
      (e) => e.kind === 'task.rescheduled',
    );
    expect(entry?.detail.after).toEqual({ dueAt: due, followUpAt: null, priority: 'urgent' });
    const empty = await act('sam', taskId, 'reschedule', {});
    expect(empty.status).toBe(400);
  });

  it('refuses a follow-up date later than the due date, at the field the request changed', async () => {
    const { taskId } = await startWork(env, caseType, 'follow-up');
    const due = '2031-03-04T10:00:00.000Z';
    expect((await act('sam', taskId, 'reschedule', { dueAt: due })).status).toBe(200);
    const late = await act('sam', taskId, 'reschedule', { followUpAt: '2031-03-05T09:00:00.000Z' });
    expect({ status: late.status, type: late.type, errors: late.body.errors }).toEqual({
      status: 400,
      type: 'application/problem+json; charset=utf-8',
      errors: [{ pointer: '/body/followUpAt', message: `must not be later than the due date (${due})` }],
    });
    const followUp = '2031-03-03T09:00:00.000Z';
    expect((await act('sam', taskId, 'reschedule', { followUpAt: followUp })).body.followUpAt).toBe(followUp);
    const early = await act('sam', taskId, 'reschedule', { dueAt: '2031-03-02T09:00:00.000Z' });
    expect(early.status).toBe(400);
    expect(early.body.errors).toEqual([
      { pointer: '/body/dueAt', message: `must not be earlier than the follow-up date (${followUp})` },
    ]);
    // Both moved together, in order, is fine; so is removing the due date.
    const both = await act('sam', taskId, 'reschedule', {
      dueAt: '2031-04-02T09:00:00.000Z',
      followUpAt: '2031-04-01T09:00:00.000Z',
    });
    expect(both.body).toMatchObject({
      dueAt: '2031-04-02T09:00:00.000Z',
      followUpAt: '2031-04-01T09:00:00.000Z',
    });
    expect((await act('sam', taskId, 'reschedule', { dueAt: null })).body.dueAt).toBeNull();
  });
});
