/** Helpers for tests that need small case types and extra users and teams (created through the API). */
import type { CaseTypeDefinition } from '../../engine/types';
import { scoped, type TestEnv, type TestUser } from './env';

/**
 * A two-step case type for `team`: `work` (a dated call with a small form; outcome `done` continues to
 * `wrap`, outcome `close` ends the case) then `wrap`.
 */
export function workDefinition(prefix: string, team: string): CaseTypeDefinition {
  return scoped(
    {
      dslVersion: '1',
      id: `work-${team}`,
      version: '1.0.0',
      name: `Work for ${team}`,
      title: 'Work {{data.n}}',
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
          assign: { team },
          due: 'P1D',
          form: {
            type: 'object',
            properties: { note: { type: 'string', maxLength: 100 } },
            additionalProperties: false,
          },
          outcomes: { done: { next: 'wrap' }, close: { status: 'DONE', end: true } },
        },
        wrap: {
          type: 'human',
          action: 'task',
          title: 'Wrap up {{data.n}}',
          assign: { team },
          outcomes: { done: { status: 'DONE', end: true } },
        },
      },
    },
    prefix,
  );
}

/** Creates a user (as admin) and a token for them, through the API. */
export async function createUser(
  env: TestEnv,
  name: string,
  role: string,
  teams: string[] = [],
): Promise<TestUser> {
  const id = `${env.prefix}-${name}`;
  const created = await env.http(env.users.admin, 'POST', '/api/users', {
    id,
    name,
    email: `${name}.${env.prefix}@example.com`,
    role,
  });
  if (created.status !== 201)
    throw new Error(`creating ${id}: ${created.status} ${JSON.stringify(created.body)}`);
  for (const team of teams) {
    const added = await env.http(env.users.admin, 'PUT', `/api/teams/${team}/members/${id}`);
    if (added.status !== 204) throw new Error(`adding ${id} to ${team}: ${added.status}`);
  }
  const token = await env.http(env.users.admin, 'POST', '/api/tokens', { name: 'test', userId: id });
  if (token.status !== 201) throw new Error(`token for ${id}: ${token.status}`);
  return { id, token: token.body.token as string };
}

/** Creates a team (as admin) through the API. */
export async function createTeam(env: TestEnv, name: string, supervisorId?: string): Promise<string> {
  const id = `${env.prefix}-${name}`;
  const res = await env.http(env.users.admin, 'POST', '/api/teams', { id, name, supervisorId });
  if (res.status !== 201) throw new Error(`creating team ${id}: ${res.status} ${JSON.stringify(res.body)}`);
  return id;
}

/** Starts a case as admin and returns the id of its first task. */
export async function startWork(
  env: TestEnv,
  caseType: string,
  n: string | number,
): Promise<{ caseId: string; taskId: string }> {
  const res = await env.http(env.users.admin, 'POST', '/api/cases', { caseType, data: { n: String(n) } });
  if (res.status !== 201) throw new Error(`starting ${caseType}: ${res.status} ${JSON.stringify(res.body)}`);
  return { caseId: res.body.id as string, taskId: res.body.tasks[0].id as string };
}

/** Performs an action and fails loudly when it does not succeed (for setting up state). */
export async function must(env: TestEnv, user: TestUser, method: string, url: string, body?: unknown) {
  const res = await env.http(user, method, url, body);
  if (res.status >= 300)
    throw new Error(`${method} ${url} as ${user.id}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Runs `fn` over items, `limit` at a time. */
export async function inBatches<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T);
      }
    }),
  );
  return out;
}
