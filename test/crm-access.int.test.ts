/**
 * Record permissions of the CRM (docs/permissions.md): the defects of issue 15 first, then every CRM route x
 * role (x relation to the record, for the routes that name one) as one table of expected statuses. Each denied
 * write is also checked in the database: the row is as it was.
 */
import { PROBLEM_BASE } from '../api/problem';
import { seedEntity, upload } from './support/crm';
import { startTestEnv, type HttpResult, type TestEnv, type TestUser } from './support/env';
import { createTeam, createUser, inBatches, must, startWork, workDefinition } from './support/matrix';

let env: TestEnv;
let olga: TestUser;
let oscar: TestUser;
const types = { sales: '', ops: '' };
let seq = 0;

beforeAll(async () => {
  env = await startTestEnv();
  olga = await createUser(env, 'olga', 'supervisor');
  const ops = await createTeam(env, 'ops', olga.id);
  oscar = await createUser(env, 'oscar', 'agent', [ops]);
  types.sales = await env.publish(workDefinition(env.prefix, 'sales'));
  types.ops = await env.publish(workDefinition(env.prefix, 'ops'));
});

afterAll(async () => {
  await env?.stop();
});

/** A fresh entity looked after by `agentId`, with one contact; returns both ids. */
async function account(agentId: string | null): Promise<{ entityId: string; contactId: string }> {
  const n = ++seq;
  const entityId = `${env.prefix}-ent-${n}`;
  await seedEntity(env, { id: entityId, code: `${env.prefix}-K${n}`, name: `Account ${n}`, agentId });
  const contactId = `${env.prefix}-con-${n}`;
  await env.db.query(`INSERT INTO contacts (id, entity_id, name, email) VALUES ($1, $2, $3, $4)`, [
    contactId,
    entityId,
    `Person ${n}`,
    `person${n}.${env.prefix}@example.com`,
  ]);
  return { entityId, contactId };
}

/** A sent email of `caseId` (a fixture row, resendable: it carries its request). */
async function sentEmail(caseId: string): Promise<string> {
  const n = ++seq;
  const [row] = await env.db.query<{ id: string }>(
    `INSERT INTO email_outbox (idempotency_key, case_id, rule_id, event_key, template, message_id, state, request,
       recipients, subject, sent_at)
     VALUES ($1, $2, 'rule', 'ev', 'agent-digest', $3, 'sent', $4, $5, 'Hello', now()) RETURNING id::text`,
    [
      `${env.prefix}/mail/${n}`,
      caseId,
      `<${env.prefix}-${n}@crm.test>`,
      JSON.stringify({
        kind: 'rule',
        caseId,
        ruleId: 'rule',
        eventKey: 'ev',
        template: 'agent-digest',
        // Recipient references, as a rule's request stores them (an address is one).
        to: ['x@example.com'],
      }),
      JSON.stringify({ to: [{ address: 'x@example.com' }] }),
    ],
  );
  return (row as { id: string }).id;
}

const agentOf = async (entityId: string) =>
  (
    await env.db.query<{ agent_id: string | null }>('SELECT agent_id FROM entities WHERE id = $1', [entityId])
  )[0]?.agent_id;
const exists = async (table: string, id: string) =>
  (await env.db.query(`SELECT 1 FROM ${table} WHERE id = $1`, [id])).length === 1;
const outboxRows = async (caseId: string) =>
  (
    await env.db.query<{ n: number }>('SELECT count(*)::int AS n FROM email_outbox WHERE case_id = $1', [
      caseId,
    ])
  )[0]?.n;

function expectProblem(res: HttpResult, status: number): void {
  expect({ status: res.status, type: res.type.includes('application/problem+json') }).toEqual({
    status,
    type: true,
  });
  expect(res.body.type).toBe(`${PROBLEM_BASE}${status === 403 ? 'forbidden' : 'not-found'}`);
}

