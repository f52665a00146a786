import { scoped, shippedDefinition, startTestEnv, eventually, type TestEnv } from './support/env';

let env: TestEnv;
let caseType: string;

beforeAll(async () => {
  env = await startTestEnv();
  caseType = await env.publish(scoped(shippedDefinition('opportunity'), env.prefix));
});

afterAll(async () => {
  await env?.stop();
});

async function startCase(amount = 12500) {
  const res = await env.http(env.users.alice, 'POST', '/api/cases', {
    caseType,
    entityId: `${env.prefix}-acme`,
    data: { subject: 'Forklift fleet', amount, currency: 'EUR' },
  });
  expect(res.status).toBe(201);
  return res.body;
}

async function openTaskOf(caseId: string, user = env.users.alice) {
  const inbox = await env.http(user, 'GET', '/api/inbox');
  expect(inbox.status).toBe(200);
  return inbox.body.items.find((t: { caseId: string }) => t.caseId === caseId);
}

async function claimAndComplete(caseId: string, outcome: string, expectedStep: string) {
  const task = await openTaskOf(caseId);
  expect(task).toBeDefined();
  expect(task.step).toBe(expectedStep);
  const claimed = await env.http(env.users.alice, 'POST', `/api/tasks/${task.id}/claim`, {});
  expect(claimed.status).toBe(200);
  expect(claimed.body.assignee).toBe(env.users.alice.id);
  const done = await env.http(env.users.alice, 'POST', `/api/tasks/${task.id}/complete`, { outcome });
  expect(done.status).toBe(200);
  expect(done.body.status).toBe('completed');
  return task;
}

describe('a sales opportunity through HTTP', () => {
  it('starts, moves through its tasks to WON and emails the owner', async () => {
    const started = await startCase();
    expect(started.status).toBe('IDENTIFYING');
    expect(started.title).toBe(`ACME ${env.prefix}: Forklift fleet`);
    expect(started.tasks).toHaveLength(1);
    expect(started.tasks[0].candidateTeams).toEqual([`${env.prefix}-sales`]);

    // The first task is in the inbox of every sales agent, unclaimed.
    const inBobsInbox = await openTaskOf(started.id, env.users.bob);
    expect(inBobsInbox).toMatchObject({
      step: 'identify-needs',
      assignee: null,
      entityName: `ACME ${env.prefix}`,
    });
    expect(inBobsInbox.case).toMatchObject({ title: started.title, status: 'IDENTIFYING' });

    await claimAndComplete(started.id, 'interested', 'identify-needs');
    // The projection is written before the update returns: the next read sees the new status and task.
    const presenting = await env.http(env.users.alice, 'GET', `/api/cases/${started.id}`);
    expect(presenting.body.status).toBe('PRESENTING');
    expect(presenting.body.tasks.map((t: { step: string; status: string }) => [t.step, t.status])).toEqual([
      ['identify-needs', 'completed'],
      ['present', 'open'],
    ]);

    await claimAndComplete(started.id, 'presented', 'present');
    await claimAndComplete(started.id, 'won', 'decide');

    const won = await env.http(env.users.alice, 'GET', `/api/cases/${started.id}`);
    expect(won.body).toMatchObject({
      status: 'WON',
      statusCategory: 'won',
      statusName: 'Won',
      probability: 100,
    });
    expect(won.body.endedAt).not.toBeNull();
    expect(won.body.timeline.map((e: { kind: string }) => e.kind)).toContain('status.changed');

    const mail = await env.sink.waitFor((m) => m.subject.includes(started.title), 15_000);
    expect(mail.subject).toBe(`Opportunity won: ${started.title}`);
    expect(mail.to).toEqual([`alice.${env.prefix}@example.com`]);
    expect(mail.cc).toEqual([`sam.${env.prefix}@example.com`]);
    expect(mail.text).toContain('€12,500.00');
    expect(mail.html).toContain(`<strong>${started.title}</strong>`);

    const outbox = await eventually(async () => {
      const rows = await env.db.query<{ state: string; deliveries: number }>(
        'SELECT state, deliveries FROM email_outbox WHERE case_id = $1',
        [started.id],
      );
      return rows[0]?.state === 'sent' ? rows : undefined;
    });
    expect(outbox).toEqual([{ state: 'sent', deliveries: 1 }]);

    const devMail = await env.http(env.users.admin, 'GET', '/dev/mail');
    expect(devMail.body.messages.some((m: { messageId: string }) => m.messageId === mail.messageId)).toBe(
      true,
    );
  });

  it('is visible to the owner and their team, and hidden (404) from other teams', async () => {
    const started = await startCase();
    expect((await env.http(env.users.bob, 'GET', `/api/cases/${started.id}`)).status).toBe(200);
    const foreign = await env.http(env.users.carol, 'GET', `/api/cases/${started.id}`);
    expect(foreign.status).toBe(404);
    expect(foreign.type).toContain('application/problem+json');
    expect(await openTaskOf(started.id, env.users.carol)).toBeUndefined();
    const foreignTask = await env.http(
      env.users.carol,
      'POST',
      `/api/tasks/${started.tasks[0].id}/claim`,
      {},
    );
    expect(foreignTask.status).toBe(404);
  });
});

