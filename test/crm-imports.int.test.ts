import ExcelJS from 'exceljs';
import { workerImportEngine } from '../activities/imports';
import {
  casesFromJson,
  createImportJob,
  ImportEngineUnavailableError,
  prepareCases,
  processImportBatch,
  type ImportEngine,
} from '../crm/imports';
import { startStaleImportWorkflows } from '../crm/import-workflows';
import { sweepOnce } from '../worker/sweeps';
import { latestDefinition } from '../db/definitions';
import { count, upload } from './support/crm';
import { eventually, scoped, shippedDefinition, startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;
let T: string;

beforeAll(async () => {
  env = await startTestEnv();
  T = await env.publish(scoped(shippedDefinition('opportunity'), env.prefix));
});

afterAll(async () => {
  await env?.stop();
});

const key = (n: string | number) => `${env.prefix}-SO-${n}`;

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** The cases an import job created or touched, by external key, as the API shows them. */
async function importedCases(jobId: string): Promise<Record<string, Record<string, unknown>>> {
  const rows = await env.http(env.users.sam, 'GET', `/api/imports/${jobId}/rows`);
  const out: Record<string, Record<string, unknown>> = {};
  for (const row of rows.body.items) {
    out[row.externalKey] = (await env.http(env.users.admin, 'GET', `/api/cases/${row.caseId}`)).body;
  }
  return out;
}

function document(filename: string) {
  return {
    caseType: T,
    filename,
    cases: [
      {
        externalKey: key(1),
        entityKind: 'CL',
        entityCode: `${env.prefix}-C1`,
        ownerId: env.users.bob.id,
        data: { subject: 'Racks', amount: 1200, currency: 'EUR', expectedCloseDate: '2031-06-30' },
        lines: [
          { product: 'RACK-A', quantity: 10, amount: 1000 },
          { product: 'BOLT', quantity: 100, amount: 200 },
        ],
      },
      { externalKey: key(2), entityId: `${env.prefix}-acme`, data: { subject: 'Forks', amount: 300 } },
      { externalKey: key(3), title: 'Imported without entity', data: { subject: 'Service' } },
    ],
  };
}

describe('case import', () => {
  it('imports headers and lines from JSON; the same document again changes nothing and says so', async () => {
    const res = await env.http(env.users.sam, 'POST', '/api/imports?wait=true', document('orders.json'));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'completed',
      result: 'imported',
      total: 3,
      processed: 3,
      created: 3,
      unchanged: 0,
      failed: 0,
      percent: 100,
    });
    const rows = await env.http(env.users.sam, 'GET', `/api/imports/${res.body.id}/rows`);
    const first = rows.body.items[0];
    expect(first).toMatchObject({ line: 1, externalKey: key(1), state: 'created' });
    const theCase = await env.http(env.users.admin, 'GET', `/api/cases/${first.caseId}`);
    expect(theCase.body).toMatchObject({
      caseType: T,
      ownerId: env.users.bob.id,
      entity: { id: `${env.prefix}-acme` },
      data: { amount: 1200 },
      lines: [
        { product: 'RACK-A', quantity: 10, amount: 1000 },
        { product: 'BOLT', quantity: 100, amount: 200 },
      ],
    });
    // Without an owner in the row, the entity's agent owns the case.
    const second = await env.http(env.users.admin, 'GET', `/api/cases/${rows.body.items[1].caseId}`);
    expect(second.body.ownerId).toBe(env.users.alice.id);

    const casesBefore = await count(env, 'cases WHERE case_type = $1', [T]);
    const again = await env.http(env.users.sam, 'POST', '/api/imports?wait=true', document('orders.json'));
    expect(again.body).toMatchObject({
      status: 'completed',
      result: 'unchanged',
      created: 0,
      unchanged: 3,
      failed: 0,
    });
    expect(await count(env, 'cases WHERE case_type = $1', [T])).toBe(casesBefore);
  });

  it('reports each bad row with a pointer and imports nothing, unless the valid rows are accepted', async () => {
    const doc = {
      caseType: T,
      filename: 'bad.json',
      cases: [
        { externalKey: key('B1'), data: { subject: 'Fine' } },
        { externalKey: key('B2'), entityKind: 'CL', entityCode: 'NOPE', data: { subject: 'x' } },
        { externalKey: key('B3'), data: { subject: 'x', amount: 'a lot' }, lines: [{ product: 'P' }] },
        { externalKey: key('B1'), data: { subject: 'Duplicate' } },
      ],
    };
    const res = await env.http(env.users.sam, 'POST', '/api/imports', doc);
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      expect.objectContaining({
        line: 2,
        externalKey: key('B2'),
        pointer: '/body/cases/1/entityCode',
        message: 'no CL entity has the code "NOPE"',
      }),
      expect.objectContaining({ line: 3, pointer: '/body/cases/2/data/amount', message: 'must be number' }),
      expect.objectContaining({ line: 3, pointer: '/body/cases/2/lines/0/quantity', message: 'is required' }),
      expect.objectContaining({
        line: 4,
        pointer: '/body/cases/3/externalKey',
        message: `"${key('B1')}" is also at line 1`,
      }),
    ]);
    expect(await count(env, 'imports WHERE filename = $1', ['bad.json'])).toBe(0);
    expect(await count(env, 'imported_cases WHERE external_key = $1', [key('B1')])).toBe(0);

    const accepted = await env.http(env.users.sam, 'POST', '/api/imports?wait=true&acceptValid=true', doc);
    expect(accepted.body).toMatchObject({ created: 1, total: 1 });
    expect(accepted.body.errors).toHaveLength(4);
  });

  it('updates a case imported before with other content, and reports what changed', async () => {
    const doc = document('changed.json');
    doc.cases = [{ ...doc.cases[1], data: { subject: 'Forks', amount: 999 } } as (typeof doc.cases)[number]];
    const res = await env.http(env.users.sam, 'POST', '/api/imports?wait=true', doc);
    expect(res.body).toMatchObject({ result: 'imported', updated: 1, failed: 0, created: 0 });
    const rows = await env.http(env.users.sam, 'GET', `/api/imports/${res.body.id}/rows`);
    expect(rows.body.items).toEqual([
      expect.objectContaining({ line: 1, state: 'updated', changes: ['data.amount'], error: null }),
    ]);
  });

  it('imports CSV with one row per line, grouping rows by external key', async () => {
    const csv = [
      'externalKey,entityKind,entityCode,data.subject,data.amount,line.product,line.quantity,line.amount',
      `${key('C1')},CL,${env.prefix}-C1,Shelving,1500,SHELF,3,1500`,
      `${key('C2')},CL,${env.prefix}-C1,Ladders,400,LADDER,2,300`,
      `${key('C2')},,,,,HOOK,10,100`,
    ].join('\r\n');
    const res = await upload(env, env.users.sam, `/api/imports?caseType=${T}&wait=true`, csv, 'text/csv');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ format: 'csv', created: 2 });
    const rows = await env.http(env.users.sam, 'GET', `/api/imports/${res.body.id}/rows`);
    const ladders = await env.http(env.users.admin, 'GET', `/api/cases/${rows.body.items[1].caseId}`);
    expect(ladders.body.lines).toEqual([
      { product: 'LADDER', quantity: 2, amount: 300 },
      { product: 'HOOK', quantity: 10, amount: 100 },
    ]);

    const badHeader = await upload(
      env,
      env.users.sam,
      `/api/imports?caseType=${T}`,
      'externalKey,colour\nx,red\n',
      'text/csv',
    );
    expect(badHeader.status).toBe(400);
    expect(badHeader.body.errors).toEqual([
      { pointer: '/body/rows/1/2', message: 'unknown column "colour"' },
    ]);
  });

  it('shows the progress of a large import as it runs', async () => {
    const cases = Array.from({ length: 60 }, (_, i) => ({
      externalKey: key(`L${i}`),
      data: { subject: `Bulk ${i}`, amount: i },
    }));
    const res = await env.http(env.users.sam, 'POST', '/api/imports', {
      caseType: T,
      filename: 'large.json',
      cases,
    });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'running', total: 60 });
    const seen = new Set<number>();
    const done = await eventually(
      async () => {
        const job = await env.http(env.users.sam, 'GET', `/api/imports/${res.body.id}`);
        seen.add(job.body.processed);
        return job.body.status === 'completed' ? job.body : undefined;
      },
      60_000,
      'the import to finish',
    );
    expect(done).toMatchObject({ processed: 60, created: 60, percent: 100 });
    expect(seen.size).toBeGreaterThan(1);
  });

  it('starts the workflow of a job left running with nothing running it (as the pre-workflow code left them), once', async () => {
    const stored = await latestDefinition(env.db, T);
    if (!stored) throw new Error('no definition');
    const cases = [1, 2, 3].map((i) => ({ externalKey: key(`R${i}`), data: { subject: `Resumed ${i}` } }));
    const { valid, errors } = await prepareCases(env.db, stored, casesFromJson({ cases }), env.users.sam.id);
    expect(errors).toEqual([]);
    // As a process that stopped after storing the job: running, nothing processed, silent for 10 minutes.
    const id = `imp-${env.prefix}-stale`;
    const job = { format: 'json', filename: 'stale.json', caseType: T, createdBy: env.users.sam.id } as const;
    await createImportJob(env.db, { ...job, id, definitionVersion: stored.version }, valid, []);
    await createImportJob(env.db, { ...job, id: `${id}-live`, definitionVersion: stored.version }, [], []);
    await env.db.query(`UPDATE imports SET updated_at = now() - interval '10 minutes' WHERE id = $1`, [id]);

    // Two release steps at once (two workers starting): the job is claimed by one of them.
    const release = () => startStaleImportWorkflows(env.db, env.client, env.taskQueue, 5 * 60_000);
    const [taken, again] = await Promise.all([release(), release()]);
    expect([...taken, ...again].filter((j) => j.startsWith(id))).toEqual([id]);

    const done = await eventually(
      async () => {
        const res = await env.http(env.users.sam, 'GET', `/api/imports/${id}`);
        return res.body.status === 'completed' ? res.body : undefined;
      },
      30_000,
      'the resumed import to finish',
    );
    expect(done).toMatchObject({ processed: 3, created: 3, failed: 0 });
    const rows = await env.http(env.users.sam, 'GET', `/api/imports/${id}/rows`);
    for (const row of rows.body.items) {
      expect((await env.http(env.users.admin, 'GET', `/api/cases/${row.caseId}`)).status).toBe(200);
    }
    expect(await release()).not.toContain(id);
    const live = await env.http(env.users.sam, 'GET', `/api/imports/${id}-live`);
    expect(live.body.status).toBe('running');
  });

  it("a worker's periodic sweep starts the workflow of a job an API process stored but never started", async () => {
    const stored = await latestDefinition(env.db, T);
    if (!stored) throw new Error('no definition');
    const cases = [1, 2].map((i) => ({ externalKey: key(`SW${i}`), data: { subject: `Swept ${i}` } }));
    const { valid } = await prepareCases(env.db, stored, casesFromJson({ cases }), env.users.sam.id);
    // Stored, then the API process stopped before starting its workflow; silent for 3 minutes.
    const id = `imp-${env.prefix}-swept`;
    const job = { format: 'json', filename: 'swept.json', caseType: T, createdBy: env.users.sam.id } as const;
    await createImportJob(env.db, { ...job, id, definitionVersion: stored.version }, valid, []);
    await env.db.query(`UPDATE imports SET updated_at = now() - interval '3 minutes' WHERE id = $1`, [id]);

    await sweepOnce(env.db, env.client, env.taskQueue);
    const done = await eventually(
      async () => {
        const res = await env.http(env.users.sam, 'GET', `/api/imports/${id}`);
        return res.body.status === 'completed' ? res.body : undefined;
      },
      30_000,
      'the swept import to finish',
    );
    expect(done).toMatchObject({ processed: 2, created: 2, failed: 0 });
  });

  it('a batch retried after its Update was applied but before the row was recorded still says updated, once', async () => {
    const stored = await latestDefinition(env.db, T);
    if (!stored) throw new Error('no definition');
    const job = { format: 'json', filename: 'retry.json', caseType: T, createdBy: env.users.sam.id } as const;
    const store = async (id: string, amount: number) => {
      const cases = [{ externalKey: key('RT1'), data: { subject: 'Retried', amount } }];
      const { valid } = await prepareCases(env.db, stored, casesFromJson({ cases }), env.users.sam.id);
      await createImportJob(env.db, { ...job, id, definitionVersion: stored.version }, valid, []);
    };
    const engine = workerImportEngine(env.db, env.client, env.taskQueue);
    const first = `imp-${env.prefix}-rt-1`;
    await store(first, 100);
    expect(await processImportBatch(env.db, first, engine, 10)).toMatchObject({ fetched: 1, created: 1 });

    // The second job's Update reaches the case, then the worker loses the engine before recording the row.
    const second = `imp-${env.prefix}-rt-2`;
    await store(second, 150);
    const lost: ImportEngine = {
      start: engine.start,
      act: async (caseId, event, updateId) => {
        await engine.act(caseId, event, updateId);
        throw new ImportEngineUnavailableError('connection lost after the update');
      },
    };
    await expect(processImportBatch(env.db, second, lost, 10)).rejects.toThrow('connection lost');
    const pending = await env.http(env.users.sam, 'GET', `/api/imports/${second}/rows`);
    expect(pending.body.items).toEqual([expect.objectContaining({ state: 'pending', changes: null })]);

    // The retried batch finds the case already changed: the row is still the update it made, counted once.
    expect(await processImportBatch(env.db, second, engine, 10)).toMatchObject({
      fetched: 1,
      processed: 1,
      updated: 1,
      unchanged: 0,
    });
    const rows = await env.http(env.users.sam, 'GET', `/api/imports/${second}/rows`);
    expect(rows.body.items).toEqual([
      expect.objectContaining({ state: 'updated', changes: ['data.amount'], error: null }),
    ]);
    const view = (await env.http(env.users.admin, 'GET', `/api/cases/${rows.body.items[0].caseId}`)).body;
    expect(view.data.amount).toBe(150);
    const updates = view.timeline.filter((e: { kind: string }) => e.kind === 'case.updated');
    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatchObject({ detail: { before: { amount: 100 }, after: { amount: 150 } } });
  });

  it('reads decimals written the Spanish way: "," from a semicolon file, "." when asked, each rule strict', async () => {
    // A semicolon-separated file (as a Spanish spreadsheet saves it) defaults to "," as the decimal mark.
    const spanish = [
      'externalKey;data.subject;data.amount;line.product;line.quantity;line.amount',
      `${key('D1')};Spanish;1.234,5;A;1.000;1234,50`,
      `${key('D2')};Ambiguous;1.234;B;2;0,5`,
    ].join('\r\n');
    const res = await upload(env, env.users.sam, `/api/imports?caseType=${T}&wait=true`, spanish, 'text/csv');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ created: 2, failed: 0 });
    const cases = await importedCases(res.body.id);
    // 1.234,5 = one thousand two hundred thirty-four and a half; 1.000 = one thousand; 1234,50 = 1234.5.
    expect(cases[key('D1')]).toMatchObject({
      data: { amount: 1234.5 },
      lines: [{ product: 'A', quantity: 1000, amount: 1234.5 }],
    });
    // With "," as the decimal mark, "1.234" groups thousands: 1234, never 1.234.
    expect(cases[key('D2')]).toMatchObject({
      data: { amount: 1234 },
      lines: [{ product: 'B', quantity: 2, amount: 0.5 }],
    });

    // The same ambiguous text read the English way (decimal=.) is one point two three four.
    const english = [
      'externalKey,data.subject,data.amount,line.product,line.quantity',
      `${key('E1')},English,"1,234.5",A,1.234`,
    ].join('\r\n');
    const en = await upload(
      env,
      env.users.sam,
      `/api/imports?caseType=${T}&wait=true&decimal=.`,
      english,
      'text/csv',
    );
    expect(en.status).toBe(200);
    expect((await importedCases(en.body.id))[key('E1')]).toMatchObject({
      data: { amount: 1234.5 },
      lines: [{ product: 'A', quantity: 1.234 }],
    });
  });

  it('refuses a number the chosen decimal rule cannot read, with its row and column, and an unknown rule', async () => {
    const csv = [
      'externalKey;data.subject;data.amount;line.product;line.quantity',
      `${key('X1')};Fine;10,5;A;1`,
      `${key('X2')};English in a Spanish file;1,234.5;A;1`,
      `${key('X2')};;;B;12abc`,
    ].join('\n');
    const res = await upload(env, env.users.sam, `/api/imports?caseType=${T}&decimal=,`, csv, 'text/csv');
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      {
        line: 3,
        externalKey: key('X2'),
        pointer: '/body/rows/3/3',
        message: 'data.amount: "1,234.5" is not a number written with "," as the decimal mark',
      },
      {
        line: 3,
        externalKey: key('X2'),
        pointer: '/body/rows/4/5',
        message: 'line.quantity: "12abc" is not a number written with "," as the decimal mark',
      },
    ]);
    expect(await count(env, 'imported_cases WHERE external_key = $1', [key('X1')])).toBe(0);

    const english = await upload(
      env,
      env.users.sam,
      `/api/imports?caseType=${T}&decimal=.`,
      ['externalKey,data.subject,data.amount', `${key('X3')},Spanish in an English file,"1.234,5"`].join(
        '\n',
      ),
      'text/csv',
    );
    expect(english.status).toBe(400);
    expect(english.body.errors).toEqual([
      expect.objectContaining({
        pointer: '/body/rows/2/3',
        message: 'data.amount: "1.234,5" is not a number written with "." as the decimal mark',
      }),
    ]);

    const unknownRule = await upload(
      env,
      env.users.sam,
      `/api/imports?caseType=${T}&decimal=x`,
      csv,
      'text/csv',
    );
    expect(unknownRule.status).toBe(400);
    expect(unknownRule.body.errors).toEqual([expect.objectContaining({ pointer: '/query/decimal' })]);
  });

  it('imports an .xlsx sheet: number cells as they are, text cells by the decimal rule', async () => {
    const wb = new ExcelJS.Workbook();
    wb.addWorksheet('Cases').addRows([
      [
        'externalKey',
        'data.subject',
        'data.amount',
        'data.expectedCloseDate',
        'line.product',
        'line.quantity',
        'line.amount',
      ],
      [key('S1'), 'Sheet', 1234.5, new Date(Date.UTC(2031, 5, 30)), 'A', 3, '1.234,5'],
      [key('S1'), '', '', '', 'B', '0,25', 7],
    ]);
    const file = Buffer.from(await wb.xlsx.writeBuffer());
    const res = await upload(
      env,
      env.users.sam,
      `/api/imports?caseType=${T}&wait=true&decimal=,`,
      file,
      XLSX,
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ format: 'xlsx', created: 1 });
    expect((await importedCases(res.body.id))[key('S1')]).toMatchObject({
      data: { amount: 1234.5, expectedCloseDate: '2031-06-30' },
      lines: [
        { product: 'A', quantity: 3, amount: 1234.5 },
        { product: 'B', quantity: 0.25, amount: 7 },
      ],
    });
  });

  it('a re-import changes what differs through the case workflow, says so per row, and twice changes nothing', async () => {
    const first = {
      caseType: T,
      filename: 'update-1.json',
      cases: [
        {
          externalKey: key('U1'),
          data: { subject: 'Pallets', amount: 100, probability: 10 },
          lines: [{ product: 'P', quantity: 1, amount: 100 }],
        },
        { externalKey: key('U2'), data: { subject: 'Crates', amount: 50 } },
      ],
    };
    const created = await env.http(env.users.sam, 'POST', '/api/imports?wait=true', first);
    expect(created.body).toMatchObject({ created: 2, updated: 0, failed: 0 });
    const second = {
      caseType: T,
      filename: 'update-2.json',
      cases: [
        {
          externalKey: key('U1'),
          status: 'POSTPONED',
          data: { subject: 'Pallets', amount: 150, probability: 10 },
          lines: [{ product: 'P', quantity: 2, amount: 150 }],
        },
        { externalKey: key('U2'), data: { subject: 'Crates', amount: 50 } },
      ],
    };
    const res = await env.http(env.users.sam, 'POST', '/api/imports?wait=true', second);
    expect(res.body).toMatchObject({ result: 'imported', created: 0, updated: 1, unchanged: 1, failed: 0 });
    const rows = await env.http(env.users.sam, 'GET', `/api/imports/${res.body.id}/rows`);
    expect(rows.body.items).toEqual([
      expect.objectContaining({ line: 1, state: 'updated', changes: ['data.amount', 'lines', 'status'] }),
      expect.objectContaining({ line: 2, state: 'unchanged', changes: null }),
    ]);
    const u1 = (await env.http(env.users.admin, 'GET', `/api/cases/${rows.body.items[0].caseId}`)).body;
    expect(u1).toMatchObject({
      status: 'POSTPONED',
      data: { subject: 'Pallets', amount: 150, probability: 10 },
      lines: [{ product: 'P', quantity: 2, amount: 150 }],
    });
    // The changes went through the workflow: its timeline has them, by the importer.
    const kinds = u1.timeline.map((e: { kind: string }) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['case.updated', 'status.changed']));
    const update = u1.timeline.find((e: { kind: string }) => e.kind === 'case.updated');
    expect(update).toMatchObject({
      actor: env.users.sam.id,
      detail: { before: { amount: 100 }, after: { amount: 150 } },
    });
    const state = await env.client.workflow.getHandle(rows.body.items[0].caseId).query('state');
    expect(state).toMatchObject({ status: 'POSTPONED', data: { amount: 150 } });

    const again = await env.http(env.users.sam, 'POST', '/api/imports?wait=true', second);
    expect(again.body).toMatchObject({
      result: 'unchanged',
      created: 0,
      updated: 0,
      unchanged: 2,
      failed: 0,
    });
    const after = (await env.http(env.users.admin, 'GET', `/api/cases/${rows.body.items[0].caseId}`)).body;
    expect(after.version).toBe(u1.version);
    expect(after.timeline).toHaveLength(u1.timeline.length);
  });

  it('a row sets the status of a new case; an unknown one, or one not set by hand, is an error with its pointer', async () => {
    const unknown = await env.http(env.users.sam, 'POST', '/api/imports', {
      caseType: T,
      cases: [{ externalKey: key('V1'), status: 'NOPE', data: { subject: 'x' } }],
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors).toEqual([
      expect.objectContaining({
        line: 1,
        pointer: '/body/cases/0/status',
        message: expect.stringMatching(/^"NOPE" is not a status of .*IDENTIFYING, PRESENTING/),
      }),
    ]);
    const csv = ['externalKey,status,data.subject,data.amount', `${key('V2')},WON,Won deal,500`].join('\n');
    const bySupervisor = await upload(env, env.users.sam, `/api/imports?caseType=${T}`, csv, 'text/csv');
    expect(bySupervisor.status).toBe(400);
    expect(bySupervisor.body.errors).toEqual([
      expect.objectContaining({
        line: 2,
        pointer: '/body/rows/2/status',
        message: expect.stringMatching(/administrator/),
      }),
    ]);

    const byAdmin = await upload(
      env,
      env.users.admin,
      `/api/imports?caseType=${T}&wait=true`,
      csv,
      'text/csv',
    );
    expect(byAdmin.body).toMatchObject({ created: 1, failed: 0 });
    const rows = await env.http(env.users.admin, 'GET', `/api/imports/${byAdmin.body.id}/rows`);
    const won = (await env.http(env.users.admin, 'GET', `/api/cases/${rows.body.items[0].caseId}`)).body;
    expect(won).toMatchObject({ status: 'WON', statusCategory: 'won', data: { amount: 500 } });

    // A closed case is not changed behind its workflow's back: the engine refuses, the row says so.
    const changed = csv.replace(',500', ',600');
    const late = await upload(
      env,
      env.users.admin,
      `/api/imports?caseType=${T}&wait=true`,
      changed,
      'text/csv',
    );
    expect(late.body).toMatchObject({ result: 'partial', failed: 1, updated: 0 });
    expect(late.body.errors[0].message).toMatch(/was not updated: .*(ended|no longer running)/);
    const still = (await env.http(env.users.admin, 'GET', `/api/cases/${rows.body.items[0].caseId}`)).body;
    expect(still.data.amount).toBe(500);
  });
});
