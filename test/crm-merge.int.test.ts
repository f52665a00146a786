/**
 * Merging two entities (issue 15): the survivor keeps its fields and fills its empty ones from the loser, every
 * row naming the loser moves, an audit row keeps the loser, the loser is gone; all or nothing. The expected
 * fields and counts are worked out here from the fixtures the test writes.
 */
import { PROBLEM_BASE } from '../api/problem';
import { CaseGateway } from '../api/gateway';
import { relinkEngine } from '../api/routes/entity-merge';
import { projectCase } from '../activities/projection';
import { deliverRelinks } from '../crm/entity-relinks';
import { ENTITY_REFERENCES, mergeEntities } from '../crm/merge';
import { stateQuery } from '../workflows/messages';
import { count, seedEntity } from './support/crm';
import { scoped, shippedDefinition, startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;
let seq = 0;
let opportunity: string;

beforeAll(async () => {
  env = await startTestEnv();
  opportunity = await env.publish(scoped(shippedDefinition('opportunity'), env.prefix));
});

afterAll(async () => {
  await env?.stop();
});

const id = (what: string) => `${env.prefix}-m${++seq}-${what}`;

async function entity(agentId: string | null, fields: Record<string, unknown> = {}): Promise<string> {
  const entityId = id('ent');
  await seedEntity(env, { id: entityId, code: entityId, name: `Merge ${entityId}`, agentId });
  const columns = Object.keys(fields);
  if (columns.length > 0)
    await env.db.query(
      `UPDATE entities SET ${columns.map((c, i) => `${c} = $${i + 2}`).join(', ')} WHERE id = $1`,
      [entityId, ...columns.map((c) => (c === 'custom' ? JSON.stringify(fields[c]) : fields[c]))],
    );
  return entityId;
}

async function contact(entityId: string, email: string | null, primary = false): Promise<string> {
  const contactId = id('con');
  await env.db.query(
    'INSERT INTO contacts (id, entity_id, name, email, is_primary) VALUES ($1, $2, $3, $4, $5)',
    [contactId, entityId, `Person ${contactId}`, email, primary],
  );
  return contactId;
}

async function caseOf(entityId: string): Promise<string> {
  const caseId = id('case');
  await env.db.query(
    `INSERT INTO cases (id, case_type, definition_version, title, status, status_category, entity_id, entity_name,
       data, created_at, updated_at, version)
     VALUES ($1, 'merge-test', 1, 'Deal', 'NEW', 'open', $2, 'old name', '{}', now(), now(), 1)`,
    [caseId, entityId],
  );
  return caseId;
}

async function campaign(): Promise<string> {
  const campaignId = id('camp');
  await env.db.query(`INSERT INTO campaigns (id, name, case_type) VALUES ($1, $1, 'merge-test')`, [
    campaignId,
  ]);
  return campaignId;
}

async function target(campaignId: string, entityId: string): Promise<void> {
  await env.db.query(
    `INSERT INTO campaign_targets (campaign_id, entity_id, case_id, source) VALUES ($1, $2, $3, 'manual')`,
    [campaignId, entityId, id('tcase')],
  );
}

describe('merging entities', () => {
  it('moves every row that names an entity: the list it moves is every foreign key to entities', async () => {
    const rows = await env.db.query<{ ref: string }>(
      `SELECT c.conrelid::regclass::text || '.' || a.attname AS ref
       FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
       WHERE c.contype = 'f' AND c.confrelid = 'entities'::regclass ORDER BY 1`,
    );
    expect(rows.map((r) => r.ref)).toEqual([...ENTITY_REFERENCES].sort());
  });

  it('keeps the survivor, fills its empty fields from the loser and moves contacts, cases, activities and the rest', async () => {
    const survivor = await entity(env.users.alice.id, { phone: '111', custom: { tier: 'gold' } });
    const loser = await entity(env.users.bob.id, {
      phone: '222',
      city: 'Sevilla',
      tax_id: `B-${env.prefix}`,
      external_code: `ERP-${env.prefix}`,
      custom: { tier: 'silver', region: 'south' },
    });
    const kept = await contact(survivor, `x.${env.prefix}@example.com`, true);
    const duplicate = await contact(loser, `X.${env.prefix}@example.com`);
    const moved = await contact(loser, `y.${env.prefix}@example.com`, true);
    const noAddress = await contact(loser, null);
    const cases = [await caseOf(loser), await caseOf(loser)];
    const survivorCase = await caseOf(survivor);
    const logged = await env.http(env.users.bob, 'POST', `/api/entities/${loser}/activities`, {
      kind: 'call',
      status: 'done',
    });
    expect(logged.status).toBe(201);
    const camp = await campaign();
    await target(camp, loser);
    const messageId = `<${id('msg')}@example.com>`;
    await env.db.query(
      `INSERT INTO inbound_messages (message_id, mailbox, from_address, entity_id, contact_id, case_id)
       VALUES ($1, 'sales@crm.test', 'x@example.com', $2, $3, $4)`,
      [messageId, loser, duplicate, cases[0]],
    );

    // Alice looks after the survivor, bob (her team) the loser: she may edit both.
    const res = await env.http(env.users.alice, 'POST', `/api/entities/${survivor}/merge`, { from: loser });
    expect(res.status).toBe(200);
    expect(res.body.mergedFrom).toBe(loser);
    // Empty in the survivor, set in the loser: city, taxId, externalCode, custom.region. Phone and tier stay.
    expect([...res.body.filled].sort()).toEqual(['city', 'custom.region', 'externalCode', 'taxId']);
    expect(res.body.entity).toMatchObject({
      id: survivor,
      name: `Merge ${survivor}`,
      agentId: env.users.alice.id,
      phone: '111',
      city: 'Sevilla',
      taxId: `B-${env.prefix}`,
      externalCode: `ERP-${env.prefix}`,
      custom: { tier: 'gold', region: 'south' },
    });
    expect(res.body.moved).toEqual({
      contacts: 2,
      cases: 2,
      activities: 1,
      campaignTargets: 1,
      inboundMessages: 1,
    });
    expect(
      res.body.droppedContacts.map((c: { id: string; keptContactId: string }) => [c.id, c.keptContactId]),
    ).toEqual([[duplicate, kept]]);

    expect(await count(env, 'entities WHERE id = $1', [loser])).toBe(0);
    const contacts = await env.db.query<{ id: string; is_primary: boolean }>(
      'SELECT id, is_primary FROM contacts WHERE entity_id = $1 ORDER BY id',
      [survivor],
    );
    expect(contacts).toEqual(
      [
        { id: kept, is_primary: true },
        { id: moved, is_primary: false },
        { id: noAddress, is_primary: false },
      ].sort((a, b) => (a.id < b.id ? -1 : 1)),
    );
    const caseRows = await env.db.query<{ id: string; entity_name: string }>(
      'SELECT id, entity_name FROM cases WHERE entity_id = $1 ORDER BY id',
      [survivor],
    );
    expect(caseRows).toEqual(
      [...cases, survivorCase]
        .sort()
        .map((c) => ({ id: c, entity_name: c === survivorCase ? 'old name' : `Merge ${survivor}` })),
    );
    expect(await count(env, 'entity_activities WHERE entity_id = $1', [survivor])).toBe(1);
    expect(
      await count(env, 'campaign_targets WHERE entity_id = $1 AND campaign_id = $2', [survivor, camp]),
    ).toBe(1);
    const [message] = await env.db.query(
      'SELECT entity_id, contact_id FROM inbound_messages WHERE message_id = $1',
      [messageId],
    );
    expect(message).toEqual({ entity_id: survivor, contact_id: kept });

    const audit = await env.db.query<{
      actor: string;
      action: string;
      record_id: string;
      detail: { from: Record<string, unknown>; droppedContacts: { email: string }[] };
    }>(`SELECT actor, action, record_id, detail FROM crm_audit WHERE id = $1`, [res.body.auditId]);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actor: env.users.alice.id,
      action: 'entity.merged',
      record_id: survivor,
    });
    expect(audit[0]?.detail.from).toMatchObject({
      id: loser,
      phone: '222',
      custom: { tier: 'silver', region: 'south' },
    });
    expect(audit[0]?.detail.droppedContacts[0]?.email).toBe(`X.${env.prefix}@example.com`);

    const detail = await env.http(env.users.alice, 'GET', `/api/entities/${survivor}`);
    expect(detail.body.cases).toEqual({ open: 3, total: 3 });
    expect((await env.http(env.users.alice, 'GET', `/api/entities/${loser}`)).status).toBe(404);
  });

  it('answers 409 for an entity merged with itself, 404 for an unknown one, 400 without from', async () => {
    const a = await entity(env.users.alice.id);
    const self = await env.http(env.users.alice, 'POST', `/api/entities/${a}/merge`, { from: a });
    expect(self.status).toBe(409);
    expect(self.body.type).toBe(`${PROBLEM_BASE}merge-same-entity`);
    const unknown = await env.http(env.users.alice, 'POST', `/api/entities/${a}/merge`, {
      from: `nope-${env.prefix}`,
    });
    expect(unknown.status).toBe(404);
    const bad = await env.http(env.users.alice, 'POST', `/api/entities/${a}/merge`, { into: a });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual([
      '/body/from',
      '/body/into',
    ]);
    expect(await count(env, 'entities WHERE id = $1', [a])).toBe(1);
  });

  it('lets only someone who may edit both merge, and changes nothing otherwise', async () => {
    const alices = await entity(env.users.alice.id);
    const carols = await entity(env.users.carol.id);
    await contact(carols, null);
    const snapshot = async () =>
      JSON.stringify([
        await env.db.query('SELECT * FROM entities WHERE id = ANY($1) ORDER BY id', [[alices, carols]]),
        await env.db.query('SELECT * FROM contacts WHERE entity_id = ANY($1) ORDER BY id', [
          [alices, carols],
        ]),
      ]);
    const before = await snapshot();
    // Carol reads alice's entity but may not edit it; alice may not edit carol's (another team's); dana is a designer.
    for (const [user, into, from] of [
      [env.users.carol, alices, carols],
      [env.users.alice, alices, carols],
      [env.users.dana, alices, carols],
    ] as const) {
      const res = await env.http(user, 'POST', `/api/entities/${into}/merge`, { from });
      expect([user.id, res.status]).toEqual([user.id, 403]);
    }
    expect(await snapshot()).toBe(before);
    // Sam supervises both teams.
    const res = await env.http(env.users.sam, 'POST', `/api/entities/${alices}/merge`, { from: carols });
    expect(res.status).toBe(200);
    expect(res.body.moved.contacts).toBe(1);
  });

  it('refuses two targets of one campaign with merge-conflict and rolls everything back', async () => {
    const a = await entity(env.users.alice.id);
    const b = await entity(env.users.alice.id);
    const contactId = await contact(b, null);
    const camp = await campaign();
    await target(camp, a);
    await target(camp, b);
    const res = await env.http(env.users.alice, 'POST', `/api/entities/${a}/merge`, { from: b });
    expect(res.status).toBe(409);
    expect(res.body.type).toBe(`${PROBLEM_BASE}merge-conflict`);
    expect(res.body.campaigns).toEqual([camp]);
    expect(await count(env, 'entities WHERE id = $1', [b])).toBe(1);
    expect(await count(env, 'contacts WHERE id = $1 AND entity_id = $2', [contactId, b])).toBe(1);
    expect(await count(env, 'crm_audit WHERE record_id = $1', [a])).toBe(0);
  });

  /** Starts a real opportunity (workflow and read model) on an entity; returns its id. */
  async function runningCase(entityId: string): Promise<string> {
    const res = await env.http(env.users.admin, 'POST', '/api/cases', {
      caseType: opportunity,
      entityId,
      data: { subject: 'Relink me', amount: 10 },
    });
    expect(res.status).toBe(201);
    return res.body.id as string;
  }

  const workflowState = (caseId: string) => env.client.workflow.getHandle(caseId).query(stateQuery);

  it("tells a running case's workflow of the kept entity: its state, timeline and later actions use it", async () => {
    const survivor = await entity(env.users.alice.id);
    const loser = await entity(env.users.bob.id);
    const caseId = await runningCase(loser);
    expect((await workflowState(caseId)).entity?.id).toBe(loser);

    const res = await env.http(env.users.admin, 'POST', `/api/entities/${survivor}/merge`, { from: loser });
    expect(res.status).toBe(200);
    expect(res.body.runningCases).toEqual([caseId]);
    expect(res.body.workflows).toEqual({ relinked: 1, ended: 0, pending: 0 });
    // The workflow's own state now carries the kept entity (seeded as `Merge <id>`, alice its agent).
    expect((await workflowState(caseId)).entity).toEqual({
      id: survivor,
      name: `Merge ${survivor}`,
      agentId: env.users.alice.id,
    });
    const detail = (await env.http(env.users.admin, 'GET', `/api/cases/${caseId}`)).body;
    expect(detail.timeline).toContainEqual(
      expect.objectContaining({
        kind: 'entity.merged',
        actor: env.users.admin.id,
        detail: { from: loser, fromName: `Merge ${loser}`, to: survivor, toName: `Merge ${survivor}` },
      }),
    );
    // An action after the merge: the case still belongs to the kept entity, in the workflow and the read model.
    const patched = await env.http(env.users.admin, 'PATCH', `/api/cases/${caseId}`, {
      data: { amount: 20 },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ entity: { id: survivor }, data: { amount: 20 } });
    const after = await workflowState(caseId);
    expect(after).toMatchObject({ entity: { id: survivor }, data: { amount: 20 } });
    const [row] = await env.db.query('SELECT entity_id, entity_name FROM cases WHERE id = $1', [caseId]);
    expect(row).toEqual({ entity_id: survivor, entity_name: `Merge ${survivor}` });
  });

  it('keeps a relink the workflow could not take, with its error, and delivers it on a later attempt', async () => {
    const survivor = await entity(env.users.alice.id);
    const loser = await entity(env.users.alice.id);
    const caseId = await runningCase(loser);
    const admin = {
      userId: env.users.admin.id,
      role: 'admin' as const,
      email: 'admin@example.com',
      teams: [],
      supervisedTeams: [],
      supervisedUsers: [],
    };
    const merged = await env.db.transaction((tx) => mergeEntities(tx, admin, survivor, loser));
    expect(merged.runningCases).toEqual([caseId]);

    const down = { relink: async () => Promise.reject(new Error('engine unavailable')) };
    expect(await deliverRelinks(env.db, down, [caseId])).toEqual({ relinked: 0, ended: 0, pending: 1 });
    const [queued] = await env.db.query(
      'SELECT attempts, last_error, done_at, next_attempt_at > now() AS later FROM entity_relinks WHERE case_id = $1',
      [caseId],
    );
    expect(queued).toEqual({ attempts: 1, last_error: 'engine unavailable', done_at: null, later: true });
    expect((await workflowState(caseId)).entity?.id).toBe(loser);
    // Not due yet: a sweep now leaves it alone, and still counts it as pending.
    const gateway = new CaseGateway(env.client, env.taskQueue, 15_000, (p) => projectCase(env.db, p));
    expect(await deliverRelinks(env.db, relinkEngine(gateway), [caseId])).toEqual({
      relinked: 0,
      ended: 0,
      pending: 1,
    });
    expect(
      (await env.db.query('SELECT attempts FROM entity_relinks WHERE case_id = $1', [caseId]))[0],
    ).toEqual({
      attempts: 1,
    });
    // Once due, the retry tells the workflow.
    await env.db.query('UPDATE entity_relinks SET next_attempt_at = now() WHERE case_id = $1', [caseId]);
    expect(await deliverRelinks(env.db, relinkEngine(gateway), [caseId])).toEqual({
      relinked: 1,
      ended: 0,
      pending: 0,
    });
    expect((await workflowState(caseId)).entity?.id).toBe(survivor);
    const [done] = await env.db.query(
      'SELECT outcome, done_at IS NOT NULL AS done FROM entity_relinks WHERE case_id = $1',
      [caseId],
    );
    expect(done).toEqual({ outcome: 'relinked', done: true });
  });
});