describe('the defects of issue 15', () => {
  it('refuses a support agent reassigning a sales account to herself (403), and the account keeps its agent', async () => {
    const { entityId } = await account(env.users.alice.id);
    const res = await env.http(env.users.carol, 'PATCH', `/api/entities/${entityId}`, {
      agentId: env.users.carol.id,
    });
    expectProblem(res, 403);
    expect(await agentOf(entityId)).toBe(env.users.alice.id);
  });

  it('refuses an agent of another team deleting a sales contact (403), and the contact stays', async () => {
    const { contactId } = await account(env.users.alice.id);
    const res = await env.http(oscar, 'DELETE', `/api/contacts/${contactId}`);
    expectProblem(res, 403);
    expect(await exists('contacts', contactId)).toBe(true);
  });

  it('shows a designer no entity or contact (personal data) and lets her start no case', async () => {
    const { entityId, contactId } = await account(env.users.alice.id);
    for (const url of [
      '/api/entities',
      `/api/entities/${entityId}`,
      `/api/entities/${entityId}/contacts`,
      '/api/contacts?q=Person',
      `/api/contacts/${contactId}`,
    ])
      expectProblem(await env.http(env.users.dana, 'GET', url), 403);
    const before = await env.db.query('SELECT id FROM cases WHERE owner_id = $1', [env.users.dana.id]);
    const started = await env.http(env.users.dana, 'POST', '/api/cases', {
      caseType: types.sales,
      data: { n: 'designer' },
    });
    expectProblem(started, 403);
    const after = await env.db.query('SELECT id FROM cases WHERE owner_id = $1', [env.users.dana.id]);
    expect(after).toEqual(before);
  });

  it("does not let the supervisor of one team resend another team's email (404), and nothing is queued", async () => {
    const { caseId } = await startWork(env, types.sales, 'mail');
    const emailId = await sentEmail(caseId);
    const res = await env.http(olga, 'POST', `/api/emails/${emailId}/resend`, {});
    expectProblem(res, 404);
    expect(await outboxRows(caseId)).toBe(1);
    // The team's own supervisor may.
    const own = await env.http(env.users.sam, 'POST', `/api/emails/${emailId}/resend`, {});
    expect(own.status).toBe(202);
    expect(await outboxRows(caseId)).toBe(2);
  });

  it.each([
    ['an agent of another team', () => env.users.carol],
    ['a designer', () => env.users.dana],
  ])(
    "refuses a team's bulk reassign to %s (400 at /body/assignee), and the task keeps its assignee",
    async (_, who) => {
      const { taskId } = await startWork(env, types.sales, 'bulk');
      await must(env, env.users.admin, 'POST', `/api/tasks/${taskId}/assign`, { assignee: env.users.bob.id });
      const res = await env.http(env.users.sam, 'POST', `/api/teams/${env.prefix}-sales/reassign`, {
        taskIds: [taskId],
        assignee: who().id,
      });
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([
        { pointer: '/body/assignee', message: expect.stringMatching(/member of team|agent or a supervisor/) },
      ]);
      const [task] = await env.db.query<{ assignee: string }>('SELECT assignee FROM tasks WHERE id = $1', [
        taskId,
      ]);
      expect(task?.assignee).toBe(env.users.bob.id);
    },
  );
});

type Role = 'agent' | 'supervisor' | 'designer' | 'admin';
type Relation = 'own' | 'team' | 'other';
const ROLES: Role[] = ['agent', 'supervisor', 'designer', 'admin'];
const RELATIONS: Relation[] = ['own', 'team', 'other'];
const callers = (): Record<Role, TestUser> => ({
  agent: env.users.alice,
  supervisor: env.users.sam,
  designer: env.users.dana,
  admin: env.users.admin,
});

/** `ok`: the policy lets the caller through (any answer but 401, 403, 404 or a 5xx); otherwise the status. */
type Expect = 'ok' | 200 | 403 | 404;

function parse(table: string): Map<string, Expect[]> {
  const rows = new Map<string, Expect[]>();
  for (const line of table.trim().split('\n')) {
    const [key, ...cells] = line.trim().split(/\s+/);
    rows.set(
      key as string,
      cells.map((c) => (c === 'ok' ? 'ok' : (Number(c) as Expect))),
    );
  }
  return rows;
}

