/**
 * Who may do what: every role x every task action x own / team / foreign / unknown task, as one table of
 * expected HTTP statuses; the same for the supervisor panel. Also the edit-closed-tasks parameter in both
 * states (this file is the only one that changes that global parameter).
 */
import { PROBLEM_BASE } from '../api/problem';
import { startTestEnv, eventually, type TestEnv, type TestUser } from './support/env';
import { createTeam, createUser, inBatches, must, startWork, workDefinition } from './support/matrix';

let env: TestEnv;
let oscar: TestUser;
let olga: TestUser;
const types = { sales: '', ops: '' };

beforeAll(async () => {
  env = await startTestEnv();
  olga = await createUser(env, 'olga', 'supervisor');
  const ops = await createTeam(env, 'ops', olga.id);
  oscar = await createUser(env, 'oscar', 'agent', [ops]);
  types.sales = await env.publish(workDefinition(env.prefix, 'sales'));
  types.ops = await env.publish(workDefinition(env.prefix, 'ops'));
});

afterAll(async () => {
  if (env) await env.http(env.users.admin, 'PUT', '/api/parameters/allowEditClosedTasks', { value: false });
  await env?.stop();
});

const setParameter = async (value: unknown) =>
  env.http(env.users.admin, 'PUT', '/api/parameters/allowEditClosedTasks', { value });

describe('editing closed tasks', () => {
  let completed: { caseId: string; taskId: string };

  beforeAll(async () => {
    completed = await startWork(env, types.sales, 'edit');
    await must(env, env.users.alice, 'POST', `/api/tasks/${completed.taskId}/claim`, {});
    await must(env, env.users.alice, 'POST', `/api/tasks/${completed.taskId}/complete`, {
      outcome: 'done',
      data: { note: 'first' },
      notes: 'called',
    });
  });

  it('is off by default, and only administrators read or change the parameter', async () => {
    const read = await env.http(env.users.admin, 'GET', '/api/parameters/allowEditClosedTasks');
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({
      key: 'allowEditClosedTasks',
      value: false,
      schema: { type: 'boolean' },
    });
    expect((await env.http(env.users.alice, 'GET', '/api/parameters/allowEditClosedTasks')).status).toBe(403);
    expect(
      (await env.http(env.users.sam, 'PUT', '/api/parameters/allowEditClosedTasks', { value: true })).status,
    ).toBe(403);
    const list = await env.http(env.users.admin, 'GET', '/api/parameters');
    expect(list.body.items.map((i: { key: string }) => i.key)).toContain('allowEditClosedTasks');
    const bad = await setParameter('yes');
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([{ pointer: '/body/value', message: 'must be boolean' }]);
    expect((await env.http(env.users.admin, 'GET', '/api/parameters/noSuchThing')).status).toBe(404);
  });

  it('answers 409 naming the parameter while it is off', async () => {
    expect((await setParameter(false)).status).toBe(200);
    const res = await env.http(env.users.alice, 'PATCH', `/api/tasks/${completed.taskId}`, {
      notes: 'changed',
    });
    expect(res.status).toBe(409);
    expect(res.type).toContain('application/problem+json');
    expect(res.body.type).toBe(`${PROBLEM_BASE}edit-closed-tasks-disabled`);
    expect(res.body.parameter).toBe('allowEditClosedTasks');
    const task = await env.http(env.users.alice, 'GET', `/api/tasks/${completed.taskId}`);
    expect(task.body.notes).toBe('called');
  });

  it('applies the edit through the running case and audits who, when, before and after', async () => {
    const on = await setParameter(true);
    expect(on.body).toMatchObject({ value: true, updatedBy: env.users.admin.id });
    const res = await env.http(env.users.alice, 'PATCH', `/api/tasks/${completed.taskId}`, {
      data: { note: 'second' },
      notes: 'called twice',
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      formData: { note: 'second' },
      notes: 'called twice',
      outcome: 'done',
      status: 'completed',
    });
    const history = await env.http(env.users.alice, 'GET', `/api/tasks/${completed.taskId}/history`);
    const edited = history.body.entries.find((e: { kind: string }) => e.kind === 'task.edited');
    expect(edited).toMatchObject({
      actor: { id: env.users.alice.id },
      detail: {
        before: { formData: { note: 'first' }, notes: 'called' },
        after: { formData: { note: 'second' }, notes: 'called twice' },
      },
    });
    expect(edited.text).toMatch(/^Edited after completion by Alice .*: form data and notes changed$/);
    expect(Date.parse(edited.at)).toBeGreaterThan(Date.now() - 60_000);
    expect(history.body.entries.map((e: { kind: string }) => e.kind)).toEqual([
      'task.created',
      'task.claimed',
      'task.completed',
      'task.edited',
    ]);
  });

  it('edits the read model directly, with the same audit entry, once the case has ended', async () => {
    const ended = await startWork(env, types.sales, 'ended');
    await must(env, env.users.alice, 'POST', `/api/tasks/${ended.taskId}/complete`, {
      outcome: 'close',
      notes: 'n1',
    });
    await eventually(
      async () => (await env.client.workflow.getHandle(ended.caseId).describe()).status.name === 'COMPLETED',
      15_000,
      'the case workflow to complete',
    );
    const res = await env.http(env.users.alice, 'PATCH', `/api/tasks/${ended.taskId}`, { notes: 'n2' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ notes: 'n2', outcome: 'close' });
    const events = await env.db.query<{ kind: string; actor: string; detail: unknown }>(
      `SELECT kind, actor, detail FROM case_events WHERE case_id = $1 AND task_id = $2 ORDER BY seq`,
      [ended.caseId, ended.taskId],
    );
    expect(events[events.length - 1]).toEqual({
      kind: 'task.edited',
      actor: env.users.alice.id,
      detail: { before: { formData: null, notes: 'n1' }, after: { formData: null, notes: 'n2' } },
    });
  });

  it('refuses open tasks, the outcome and data the form does not allow', async () => {
    const open = await startWork(env, types.sales, 'open');
    const res = await env.http(env.users.alice, 'PATCH', `/api/tasks/${open.taskId}`, { notes: 'x' });
    expect(res.status).toBe(409);
    expect(res.body.type).toBe(`${PROBLEM_BASE}task-not-closed`);
    const outcome = await env.http(env.users.alice, 'PATCH', `/api/tasks/${completed.taskId}`, {
      outcome: 'close',
    });
    expect(outcome.status).toBe(400);
    expect(outcome.body.errors).toEqual([
      { pointer: '/body/outcome', message: 'is not an allowed property' },
    ]);
    const form = await env.http(env.users.alice, 'PATCH', `/api/tasks/${completed.taskId}`, {
      data: { note: 5 },
    });
    expect(form.status).toBe(400);
    expect(form.body.errors).toEqual([{ pointer: '/body/data/note', message: 'must be string' }]);
  });
});

