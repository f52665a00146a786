import { count, upload } from './support/crm';
import { scoped, shippedDefinition, startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv({ worker: true });
});

afterAll(async () => {
  await env?.stop();
});

const code = (suffix: string) => `${env.prefix}-${suffix}`;

describe('entities', () => {
  it('creates a company with standard and custom fields, and reads it back', async () => {
    const res = await env.http(env.users.alice, 'POST', '/api/entities', {
      entityType: 'company',
      kind: 'CL',
      code: code('E1'),
      name: 'Globex Iberia',
      taxId: 'B12345678',
      email: 'info@globex.example',
      phone: '+34 911 000 000',
      city: 'Madrid',
      country: 'ES',
      source: 'fair',
      sector: 'logistics',
      zone: 'centre',
      agentId: env.users.alice.id,
      custom: { employees: 120, tier: 'MID', tags: ['fleet'], billing: { paymentTerms: 'net60' } },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      kind: 'CL',
      code: code('E1'),
      sector: 'logistics',
      custom: { employees: 120 },
    });
    const read = await env.http(env.users.bob, 'GET', `/api/entities/${res.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ name: 'Globex Iberia', contacts: [], cases: { open: 0, total: 0 } });
  });

  it('rejects a duplicate code with a 409 pointing at the code, writing nothing', async () => {
    const first = await env.http(env.users.alice, 'POST', '/api/entities', {
      kind: 'PR',
      code: code('DUP'),
      name: 'Supplier A',
    });
    expect(first.status).toBe(201);
    const again = await env.http(env.users.alice, 'POST', '/api/entities', {
      kind: 'PR',
      code: code('DUP'),
      name: 'Supplier B',
    });
    expect(again.status).toBe(409);
    expect(again.type).toContain('application/problem+json');
    expect(again.body.errors).toEqual([
      { pointer: '/body/code', message: expect.stringContaining(code('DUP')) },
    ]);
    expect(await count(env, 'entities WHERE name = $1', ['Supplier B'])).toBe(0);
    // The same code under another kind is another entity.
    const otherKind = await env.http(env.users.alice, 'POST', '/api/entities', {
      kind: 'CL',
      code: code('DUP'),
      name: 'Customer C',
    });
    expect(otherKind.status).toBe(201);
  });

  it('rejects an invalid email address and unknown custom fields with pointers', async () => {
    const res = await env.http(env.users.alice, 'POST', '/api/entities', {
      code: code('BAD'),
      name: 'Bad Co',
      email: `${'x'.repeat(65)}@example.com`,
      custom: { employees: -1, shoeSize: 42 },
    });
    expect(res.status).toBe(400);
    const pointers = res.body.errors.map((e: { pointer: string }) => e.pointer).sort();
    expect(pointers).toEqual(['/body/custom/employees', '/body/custom/shoeSize', '/body/email']);
    expect(res.body.errors.find((e: { pointer: string }) => e.pointer === '/body/email').message).toMatch(
      /64/,
    );
    expect(await count(env, 'entities WHERE code = $1', [code('BAD')])).toBe(0);
  });

  it('accepts a 320-character address', async () => {
    const local = 'l'.repeat(64);
    const domain = `${'d'.repeat(63)}.${'e'.repeat(63)}.${'f'.repeat(63)}.${'g'.repeat(59)}.com`;
    const email = `${local}@${domain}`;
    expect(email.length).toBe(320);
    const res = await env.http(env.users.alice, 'POST', '/api/entities', {
      code: code('LONG'),
      name: 'Long Mail',
      email,
    });
    expect(res.status).toBe(201);
    expect(res.body.email).toBe(email);
  });

  it('lists, filters and updates entities', async () => {
    const list = await env.http(env.users.alice, 'GET', `/api/entities?sector=logistics&q=globex`);
    expect(list.status).toBe(200);
    expect(list.body.items.map((e: { code: string }) => e.code)).toContain(code('E1'));
    const id = list.body.items[0].id;
    const patched = await env.http(env.users.alice, 'PATCH', `/api/entities/${id}`, { zone: 'north' });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ zone: 'north', changed: ['zone'] });
    const same = await env.http(env.users.alice, 'PATCH', `/api/entities/${id}`, { zone: 'north' });
    expect(same.body.changed).toEqual([]);
  });
});

describe('duplicate warning', () => {
  it('names the entities with the same name (accents and case ignored) or the same tax id, and creates anyway', async () => {
    const tax = `T${env.prefix}`.slice(0, 40);
    const first = await env.http(env.users.alice, 'POST', '/api/entities', {
      code: code('D1'),
      name: `Núñez Distribución ${env.prefix}`,
    });
    expect(first.status).toBe(201);
    expect(first.body.possibleDuplicates).toEqual([]);
    const second = await env.http(env.users.alice, 'POST', '/api/entities', {
      code: code('D2'),
      name: `Other name ${env.prefix}`,
      taxId: tax,
    });
    expect(second.body.possibleDuplicates).toEqual([]);
    // Same letters as the first (no accents, upper case) and the second's tax id: both are named.
    const third = await env.http(env.users.alice, 'POST', '/api/entities', {
      code: code('D3'),
      name: `NUNEZ DISTRIBUCION ${env.prefix}`,
      taxId: tax,
    });
    expect(third.status).toBe(201);
    const expected = [
      { id: first.body.id, code: code('D1'), name: `Núñez Distribución ${env.prefix}`, matchedOn: ['name'] },
      { id: second.body.id, code: code('D2'), name: `Other name ${env.prefix}`, matchedOn: ['taxId'] },
    ].sort((a, b) => (a.name < b.name ? -1 : 1));
    expect(third.body.possibleDuplicates).toEqual(expected);
    const [row] = await env.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM entities WHERE code = ANY($1)',
      [[code('D1'), code('D2'), code('D3')]],
    );
    expect(row?.n).toBe(3);
  });
});

describe('ERP customer hook', () => {
  const customer = () => ({
    externalCode: `ERP-${env.prefix}-1001`,
    name: 'Initech SA',
    taxId: 'A87654321',
    email: 'billing@initech.example',
    city: 'Valencia',
    custom: { billing: { paymentTerms: 'net30', creditLimit: 50000 } },
  });

  it('creates the entity, then answers "unchanged" for the same payload and "updated" for a change', async () => {
    const created = await env.http(env.users.admin, 'POST', '/api/integrations/erp/customers', customer());
    expect(created.status).toBe(201);
    expect(created.body.result).toBe('created');
    expect(created.body.entity).toMatchObject({
      kind: 'CL',
      code: customer().externalCode,
      externalCode: customer().externalCode,
    });

    const before = await env.db.query('SELECT updated_at FROM entities WHERE id = $1', [
      created.body.entity.id,
    ]);
    const again = await env.http(env.users.admin, 'POST', '/api/integrations/erp/customers', customer());
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ result: 'unchanged', changed: [] });
    expect(again.body.entity.id).toBe(created.body.entity.id);
    const after = await env.db.query('SELECT updated_at FROM entities WHERE id = $1', [
      created.body.entity.id,
    ]);
    expect(after).toEqual(before);

    const changed = await env.http(env.users.admin, 'POST', '/api/integrations/erp/customers', {
      ...customer(),
      city: 'Sevilla',
    });
    expect(changed.body).toMatchObject({ result: 'updated', changed: ['city'] });
    expect(await count(env, 'entities WHERE external_code = $1', [customer().externalCode])).toBe(1);
  });

  it('refuses a payload without an external code, and non-admin callers', async () => {
    const { externalCode: _omitted, ...rest } = customer();
    const missing = await env.http(env.users.admin, 'POST', '/api/integrations/erp/customers', rest);
    expect(missing.status).toBe(400);
    expect(missing.body.errors).toEqual([{ pointer: '/body/externalCode', message: 'is required' }]);
    const agent = await env.http(env.users.alice, 'POST', '/api/integrations/erp/customers', customer());
    expect(agent.status).toBe(403);
  });

  it('rejects an invalid email from the ERP and writes nothing', async () => {
    const res = await env.http(env.users.admin, 'POST', '/api/integrations/erp/customers', {
      ...customer(),
      externalCode: `ERP-${env.prefix}-BAD`,
      email: 'not an address',
    });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].pointer).toBe('/body/email');
    expect(await count(env, 'entities WHERE external_code = $1', [`ERP-${env.prefix}-BAD`])).toBe(0);
  });
});

describe('contacts', () => {
  let entityId: string;

  beforeAll(async () => {
    const res = await env.http(env.users.alice, 'POST', '/api/entities', {
      kind: 'CL',
      code: code('CON'),
      name: 'Umbrella Corp',
    });
    entityId = res.body.id;
  });

  it('adds contacts with roles, keeps one primary, and finds them by name, email or phone', async () => {
    const first = await env.http(env.users.alice, 'POST', `/api/entities/${entityId}/contacts`, {
      name: 'Alicia Marín',
      email: `alicia.${env.prefix}@umbrella.example`,
      phone: '+34 600 111 222',
      roles: ['decision maker'],
      isPrimary: true,
      custom: { department: 'Purchasing' },
    });
    expect(first.status).toBe(201);
    const second = await env.http(env.users.alice, 'POST', `/api/entities/${entityId}/contacts`, {
      name: 'Bruno Sanz',
      email: `bruno.${env.prefix}@umbrella.example`,
      phone: '600-333-444',
      isPrimary: true,
    });
    expect(second.status).toBe(201);
    const contacts = await env.http(env.users.alice, 'GET', `/api/entities/${entityId}/contacts`);
    expect(
      contacts.body.items
        .filter((c: { isPrimary: boolean }) => c.isPrimary)
        .map((c: { name: string }) => c.name),
    ).toEqual(['Bruno Sanz']);

    const byName = await env.http(
      env.users.bob,
      'GET',
      `/api/contacts?q=${encodeURIComponent('alicia mar')}`,
    );
    expect(byName.body.items.map((c: { id: string }) => c.id)).toContain(first.body.id);
    const byEmail = await env.http(env.users.bob, 'GET', `/api/contacts?q=bruno.${env.prefix}`);
    expect(byEmail.body.items.map((c: { id: string }) => c.id)).toEqual([second.body.id]);
    const byPhone = await env.http(
      env.users.bob,
      'GET',
      `/api/contacts?q=${encodeURIComponent('600 333 444')}`,
    );
    expect(byPhone.body.items.map((c: { id: string }) => c.id)).toContain(second.body.id);
    expect(byPhone.body.items[0].entityName).toBe('Umbrella Corp');
  });

  it('keeps one primary when several are set at once', async () => {
    const res = await env.http(env.users.alice, 'POST', '/api/entities', {
      kind: 'CL',
      code: code('PRI'),
      name: 'Initech',
    });
    const created = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        env.http(env.users.alice, 'POST', `/api/entities/${res.body.id}/contacts`, {
          name: `Contact ${i}`,
          isPrimary: true,
        }),
      ),
    );
    expect(created.map((r) => r.status)).toEqual(Array(8).fill(201));
    const patched = await Promise.all(
      created.map((r) =>
        env.http(env.users.alice, 'PATCH', `/api/contacts/${r.body.id}`, { isPrimary: true }),
      ),
    );
    expect(patched.map((r) => r.status)).toEqual(Array(8).fill(200));
    const contacts = await env.http(env.users.alice, 'GET', `/api/entities/${res.body.id}/contacts`);
    expect(contacts.body.items).toHaveLength(8);
    expect(contacts.body.items.filter((c: { isPrimary: boolean }) => c.isPrimary)).toHaveLength(1);
  });

  it('rejects an invalid contact email with a pointer', async () => {
    const res = await env.http(env.users.alice, 'POST', `/api/entities/${entityId}/contacts`, {
      name: 'No Mail',
      email: 'someone@localhost',
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { pointer: '/body/email', message: expect.stringMatching(/two labels/) },
    ]);
  });

  it('imports business cards from a vCard file; importing it again changes nothing', async () => {
    const vcf = [
      'BEGIN:VCARD',
      'VERSION:3.0',
      'N:Ortega;Carmen;;;',
      'FN:Carmen Ortega',
      'ORG:Umbrella Corp;Finance',
      'TITLE:CFO',
      'ROLE:decision maker',
      `EMAIL;TYPE=INTERNET,WORK:carmen.${env.prefix}@umbrella.example`,
      'TEL;TYPE=CELL:+34 611 222 333',
      'BDAY:1979-04-12',
      'END:VCARD',
      'BEGIN:VCARD',
      'VERSION:2.1',
      'N:Ruiz;Diego',
      'FN:Diego Ruiz',
      'TEL;WORK;VOICE:+34 912 345 678',
      `EMAIL;INTERNET:diego.${env.prefix}@umbrella.example`,
      'NOTE;ENCODING=QUOTED-PRINTABLE:Prefiere caf=C3=A9 por la ma=C3=B1ana',
      'END:VCARD',
      'BEGIN:VCARD',
      'VERSION:4.0',
      'FN:Eva Luna',
      `EMAIL;PREF=1:eva.${env.prefix}@umbrella.example`,
      'LANG:es',
      'END:VCARD',
      '',
    ].join('\r\n');
    const res = await upload(
      env,
      env.users.alice,
      `/api/entities/${entityId}/contacts/vcard`,
      vcf,
      'text/vcard',
    );
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ result: 'imported', created: 3, unchanged: 0, rejected: 0 });
    const carmen = res.body.items[0].contact;
    expect(carmen).toMatchObject({
      name: 'Carmen Ortega',
      phone: '+34 611 222 333',
      jobTitle: 'CFO',
      roles: ['decision maker'],
      custom: { department: 'Finance', birthday: '1979-04-12' },
      source: 'vcard',
    });
    expect(res.body.items[1].contact).toMatchObject({
      name: 'Diego Ruiz',
      custom: { notes: 'Prefiere café por la mañana' },
    });
    expect(res.body.items[2].contact).toMatchObject({ name: 'Eva Luna', locale: 'es' });

    const again = await upload(
      env,
      env.users.alice,
      `/api/entities/${entityId}/contacts/vcard`,
      vcf,
      'text/vcard',
    );
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ result: 'unchanged', created: 0, unchanged: 3 });
  });

  it('reports the bad card of a vCard file by position and writes nothing, unless asked to keep the valid ones', async () => {
    const vcf = [
      'BEGIN:VCARD',
      'VERSION:3.0',
      'FN:Fina Good',
      `EMAIL:fina.${env.prefix}@umbrella.example`,
      'END:VCARD',
      'BEGIN:VCARD',
      'VERSION:3.0',
      'FN:Gil Bad',
      'EMAIL:gil@@umbrella',
      'END:VCARD',
    ].join('\r\n');
    const res = await upload(
      env,
      env.users.alice,
      `/api/entities/${entityId}/contacts/vcard`,
      vcf,
      'text/vcard',
    );
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      expect.objectContaining({ pointer: '/body/cards/2/email', card: 2, line: 6 }),
    ]);
    expect(await count(env, 'contacts WHERE name = $1', ['Fina Good'])).toBe(0);
    const accepted = await upload(
      env,
      env.users.alice,
      `/api/entities/${entityId}/contacts/vcard?acceptValid=true`,
      vcf,
      'text/vcard',
    );
    expect(accepted.status).toBe(201);
    expect(accepted.body).toMatchObject({ created: 1, rejected: 1 });
  });
});

describe('cases around an entity', () => {
  it("lists an entity's cases and its timeline", async () => {
    const caseType = await env.publish(scoped(shippedDefinition('opportunity'), env.prefix));
    const entityId = `${env.prefix}-acme`;
    const started = await env.http(env.users.alice, 'POST', '/api/cases', {
      caseType,
      entityId,
      data: { subject: 'Pallets', amount: 1000 },
    });
    expect(started.status).toBe(201);
    const cases = await env.http(env.users.alice, 'GET', `/api/entities/${entityId}/cases`);
    expect(cases.body.items.map((c: { id: string }) => c.id)).toEqual([started.body.id]);
    const timeline = await env.http(env.users.alice, 'GET', `/api/entities/${entityId}/timeline`);
    expect(timeline.body.items.length).toBeGreaterThan(0);
    expect(timeline.body.items[0].case.id).toBe(started.body.id);
    // Carol (support) sees neither the case nor its timeline.
    const carol = await env.http(env.users.carol, 'GET', `/api/entities/${entityId}/cases`);
    expect(carol.body.items).toEqual([]);
  });
});