function matches(expected: Expect, status: number): boolean {
  return expected === 'ok' ? ![401, 403, 404].includes(status) && status < 500 : status === expected;
}

/**
 * Record routes: per route, the cells of agent, supervisor, designer and admin, each for own / team / other
 * records (docs/permissions.md; entity relations: its agent is the caller, a member of the caller's or a
 * supervised team, or of another team; case relations: owned by the caller, holding a task of the caller's
 * team, another team's).
 */
const RECORDS = parse(`
entity.read         200 200 200   200 200 200   403 403 403   200 200 200
entity.cases        200 200 200   200 200 200   403 403 403   200 200 200
entity.timeline     200 200 200   200 200 200   403 403 403   200 200 200
entity.contacts     200 200 200   200 200 200   403 403 403   200 200 200
entity.edit         ok  ok  403   ok  ok  403   403 403 403   ok  ok  ok
entity.reassign     403 403 403   ok  ok  403   403 403 403   ok  ok  ok
entity.delete       403 403 403   ok  ok  403   403 403 403   ok  ok  ok
entity.addContact   ok  ok  403   ok  ok  403   403 403 403   ok  ok  ok
entity.vcard        ok  ok  403   ok  ok  403   403 403 403   ok  ok  ok
entity.activities   200 200 200   200 200 200   403 403 403   200 200 200
entity.logActivity  ok  ok  403   ok  ok  403   403 403 403   ok  ok  ok
entity.teamActivity ok  ok  403   ok  ok  403   403 403 403   ok  ok  ok
entity.doneActivity ok  ok  403   ok  ok  403   403 403 403   ok  ok  ok
entity.doneOwn      ok  ok  ok    ok  ok  ok    403 403 403   ok  ok  ok
contact.read        200 200 200   200 200 200   403 403 403   200 200 200
contact.edit        ok  ok  403   ok  ok  403   403 403 403   ok  ok  ok
contact.delete      ok  ok  403   ok  ok  403   403 403 403   ok  ok  ok
case.read           200 200 404   200 200 404   200 404 404   200 200 200
case.edit           ok  ok  404   ok  ok  404   403 403 403   ok  ok  ok
case.status         ok  ok  404   ok  ok  404   403 403 403   ok  ok  ok
case.message        ok  ok  404   ok  ok  404   403 403 403   ok  ok  ok
case.cancel         403 403 403   ok  ok  404   403 403 403   ok  ok  ok
case.attachments    200 200 404   200 200 404   403 403 403   200 200 200
email.read          200 200 404   200 200 404   403 403 403   200 200 200
email.resend        403 403 403   ok  ok  404   403 403 403   ok  ok  ok
`);

/**
 * Routes without a record relation: agent, supervisor, designer, admin. `nope` ids do not exist: a role the
 * policy lets through gets 404, one it refuses gets 403 before the record is looked up.
 */