type Role = 'agent' | 'supervisor' | 'designer' | 'admin';
type ObjectKind = 'own' | 'team' | 'foreign' | 'unknown';
type Action =
  | 'view'
  | 'history'
  | 'claim'
  | 'unclaim'
  | 'assign'
  | 'delegate'
  | 'complete'
  | 'comment'
  | 'resolve'
  | 'edit';

const ACTIONS: Action[] = [
  'view',
  'history',
  'claim',
  'unclaim',
  'assign',
  'delegate',
  'complete',
  'comment',
  'resolve',
  'edit',
];

/**
 * Expected status per cell. own: assigned to the caller (resolve: delegated to the caller; edit: completed
 * by the caller). team: unclaimed task of the caller's (or supervised) team (resolve: delegated between two
 * others; edit: completed by a teammate). foreign: another team's task. unknown: no such task.
 */
const TABLE = `
              view history claim unclaim assign delegate complete comment resolve edit
agent      own     200 200   409   200     403    200      200      200     200     200
agent      team    200 200   200   409     403    409      200      200     409     404
agent      foreign 404 404   404   404     404    404      404      404     404     404
supervisor own     200 200   409   200     200    200      200      200     200     200
supervisor team    200 200   200   409     200    409      200      200     409     200
supervisor foreign 404 404   404   404     404    404      404      404     404     404
designer   own     200 200   409   200     403    200      200      200     200     200
designer   team    404 404   404   404     404    404      404      404     404     404
designer   foreign 404 404   404   404     404    404      404      404     404     404
admin      own     200 200   409   200     200    200      200      200     200     200
admin      team    200 200   200   409     200    409      200      200     409     200
admin      foreign 200 200   200   409     200    409      200      200     409     200
`;

function parseTable(): { role: Role; object: ObjectKind; action: Action; expected: number }[] {
  const [header, ...rows] = TABLE.trim().split('\n');
  const actions = (header as string).trim().split(/\s+/) as Action[];
  const cells = rows.flatMap((row) => {
    const [role, object, ...statuses] = row.trim().split(/\s+/);
    return actions.map((action, i) => ({
      role: role as Role,
      object: object as ObjectKind,
      action,
      expected: Number(statuses[i]),
    }));
  });
  for (const role of ['agent', 'supervisor', 'designer', 'admin'] as Role[])
    for (const action of ACTIONS) cells.push({ role, object: 'unknown', action, expected: 404 });
  return cells;
}