describe('bad input gets problem details', () => {
  it('rejects a request without a token', async () => {
    const res = await env.http(null, 'GET', '/api/inbox');
    expect(res.status).toBe(401);
    expect(res.body.type).toMatch(/\/problems\/unauthorized$/);
  });

  it('rejects malformed JSON with 400', async () => {
    const res = await env.http(env.users.alice, 'POST', '/api/cases', '{"caseType": ');
    expect(res.status).toBe(400);
    expect(res.type).toContain('application/problem+json');
    expect(res.body.errors).toEqual([{ pointer: '/body', message: 'malformed JSON' }]);
  });

  it('points at each invalid field of a case', async () => {
    const res = await env.http(env.users.alice, 'POST', '/api/cases', {
      caseType,
      data: { subject: 'x', amount: -5, colour: 'red' },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual(
      expect.arrayContaining([
        { pointer: '/body/data/amount', message: 'must be >= 0' },
        { pointer: '/body/data/colour', message: 'is not an allowed property' },
      ]),
    );
  });

  it('rejects an unknown case type with a pointer', async () => {
    const res = await env.http(env.users.alice, 'POST', '/api/cases', { caseType: 'no-such-type' });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ pointer: '/body/caseType', message: 'is not a published case type' }]);
  });

  it('answers 404 for an unknown task', async () => {
    const res = await env.http(env.users.alice, 'POST', '/api/tasks/case-nope-T1/complete', {
      outcome: 'won',
    });
    expect(res.status).toBe(404);
    expect(res.body.status).toBe(404);
  });

  it("answers 409 with the task's state when completing someone else's claimed task", async () => {
    const started = await startCase();
    const taskId = started.tasks[0].id;
    expect((await env.http(env.users.alice, 'POST', `/api/tasks/${taskId}/claim`, {})).status).toBe(200);
    const res = await env.http(env.users.bob, 'POST', `/api/tasks/${taskId}/complete`, {
      outcome: 'interested',
    });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('TASK_CLAIMED_BY_OTHER');
    expect(res.body.task).toMatchObject({ id: taskId, assignee: env.users.alice.id, status: 'open' });
  });

  it('rejects an outcome the step does not have', async () => {
    const started = await startCase();
    const res = await env.http(env.users.alice, 'POST', `/api/tasks/${started.tasks[0].id}/complete`, {
      outcome: 'maybe',
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('UNKNOWN_OUTCOME');
    expect(res.body.detail).toContain('interested');
  });

  it('validates form data against the step form', async () => {
    const started = await startCase();
    const res = await env.http(env.users.alice, 'POST', `/api/tasks/${started.tasks[0].id}/complete`, {
      outcome: 'interested',
      data: { needs: 42 },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ pointer: '/body/data/needs', message: 'must be string' }]);
  });
});