const ROUTES = parse(`
GET:/api/entities                                  ok  ok  403 ok
POST:/api/entities                                 ok  ok  403 ok
GET:/api/contacts?q=Person                         ok  ok  403 ok
POST:/api/cases                                    ok  ok  403 ok
GET:/api/emails                                    ok  ok  403 ok
POST:/api/segments/preview                         ok  ok  403 ok
GET:/api/segments                                  ok  ok  403 ok
POST:/api/segments                                 403 ok  403 ok
GET:/api/segments/nope                             404 404 403 404
PUT:/api/segments/nope                             403 ok  403 ok
DELETE:/api/segments/nope                          403 404 403 404
GET:/api/segments/nope/entities                    404 404 403 404
POST:/api/campaigns                                403 ok  403 ok
GET:/api/campaigns                                 ok  ok  403 ok
GET:/api/campaigns/nope                            404 404 403 404
PATCH:/api/campaigns/nope                          403 404 403 404
GET:/api/campaigns/nope/results                    404 404 403 404
GET:/api/campaigns/nope/targets                    404 404 403 404
POST:/api/campaigns/nope/targets                   403 404 403 404
POST:/api/campaigns/nope/start                     403 404 403 404
POST:/api/campaigns/nope/pause                     403 404 403 404
POST:/api/campaigns/nope/resume                    403 404 403 404
GET:/api/reports/forecast                          ok  ok  403 ok
GET:/api/reports/open-cases                        ok  ok  403 ok
POST:/api/cases/nope/amount-correction             403 ok  403 ok
POST:/api/imports                                  403 ok  403 ok
GET:/api/imports/nope                              403 404 403 404
GET:/api/imports/nope/rows                         403 404 403 404
POST:/api/imports/nope/resume                      403 404 403 404
POST:/api/integrations/erp/customers               403 403 403 ok
GET:/api/integrations/inbound-mailboxes            403 ok  403 ok
PUT:/api/integrations/inbound-mailboxes/x@y.test   403 403 403 ok
POST:/api/integrations/inbound-email               403 403 403 ok
GET:/api/exchange-rates                            ok  ok  ok  ok
PUT:/api/exchange-rates/EUR/USD/2026-01-01         403 403 403 ok
DELETE:/api/exchange-rates/EUR/USD/2026-01-01      403 403 403 404
GET:/api/quotas                                    ok  ok  403 ok
PUT:/api/quotas/2026-12/agents/nope                403 403 403 ok
DELETE:/api/quotas/2026-12/agents/nope             403 403 403 404
PUT:/api/quotas/2026-Q4/teams/nope                 403 403 403 ok
DELETE:/api/quotas/2026-Q4/teams/nope              403 403 403 404
GET:/api/reports/quotas?period=2026-Q4             ok  ok  403 ok
GET:/api/schemas/entity                            200 200 200 200
GET:/api/schemas/contact                           200 200 200 200
GET:/api/inbox/activities                          200 200 403 200
GET:/api/inbox/activities?team=nope                200 200 403 200
`);

const soon = () => new Date(Date.now() + 86_400_000).toISOString();

/**
 * Quotas of an agent, per role and relation (docs/permissions.md): the caller's own target, a colleague's (for a
 * supervisor a member of a team they supervise, for an agent a teammate), another team's agent's. A write the
 * policy lets through answers 201/400 (PUT) or 204 (DELETE); every cell writes its own period, and a DELETE cell's
 * quota is there before it runs.
 */
const QUOTAS = parse(`
quota.put           403 403 403   403 ok  403   403 403 403   ok  ok  ok
quota.delete        403 403 403   403 ok  403   403 403 403   ok  ok  ok 
quota.list          200 403 403   200 200 403   403 403 403   200 200 200
quota.report        200 403 403   200 200 403   403 403 403   200 200 200
`);

const VCARD = 'BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Card Person\r\nEMAIL:card@example.com\r\nEND:VCARD\r\n';

