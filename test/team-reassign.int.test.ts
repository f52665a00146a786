/**
 * Issue 15: a team's bulk reassign hands tasks only to an agent or supervisor who is a member of that team;
 * anyone else (another team's agent, a designer) is a 400 at /body/assignee before any task changes, instead
 * of a task that vanishes from the board.
 */
import { startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv({ worker: false });
});

afterAll(async () => {
  await env?.stop();
});

describe('POST /api/teams/{id}/reassign', () => {
  it.each([
    ['an agent of another team', 'carol'],
    ['a designer', 'dana'],
    ['an administrator outside the team', 'admin'],
  ] as const)('refuses %s as the assignee', async (_what, who) => {
    const res = await env.http(env.users.sam, 'POST', `/api/teams/${env.prefix}-sales/reassign`, {
      taskIds: [`${env.prefix}-no-such-task`],
      assignee: env.users[who].id,
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ pointer: '/body/assignee' })]);
  });

  it('accepts a member of the team (the unknown task is then reported per task)', async () => {
    const res = await env.http(env.users.sam, 'POST', `/api/teams/${env.prefix}-sales/reassign`, {
      taskIds: [`${env.prefix}-no-such-task`],
      assignee: env.users.bob.id,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ succeeded: 0, failed: 1 });
  });
});