describe('POST /api/cases with an Idempotency-Key', () => {
  const body = () => ({
    caseType,
    entityId: `${env.prefix}-acme`,
    data: { subject: 'Retried start', amount: 700, currency: 'EUR' },
  });
  const casesOf = async (id: string) =>
    env.db.query<{ id: string }>('SELECT id FROM cases WHERE id = $1', [id]);
  const startedWithSubject = async () =>
    env.db.query<{ id: string }>(
      `SELECT id FROM cases WHERE data->>'subject' = 'Retried start' AND owner_id = $1`,
      [env.users.alice.id],
    );

  it('a retry with the same key answers the first case and starts no second one', async () => {
    const key = `start-${env.prefix}-1`;
    const first = await env.http(env.users.alice, 'POST', '/api/cases', body(), { 'idempotency-key': key });
    expect(first.status).toBe(201);
    const again = await env.http(env.users.alice, 'POST', '/api/cases', body(), { 'idempotency-key': key });
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers.get('location')).toBe(`/api/cases/${first.body.id}`);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await casesOf(first.body.id)).toHaveLength(1);
    expect(await startedWithSubject()).toHaveLength(1);
  });

  it('concurrent duplicates start one case, and every answer names it', async () => {
    const key = `start-${env.prefix}-2`;
    const answers = await Promise.all(
      Array.from({ length: 5 }, () =>
        env.http(
          env.users.alice,
          'POST',
          '/api/cases',
          { ...body(), title: 'Concurrent' },
          { 'idempotency-key': key },
        ),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201, 201]);
    const ids = new Set(answers.map((a) => a.body.id));
    expect(ids.size).toBe(1);
    const rows = await env.db.query(`SELECT id FROM cases WHERE title = 'Concurrent' AND owner_id = $1`, [
      env.users.alice.id,
    ]);
    expect(rows).toHaveLength(1);
  });

  it('the same key on a different request answers 422 and starts nothing', async () => {
    const key = `start-${env.prefix}-3`;
    const first = await env.http(
      env.users.alice,
      'POST',
      '/api/cases',
      { ...body(), title: 'Keyed A' },
      { 'idempotency-key': key },
    );
    expect(first.status).toBe(201);
    const other = await env.http(
      env.users.alice,
      'POST',
      '/api/cases',
      { ...body(), title: 'Keyed B' },
      { 'idempotency-key': key },
    );
    expect(other.status).toBe(422);
    expect(other.body.type).toMatch(/idempotency-key-reused$/);
    expect(await env.db.query(`SELECT id FROM cases WHERE title = 'Keyed B'`)).toHaveLength(0);
  });

  it('keys are per user: another user with the same key gets a case of their own', async () => {
    const key = `start-${env.prefix}-4`;
    const a = await env.http(
      env.users.alice,
      'POST',
      '/api/cases',
      { ...body(), title: 'Per user' },
      { 'idempotency-key': key },
    );
    const b = await env.http(
      env.users.bob,
      'POST',
      '/api/cases',
      { ...body(), title: 'Per user' },
      { 'idempotency-key': key },
    );
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(b.body.id).not.toBe(a.body.id);
  });
});

describe('health', () => {
  it('reports Temporal, Postgres and SMTP up', async () => {
    const res = await env.http(null, 'GET', '/health');
    expect(res.status).toBe(200);
    expect(
      Object.fromEntries(
        Object.entries(res.body.checks).map(([k, v]) => [k, (v as { status: string }).status]),
      ),
    ).toEqual({
      postgres: 'up',
      temporal: 'up',
      smtp: 'up',
    });
  });
});