describe('CRM access matrix', () => {
  /** The agent of an entity the caller stands to as `relation`. */
  const entityAgent = (caller: TestUser, relation: Relation): string =>
    relation === 'own' ? caller.id : relation === 'team' ? env.users.bob.id : oscar.id;

  /** A case the caller stands to as `relation`: owned by them, a sales case (owned by the admin), an ops case. */
  async function caseFor(caller: TestUser, relation: Relation): Promise<string> {
    const type = relation === 'other' ? types.ops : types.sales;
    const body = relation === 'own' ? { ownerId: caller.id } : {};
    const started = await must(env, env.users.admin, 'POST', '/api/cases', {
      caseType: type,
      data: { n: `m${++seq}` },
      ...body,
    });
    return started.id as string;
  }

  /** Runs one record cell; answers the status and whether a denied write left the database as it was. */
  async function recordCell(route: string, caller: TestUser, relation: Relation): Promise<[number, boolean]> {
    const [kind, action] = route.split('.') as [string, string];
    if (kind === 'entity' || kind === 'contact') {
      const { entityId, contactId } = await account(entityAgent(caller, relation));
      // A scheduled activity to mark done: given to someone else (oscar), or to the caller.
      const activityId = `${entityId}-act`;
      if (action === 'doneActivity' || action === 'doneOwn')
        await env.db.query(
          `INSERT INTO entity_activities (id, entity_id, kind, status, at, scheduled_at, owner_id, created_by)
           VALUES ($1, $2, 'visit', 'scheduled', now() + interval '1 day', now() + interval '1 day', $3, $3)`,
          [activityId, entityId, action === 'doneOwn' ? caller.id : oscar.id],
        );
      const snapshot = async () =>
        JSON.stringify([
          await env.db.query('SELECT * FROM entities WHERE id = $1', [entityId]),
          await env.db.query('SELECT * FROM contacts WHERE entity_id = $1 ORDER BY id', [entityId]),
          await env.db.query('SELECT * FROM entity_activities WHERE entity_id = $1 ORDER BY id', [entityId]),
        ]);
      const before = await snapshot();
      const e = `/api/entities/${entityId}`;
      const c = `/api/contacts/${contactId}`;
      const target =
        entityAgent(caller, relation) === env.users.bob.id ? env.users.alice.id : env.users.bob.id;
      const res =
        route === 'entity.vcard'
          ? await upload(env, caller, `${e}/contacts/vcard`, VCARD, 'text/vcard')
          : await env.http(
              caller,
              ...((
                {
                  'entity.read': ['GET', e],
                  'entity.cases': ['GET', `${e}/cases`],
                  'entity.timeline': ['GET', `${e}/timeline`],
                  'entity.contacts': ['GET', `${e}/contacts`],
                  'entity.edit': ['PATCH', e, { city: 'Changed' }],
                  'entity.reassign': ['PATCH', e, { agentId: target }],
                  'entity.delete': ['DELETE', e],
                  'entity.addContact': ['POST', `${e}/contacts`, { name: 'Added' }],
                  'entity.activities': ['GET', `${e}/activities`],
                  'entity.logActivity': ['POST', `${e}/activities`, { kind: 'call', status: 'done' }],
                  // Sales: alice's team, a team sam supervises.
                  'entity.teamActivity': [
                    'POST',
                    `${e}/activities`,
                    {
                      kind: 'visit',
                      status: 'scheduled',
                      scheduledAt: soon(),
                      ownerTeam: `${env.prefix}-sales`,
                    },
                  ],
                  'entity.doneActivity': ['PATCH', `${e}/activities/${activityId}`, { status: 'done' }],
                  'entity.doneOwn': ['PATCH', `${e}/activities/${activityId}`, { status: 'done' }],
                  'contact.read': ['GET', c],
                  'contact.edit': ['PATCH', c, { jobTitle: 'Changed' }],
                  'contact.delete': ['DELETE', c],
                } as Record<string, [string, string, unknown?]>
              )[route] as [string, string, unknown?]),
            );
      const untouched = res.status < 300 || (await snapshot()) === before;
      return [res.status, untouched];
    }
    const caseId = await caseFor(caller, relation);
    if (kind === 'email') {
      const emailId = await sentEmail(caseId);
      const res =
        action === 'read'
          ? await env.http(caller, 'GET', `/api/emails/${emailId}`)
          : await env.http(caller, 'POST', `/api/emails/${emailId}/resend`, {});
      return [res.status, res.status < 300 || (await outboxRows(caseId)) === 1];
    }
    const snapshot = async () =>
      JSON.stringify(await env.db.query('SELECT status, data, version FROM cases WHERE id = $1', [caseId]));
    const before = await snapshot();
    const u = `/api/cases/${caseId}`;
    const [method, url, body] = (
      {
        read: ['GET', u],
        edit: ['PATCH', u, { data: { n: 'changed' } }],
        status: ['POST', `${u}/status`, { status: 'DONE' }],
        message: ['POST', `${u}/messages`, { name: 'ping' }],
        cancel: ['POST', `${u}/cancel`, { reason: 'matrix' }],
        attachments: ['GET', `${u}/attachments`],
      } as Record<string, [string, string, unknown?]>
    )[action] as [string, string, unknown?];
    const res = await env.http(caller, method, url, body);
    return [res.status, res.status < 300 || (await snapshot()) === before];
  }

  it('answers every record route, role and relation as docs/permissions.md says, and no denied write lands', async () => {
    const cells = [...RECORDS].flatMap(([route, expected]) =>
      ROLES.flatMap((role, r) =>
        RELATIONS.map((relation, i) => ({ route, role, relation, expected: expected[r * 3 + i] as Expect })),
      ),
    );
    expect(cells).toHaveLength(RECORDS.size * 12);
    const results = await inBatches(cells, 6, async (cell) => {
      const [status, untouched] = await recordCell(cell.route, callers()[cell.role], cell.relation);
      return { ...cell, status, untouched };
    });
    expect(results.filter((r) => !matches(r.expected, r.status) || !r.untouched)).toEqual([]);
  });

  it('answers every quota route, role and relation as docs/permissions.md says, and no denied write lands', async () => {
    /** The agent whose quota the caller stands to as `relation`. */
    const subject = (caller: TestUser, relation: Relation): string =>
      relation === 'own'
        ? caller.id
        : relation === 'team'
          ? caller === env.users.sam
            ? env.users.alice.id
            : env.users.bob.id
          : oscar.id;
    const cells = [...QUOTAS].flatMap(([route, expected]) =>
      ROLES.flatMap((role, r) =>
        RELATIONS.map((relation, i) => ({ route, role, relation, expected: expected[r * 3 + i] as Expect })),
      ),
    );
    const results = await inBatches(cells, 6, async (cell) => {
      const caller = callers()[cell.role];
      const agentId = subject(caller, cell.relation);
      const period = `${2100 + cells.indexOf(cell)}-12`;
      if (cell.route === 'quota.delete')
        await env.db.query(
          `INSERT INTO sales_quotas (period, agent_id, amount, currency) VALUES ($1, $2, 100, 'EUR')`,
          [period, agentId],
        );
      const snapshot = async () =>
        JSON.stringify(
          await env.db.query('SELECT * FROM sales_quotas WHERE agent_id = $1 AND period = $2', [
            agentId,
            period,
          ]),
        );
      const before = await snapshot();
      const [method, url, body] = (
        {
          'quota.put': ['PUT', `/api/quotas/${period}/agents/${agentId}`, { amount: 10, currency: 'EUR' }],
          'quota.delete': ['DELETE', `/api/quotas/${period}/agents/${agentId}`],
          'quota.list': ['GET', `/api/quotas?agentId=${agentId}`],
          'quota.report': ['GET', `/api/reports/quotas?period=${period}&agentId=${agentId}`],
        } as Record<string, [string, string, unknown?]>
      )[cell.route] as [string, string, unknown?];
      const res = await env.http(caller, method, url, body);
      const problem = res.status === 403 ? res.body.type === `${PROBLEM_BASE}forbidden` : true;
      return {
        ...cell,
        status: res.status,
        problem,
        untouched: res.status < 300 || (await snapshot()) === before,
      };
    });
    expect(results.filter((r) => !matches(r.expected, r.status) || !r.problem || !r.untouched)).toEqual([]);
  });

  it('answers every other CRM route per role, a denied one with a 403 problem before anything is read', async () => {
    const cells = [...ROUTES].flatMap(([route, expected]) =>
      ROLES.map((role, r) => ({ route, role, expected: expected[r] as Expect })),
    );
    const results = await inBatches(cells, 6, async (cell) => {
      const [method, url] = cell.route.split(/:(.*)/s) as [string, string];
      const body =
        method === 'POST' && url === '/api/cases' ? { caseType: types.sales, data: { n: 'r' } } : {};
      const res = await env.http(callers()[cell.role], method, url, method === 'GET' ? undefined : body);
      const problem = res.status === 403 ? res.body.type === `${PROBLEM_BASE}forbidden` : true;
      return { ...cell, status: res.status, problem };
    });
    expect(results.filter((r) => !matches(r.expected, r.status) || !r.problem)).toEqual([]);
  });
});