describe('access matrix', () => {
  const users = (): Record<Role, TestUser> => ({
    agent: env.users.alice,
    supervisor: env.users.sam,
    designer: env.users.dana,
    admin: env.users.admin,
  });

  /** Prepares a fresh task for one cell and returns its id. */
  async function prepare(caller: TestUser, object: ObjectKind, action: Action, n: number): Promise<string> {
    if (object === 'unknown') return `case-nope-${n}-T1`;
    const foreign = object === 'foreign';
    const { taskId } = await startWork(env, foreign ? types.ops : types.sales, `${object}-${action}-${n}`);
    const url = (a: string) => `/api/tasks/${taskId}/${a}`;
    const teammate = foreign ? oscar : env.users.bob;
    const admin = env.users.admin;
    if (action === 'resolve') {
      // own: a teammate delegates to the caller; otherwise a teammate delegates to someone else.
      const delegate = object === 'own' ? caller : foreign ? olga : env.users.carol;
      await must(env, admin, 'POST', url('assign'), { assignee: teammate.id });
      await must(env, teammate, 'POST', url('delegate'), { to: delegate.id });
    } else if (action === 'edit') {
      const completer = object === 'own' ? caller : teammate;
      await must(env, admin, 'POST', url('assign'), { assignee: completer.id });
      await must(env, completer, 'POST', url('complete'), { outcome: 'done', data: { note: 'n' } });
    } else if (object === 'own') {
      await must(env, admin, 'POST', url('assign'), { assignee: caller.id });
    }
    return taskId;
  }

  function request(action: Action, taskId: string): [string, string, unknown?] {
    const url = `/api/tasks/${taskId}`;
    switch (action) {
      case 'view':
        return ['GET', url];
      case 'history':
        return ['GET', `${url}/history`];
      case 'assign':
        return ['POST', `${url}/assign`, { assignee: env.users.bob.id }];
      case 'delegate':
        return ['POST', `${url}/delegate`, { to: env.users.bob.id }];
      case 'complete':
        return ['POST', `${url}/complete`, { outcome: 'done' }];
      case 'comment':
        return ['POST', `${url}/comment`, { text: 'a comment' }];
      case 'edit':
        return ['PATCH', url, { notes: 'edited' }];
      default:
        return ['POST', `${url}/${action}`, {}];
    }
  }

  it('answers each role, action and object as the table says', async () => {
    expect((await setParameter(true)).status).toBe(200);
    const cells = parseTable();
    const results = await inBatches(cells, 8, async (cell) => {
      const caller = users()[cell.role];
      const taskId = await prepare(caller, cell.object, cell.action, cells.indexOf(cell));
      const [method, url, body] = request(cell.action, taskId);
      const res = await env.http(caller, method, url, body);
      const problem = res.status >= 400 && !String(res.type).includes('application/problem+json');
      return {
        ...cell,
        actual: res.status,
        problem,
        detail: res.status >= 400 ? res.body.detail : undefined,
      };
    });
    const wrong = results.filter((r) => r.actual !== r.expected || r.problem);
    expect(wrong).toEqual([]);
    expect(results).toHaveLength(4 * 4 * ACTIONS.length);
  });
});

describe('supervisor panel access', () => {
  /** role x (own team | foreign team) for the board, bulk reassign and ad-hoc actions. */
  const PANEL = `
             board reassign addTask
agent      team    403  403     403
agent      foreign 404  404     404
supervisor team    200  200     201
supervisor foreign 404  404     404
designer   team    404  404     404
designer   foreign 404  404     404
admin      team    200  200     201
admin      foreign 200  200     201
`;

  it('answers each role and team as the table says', async () => {
    const users: Record<string, TestUser> = {
      agent: env.users.alice,
      supervisor: env.users.sam,
      designer: env.users.dana,
      admin: env.users.admin,
    };
    const [header, ...rows] = PANEL.trim().split('\n');
    const ops = (header as string).trim().split(/\s+/);
    const cells = rows.flatMap((row) => {
      const [role, object, ...statuses] = row.trim().split(/\s+/);
      return ops.map((op, i) => ({
        role: role as string,
        object: object as string,
        op,
        expected: Number(statuses[i]),
      }));
    });
    const results = await inBatches(cells, 6, async (cell) => {
      const caller = users[cell.role] as TestUser;
      const team = cell.object === 'team' ? `${env.prefix}-sales` : `${env.prefix}-ops`;
      const work = await startWork(env, cell.object === 'team' ? types.sales : types.ops, `panel-${cell.op}`);
      const res =
        cell.op === 'board'
          ? await env.http(caller, 'GET', `/api/teams/${team}/board`)
          : cell.op === 'reassign'
            ? await env.http(caller, 'POST', `/api/teams/${team}/reassign`, {
                taskIds: [work.taskId],
                assignee: cell.object === 'team' ? env.users.bob.id : oscar.id,
              })
            : await env.http(caller, 'POST', `/api/cases/${work.caseId}/tasks`, {
                title: 'Extra call',
                action: 'call',
                team,
              });
      return { ...cell, actual: res.status, body: res.status >= 300 ? res.body : undefined };
    });
    expect(results.filter((r) => r.actual !== r.expected)).toEqual([]);
  });
});
