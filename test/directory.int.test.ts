/**
 * Users and teams named in assignments: publishing refuses names the directory does not have, and a task
 * whose assignee or team is gone at run time goes to the supervisors instead of vanishing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { latestDefinition } from '../db/definitions';
import type { CaseTypeDefinition } from '../engine/types';
import { InvalidDefinitionsError, publishDefinitions } from '../lib/publish';
import { eventually, startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;
const WAIT = 20_000;

beforeAll(async () => {
  env = await startTestEnv();
});

afterAll(async () => {
  await env?.stop();
});

/** A case type with one task for `team`, escalated after a day to `reassignTo`. */
function definition(id: string, team: string, reassignTo: string): CaseTypeDefinition {
  return {
    dslVersion: '1',
    id,
    version: '1',
    name: 'Directory',
    statuses: [
      { code: 'OPEN', name: 'Open', category: 'open' },
      { code: 'DONE', name: 'Done', category: 'closed' },
    ],
    initialStatus: 'OPEN',
    start: 'work',
    steps: {
      work: {
        type: 'human',
        action: 'task',
        title: 'Work',
        assign: { team },
        escalations: [{ after: 'P1D', reassign: { user: reassignTo } }],
        outcomes: { done: { status: 'DONE', end: true } },
      },
    },
  };
}

function folderWith(def: CaseTypeDefinition): { dir: string; file: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'directory-'));
  const file = path.join(dir, `${def.id}.json`);
  fs.writeFileSync(file, JSON.stringify(def, null, 2));
  return { dir, file };
}

describe('publishing', () => {
  it('refuses a definition naming a team and a user that do not exist; nothing is published', async () => {
    const id = `${env.prefix}-dir-a`;
    const { dir, file } = folderWith(definition(id, `${env.prefix}-ghosts`, `${env.prefix}-nobody`));
    const failure = await publishDefinitions(env.db, dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(InvalidDefinitionsError);
    const lines = (failure as Error).message.split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          new RegExp(`^${file}#/steps/work/assign/team: unknown team "${env.prefix}-ghosts" \\(`),
        ),
        expect.stringMatching(
          new RegExp(
            `^${file}#/steps/work/escalations/0/reassign/user: unknown user "${env.prefix}-nobody" \\(`,
          ),
        ),
      ]),
    );
    expect(await latestDefinition(env.db, id)).toBeUndefined();
  });

  it('publishes it once they exist, and a later restart does not re-check a published version', async () => {
    const id = `${env.prefix}-dir-b`;
    const team = `${env.prefix}-night`;
    await env.db.query(`INSERT INTO teams (id, name) VALUES ($1, 'Night shift')`, [team]);
    const { dir } = folderWith(definition(id, team, env.users.alice.id));
    const [first] = await publishDefinitions(env.db, dir);
    expect(first).toMatchObject({ created: true, stored: { caseType: id, version: 1 } });
    // The team is removed afterwards: publishing the same content again (a restart) still succeeds.
    await env.db.query('DELETE FROM teams WHERE id = $1', [team]);
    const [again] = await publishDefinitions(env.db, dir);
    expect(again).toMatchObject({ created: false, stored: { caseType: id, version: 1 } });
  });
});

describe('at run time', () => {
  it('a task for a team that no longer exists goes to the supervisors, and the timeline says why', async () => {
    const ghost = `${env.prefix}-gone`;
    // Published when the team existed (this bypasses the publish check, as a later deletion would).
    const caseType = await env.publish(definition(`${env.prefix}-dir-c`, ghost, env.users.alice.id));
    const started = await env.http(env.users.admin, 'POST', '/api/cases', { caseType, data: {} });
    expect(started.status).toBe(201);
    const caseId = started.body.id as string;
    const entry = await eventually(
      async () => {
        const view = await env.http(env.users.admin, 'GET', `/api/cases/${caseId}`);
        return (view.body.timeline as { kind: string; taskId: string; detail: unknown }[]).find(
          (e) => e.kind === 'task.unassignable',
        );
      },
      WAIT,
      'task.unassignable in the timeline',
    );
    expect(entry.detail).toEqual({ missing: [`team:${ghost}`], candidateRoles: ['supervisor'] });
    // Sam supervises no team of this case, yet sees the task in the inbox and can take it.
    const inbox = await eventually(
      async () => {
        const res = await env.http(env.users.sam, 'GET', '/api/inbox');
        return (res.body.items as { id: string }[]).find((t) => t.id === entry.taskId);
      },
      WAIT,
      "the task in the supervisor's inbox",
    );
    expect(inbox).toBeDefined();
    const history = await env.http(env.users.sam, 'GET', `/api/tasks/${entry.taskId}/history`);
    expect(JSON.stringify(history.body)).toContain(
      `Not in the directory: team:${ghost}; offered to supervisor`,
    );
    const claim = await env.http(env.users.sam, 'POST', `/api/tasks/${entry.taskId}/claim`);
    expect(claim.status).toBe(200);
  });
});