describe('reassigning, creating for someone and deleting an entity', () => {
  it("gives an entity only to an active agent or supervisor (400), within the supervisor's teams (403)", async () => {
    const { entityId } = await account(env.users.bob.id);
    const toDesigner = await env.http(env.users.sam, 'PATCH', `/api/entities/${entityId}`, {
      agentId: env.users.dana.id,
    });
    expect(toDesigner.status).toBe(400);
    expect(toDesigner.body.errors).toEqual([
      { pointer: '/body/agentId', message: 'must be an agent or a supervisor' },
    ]);
    const outside = await env.http(env.users.sam, 'PATCH', `/api/entities/${entityId}`, {
      agentId: oscar.id,
    });
    expectProblem(outside, 403);
    expect(await agentOf(entityId)).toBe(env.users.bob.id);
    const within = await env.http(env.users.sam, 'PATCH', `/api/entities/${entityId}`, {
      agentId: env.users.carol.id,
    });
    expect(within.status).toBe(200);
    expect(within.body.changed).toEqual(['agentId']);
    expect(await agentOf(entityId)).toBe(env.users.carol.id);
  });

  it('lets an agent create an entity for herself only', async () => {
    const forBob = await env.http(env.users.alice, 'POST', '/api/entities', {
      name: `For Bob ${env.prefix}`,
      agentId: env.users.bob.id,
    });
    expectProblem(forBob, 403);
    expect(
      await env.db.query('SELECT 1 FROM entities WHERE name = $1', [`For Bob ${env.prefix}`]),
    ).toHaveLength(0);
    const mine = await env.http(env.users.alice, 'POST', '/api/entities', {
      name: `Mine ${env.prefix}`,
      agentId: env.users.alice.id,
    });
    expect(mine.status).toBe(201);
    expect(await agentOf(mine.body.id)).toBe(env.users.alice.id);
  });

  it('keeps an entity that cases name (409 entity-in-use) and deletes one without history, with its contacts', async () => {
    const { entityId } = await account(env.users.bob.id);
    await must(env, env.users.admin, 'POST', '/api/cases', {
      caseType: types.sales,
      data: { n: 'x' },
      entityId,
    });
    const inUse = await env.http(env.users.sam, 'DELETE', `/api/entities/${entityId}`);
    expect(inUse.status).toBe(409);
    expect(inUse.body.type).toBe(`${PROBLEM_BASE}entity-in-use`);
    expect(await exists('entities', entityId)).toBe(true);
    const free = await account(env.users.bob.id);
    const deleted = await env.http(env.users.sam, 'DELETE', `/api/entities/${free.entityId}`);
    expect(deleted.status).toBe(204);
    expect(await exists('entities', free.entityId)).toBe(false);
    expect(await exists('contacts', free.contactId)).toBe(false);
  });
});

describe('POST /api/campaigns/:id/start', () => {
  it("answers a stored setup that no longer holds with 409, pointing at the campaign's fields, not a body", async () => {
    const def = workDefinition(env.prefix, 'sales');
    def.id = `${def.id}-camp`;
    def.fields = { type: 'object', properties: { n: { type: 'string' } } };
    const caseType = await env.publish(def);
    const campaign = await must(env, env.users.sam, 'POST', '/api/campaigns', {
      name: `Setup ${env.prefix}`,
      caseType,
      caseData: { n: 'x' },
    });
    // The case type's next version wants a number: the campaign's data no longer fits the version it would pin.
    await env.publish({
      ...def,
      version: '1.1.0',
      fields: { type: 'object', properties: { n: { type: 'integer' } } },
    });
    const res = await env.http(env.users.sam, 'POST', `/api/campaigns/${campaign.id}/start`);
    expect(res.status).toBe(409);
    expect(res.type).toContain('application/problem+json');
    expect(res.body.type).toBe(`${PROBLEM_BASE}campaign-not-startable`);
    expect(res.body.errors).toEqual([{ pointer: '/caseData/n', message: 'must be integer' }]);
    const [row] = await env.db.query<{ status: string; definition_version: number | null }>(
      'SELECT status, definition_version FROM campaigns WHERE id = $1',
      [campaign.id],
    );
    expect(row).toEqual({ status: 'draft', definition_version: null });
  });
});
