import type { ReceivedMail } from '../infra/smtp-sink';
import { scheduleIdFor, syncSchedules } from '../lib/schedules';
import { ScheduleNotFoundError } from '@temporalio/client';
import { byRule, header, mailDefinition } from './support/email-fixtures';
import { eventually, startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;
let caseType: string;
const WAIT = 20_000;
const addr = (name: string) => `${name}.${env.prefix}@example.com`;

beforeAll(async () => {
  env = await startTestEnv();
  // Bob reads Spanish; the others English.
  await env.db.query(`UPDATE users SET locale = 'es' WHERE id = $1`, [env.users.bob.id]);
  caseType = await env.publish(mailDefinition(env));
  const entity = `${env.prefix}-acme`;
  const contact = (
    id: string,
    name: string,
    email: string,
    roles: string[],
    primary: boolean,
    locale: string,
  ) =>
    env.db.query(
      `INSERT INTO contacts (id, entity_id, name, email, roles, is_primary, locale) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [`${env.prefix}-${id}`, entity, name, email, roles, primary, locale],
    );
  await contact('pat', 'Pat Primary', addr('pat'), ['buyer'], true, 'es');
  await contact('bill', 'Bill Billing', addr('bill'), ['billing'], false, 'en');
  await contact('olga', 'Olga Optout', addr('olga'), [], false, 'en');
  await contact('nobody', 'No Address', 'not an address', ['billing'], false, 'en');
  await env.db.query(`INSERT INTO email_opt_outs (address, source) VALUES ($1, 'test')`, [addr('olga')]);
});

afterAll(async () => {
  for (const rule of ['digest', 'pipeline']) {
    await env?.client.schedule
      .getHandle(scheduleIdFor(caseType, rule))
      .delete()
      .catch(() => undefined);
  }
  await env?.stop();
});

interface StartedCase {
  id: string;
  title: string;
  tasks: { id: string; step: string }[];
}

async function startCase(subject: string): Promise<StartedCase> {
  const res = await env.http(env.users.alice, 'POST', '/api/cases', {
    caseType,
    entityId: `${env.prefix}-acme`,
    data: { subject, amount: 12500, currency: 'EUR', expectedCloseDate: '2025-03-04' },
  });
  expect(res.status).toBe(201);
  return res.body;
}

async function openTask(caseId: string, step: string): Promise<{ id: string; dueAt: string | null }> {
  return eventually(
    async () => {
      const view = await env.http(env.users.sam, 'GET', `/api/cases/${caseId}`);
      return view.body.tasks.find(
        (t: { step: string; status: string }) => t.step === step && t.status === 'open',
      );
    },
    WAIT,
    `open task ${step}`,
  );
}

async function complete(caseId: string, step: string, outcome: string, user = env.users.alice) {
  const task = await openTask(caseId, step);
  const res = await env.http(user, 'POST', `/api/tasks/${task.id}/complete`, { outcome });
  expect(res.status).toBe(200);
  return task;
}

const mail = (pred: (m: ReceivedMail) => boolean) => env.sink.waitFor(pred, WAIT);

async function outboxRows(caseId: string, ruleId: string) {
  return env.db.query<{ state: string; idempotency_key: string; recipients: { skipped?: string[] } }>(
    'SELECT state, idempotency_key, recipients FROM email_outbox WHERE case_id = $1 AND rule_id = $2 ORDER BY id',
    [caseId, ruleId],
  );
}

describe('status triggers', () => {
  it('entering a status emails the owner (cc supervisor) in English and Bob in Spanish', async () => {
    const started = await startCase('Forklifts');
    const en = await mail(byRule(started.id, 'entered-en'));
    expect(en.to).toEqual([addr('alice')]);
    expect(en.cc).toEqual([addr('sam')]);
    expect(en.subject).toBe(`Opportunity New: ${started.title}`);
    expect(en.text).toContain(`The opportunity "${started.title}" is now New, worth €12,500.00.`);
    expect(en.text).toContain('Expected to close on March 4, 2025.');
    expect(en.html).toContain('<html lang="en">');
    expect(en.html).toContain('<strong>€12,500.00</strong>');
    // Links open the web app's case page, not the JSON API.
    expect(en.html).toContain(`<a href="http://localhost:3000/cases/${started.id}">`);

    const es = await mail(byRule(started.id, 'entered-es'));
    expect(es.to).toEqual([addr('bob')]);
    expect(es.cc).toEqual([]);
    expect(es.subject).toBe(`Oportunidad New: ${started.title}`);
    expect(es.text).toMatch(/por un importe de 12\.500,00\s€\./);
    expect(es.text).toContain('Cierre previsto el 4 de marzo de 2025.');
    expect(es.text).toContain(`Enviado por el CRM a ${addr('bob')}.`);
    expect(es.html).toContain('<html lang="es">');
    expect(es.html).toMatch(/<strong>12\.500,00\s€<\/strong>/);
    // The two messages are distinct outbox rows with their own deterministic Message-IDs.
    expect(en.messageId).not.toBe(es.messageId);
    expect(en.messageId).toMatch(/^<[0-9a-f]{32}@localhost>$/);
  });

  it('leaving a status, completing a task: owner, a fixed address, bcc supervisor, duplicates removed', async () => {
    const started = await startCase('Pallets');
    const qualify = await complete(started.id, 'qualify', 'work');

    const left = await mail(byRule(started.id, 'left-new'));
    expect(left.to).toEqual([addr('alice'), 'deals@example.com']);
    expect(left.subject).toBe(`${started.title}: Working`);
    expect(left.text).toContain(`The case "${started.title}" is now Working.`);
    expect(left.html).toContain('<td>Working</td>');

    const done = await mail(byRule(started.id, 'completed'));
    // to: owner and user:alice are the same person; cc: the owner again, dropped; bcc: only in the envelope.
    expect(done.to).toEqual([addr('alice')]);
    expect(done.cc).toEqual([]);
    expect(done.envelopeTo.sort()).toEqual([addr('alice'), addr('sam')].sort());
    expect(done.raw).not.toContain(addr('sam'));
    expect(done.subject).toBe(`Phone call: Qualify Pallets`);
    expect(done.html).toContain('This task was completed (work)');
    expect(done.text).toContain('Outcome: work');
    expect(done.text).toContain(`\nhttp://localhost:3000/tasks/${qualify.id}\n`);
  });

  it('a delayed rule is sent when the case is still in the status', async () => {
    const started = await startCase('Cranes');
    await complete(started.id, 'qualify', 'work');
    const still = await mail(byRule(started.id, 'still-working'));
    expect(still.to).toEqual([addr('alice')]);
    expect(still.subject).toBe(`${started.title}: Working`);
    await eventually(async () => (await outboxRows(started.id, 'still-working'))[0]?.state === 'sent');
  });

  it('a delayed rule is cancelled when the case moved on before the delay', async () => {
    const started = await startCase('Hoists');
    await complete(started.id, 'qualify', 'present');
    await complete(started.id, 'decide', 'back');
    // `presenting-later` fires a second after the cancelled one would have: once it is here, the other is not coming.
    await mail(byRule(started.id, 'presenting-later'));
    expect(env.sink.messages().filter(byRule(started.id, 'still-presenting'))).toEqual([]);
    expect(await outboxRows(started.id, 'still-presenting')).toEqual([]);
  });
});

describe('task triggers', () => {
  it('task created: every candidate of the team', async () => {
    const started = await startCase('Shelves');
    const created = await mail(byRule(started.id, 'created'));
    expect(created.to.sort()).toEqual([addr('alice'), addr('bob')].sort());
    expect(created.subject).toBe('Phone call: Qualify Shelves');
    expect(created.html).toContain('A new task was created:');
  });

  it('task assigned on a dated action: the assignee, in Spanish, with a calendar invitation', async () => {
    const started = await startCase('Conveyor');
    await complete(started.id, 'qualify', 'work');
    const visit = await openTask(started.id, 'visit');
    const assigned = await mail(byRule(started.id, 'assigned-invite'));
    expect(assigned.to).toEqual([addr('bob')]);
    expect(assigned.subject).toBe(`Visit: Visit ACME ${env.prefix}`);
    expect(assigned.html).toContain(`Esta tarea está ahora asignada a Bob ${env.prefix}:`);
    expect(assigned.text).toMatch(/Vence: \d{1,2} de [a-z]+ de \d{4} a las \d{1,2}:\d{2}/);
    expect(assigned.raw).toMatch(/Content-Type: text\/calendar; charset=utf-8; method=REQUEST/i);
    const ics = icsOf(assigned);
    expect(ics).toContain('METHOD:REQUEST');
    expect(ics).toContain(`UID:${visit.id}@localhost`);
    expect(ics).toContain(`SUMMARY:Visit ACME ${env.prefix}`);
    expect(ics).toContain(`DTSTART:${compactUtc(visit.dueAt as string)}`);
    expect(ics).toMatch(new RegExp(`ATTENDEE;[^\\n]*:MAILTO:${addr('bob').replace(/\./g, '\\.')}`, 'i'));
  });

  it('task overdue: the assignee, cc supervisor, when the due date passes', async () => {
    const started = await startCase('Ladders');
    await complete(started.id, 'qualify', 'chase');
    const chase = await openTask(started.id, 'chase');
    const overdue = await mail(byRule(started.id, 'overdue'));
    expect(overdue.to).toEqual([addr('alice')]);
    expect(overdue.cc).toEqual([addr('sam')]);
    expect(overdue.subject).toBe(`Overdue: Phone call: Chase ACME ${env.prefix}`);
    expect(overdue.html).toContain('This task is <strong>overdue</strong>');
    expect(new Date(overdue.receivedAt).getTime()).toBeGreaterThanOrEqual(
      new Date(chase.dueAt as string).getTime(),
    );
  });

  it('before due: the assignee, ahead of the due date', async () => {
    const started = await startCase('Racks');
    await complete(started.id, 'qualify', 'prepare');
    const prepare = await openTask(started.id, 'prepare');
    const soon = await mail(byRule(started.id, 'due-soon'));
    expect(soon.to).toEqual([addr('alice')]);
    expect(soon.subject).toBe(`Task: Prepare the offer for ACME ${env.prefix}`);
    expect(soon.html).toContain('This task is due soon:');
    expect(new Date(soon.receivedAt).getTime()).toBeLessThan(new Date(prepare.dueAt as string).getTime());
  });
});

describe('contacts, marketing and opt-outs', () => {
  async function win(subject: string): Promise<StartedCase> {
    const started = await startCase(subject);
    await complete(started.id, 'qualify', 'work');
    await complete(started.id, 'visit', 'done', env.users.bob);
    return started;
  }

  it('sends marketing one message per contact with an unsubscribe link, never to opted-out contacts', async () => {
    const won = await win('Trucks');
    const pat = await mail(byRule(won.id, 'won-news', addr('pat')));
    const bill = await mail(byRule(won.id, 'won-news', addr('bill')));
    expect(pat.to).toEqual([addr('pat')]);
    expect(bill.to).toEqual([addr('bill')]);
    expect(pat.subject).toBe(`ACME ${env.prefix}: novedades para usted`);
    expect(bill.subject).toBe(`ACME ${env.prefix}: news for you`);
    const link = header(pat, 'List-Unsubscribe')?.replace(/^<|>$/g, '') as string;
    expect(link).toMatch(/^http:\/\/localhost:3000\/unsubscribe\/u1\./);
    expect(header(pat, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
    expect(pat.html).toContain(`href="${link}"`);
    expect(header(bill, 'List-Unsubscribe')).not.toBe(`<${link}>`);
    // Service rules: contact:primary and contact:role:billing (the contact without a valid address is skipped).
    expect((await mail(byRule(won.id, 'won-service'))).to).toEqual([addr('pat')]);
    expect((await mail(byRule(won.id, 'won-plain'))).to).toEqual([addr('pat')]);
    expect((await mail(byRule(won.id, 'won-billing'))).to).toEqual([addr('bill')]);
    const [billing] = await outboxRows(won.id, 'won-billing');
    expect(billing?.recipients.skipped).toEqual([expect.stringMatching(/^not an address: invalid/)]);
    expect(env.sink.messages().some((m) => m.envelopeTo.includes(addr('olga')))).toBe(false);
    const news = await outboxRows(won.id, 'won-news');
    expect(news.map((r) => r.idempotency_key).sort()).toEqual(
      [addr('bill'), addr('pat')].map((a) => expect.stringMatching(new RegExp(`/won-news/\\d+/${a}$`))),
    );

    // Pat follows the link (no login); a forged token is refused.
    const page = await fetch(link.replace('http://localhost:3000', env.baseUrl));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(`${addr('pat')} will receive no more marketing emails`);
    const token = link.split('/').pop() ?? '';
    const tampered = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    const forged = await env.http(null, 'GET', `/unsubscribe/${tampered}`);
    expect(forged.status).toBe(400);
    expect(forged.type).toContain('application/problem+json');

    const again = await win('Vans');
    await mail(byRule(again.id, 'won-news', addr('bill')));
    // The service email that may bypass opt-outs still reaches Pat; the one that may not is skipped.
    expect((await mail(byRule(again.id, 'won-service'))).to).toEqual([addr('pat')]);
    const plain = await eventually(async () =>
      (await outboxRows(again.id, 'won-plain')).find((r) => r.state !== 'queued'),
    );
    expect(plain.state).toBe('skipped');
    expect(plain.recipients.skipped).toEqual([`${addr('pat')}: opted out`]);
    const newsRows = await eventually(async () => {
      const rows = await outboxRows(again.id, 'won-news');
      return rows.length > 0 && rows.every((r) => r.state === 'sent') ? rows : undefined;
    });
    expect(newsRows.map((r) => r.idempotency_key)).toEqual([
      expect.stringMatching(new RegExp(`${addr('bill')}$`)),
    ]);
    expect(env.sink.messages().filter(byRule(again.id, 'won-news', addr('pat')))).toEqual([]);
  });
});

describe('calendar rules as Temporal Schedules', () => {
  it('creates the schedules; a triggered digest reaches each agent in their language; removed rules disappear', async () => {
    // Bob has a pending visit; Alice an overdue chase.
    const forBob = await startCase('Digest visit');
    await complete(forBob.id, 'qualify', 'work');
    const forAlice = await startCase('Digest chase');
    await complete(forAlice.id, 'qualify', 'chase');
    await mail(byRule(forAlice.id, 'overdue'));

    const def = mailDefinition(env);
    const synced = await syncSchedules(env.client, [def], env.taskQueue);
    expect(synced.created.sort()).toEqual(
      [scheduleIdFor(caseType, 'digest'), scheduleIdFor(caseType, 'pipeline')].sort(),
    );
    const digest = env.client.schedule.getHandle(scheduleIdFor(caseType, 'digest'));
    const described = await digest.describe();
    expect(described.spec.timezone).toBe('Europe/Madrid');

    const since = Date.now();
    await digest.trigger();
    const isDigest = (to: string) => (m: ReceivedMail) =>
      header(m, 'X-CRM-Rule') === 'digest' &&
      m.envelopeTo.includes(to) &&
      new Date(m.receivedAt).getTime() >= since;
    const alice = await mail(isDigest(addr('alice')));
    expect(alice.subject).toMatch(/^Your Mail rules tasks: [1-9]\d* overdue, \d+ pending$/);
    expect(alice.text).toContain(`- Chase ACME ${env.prefix}: ACME ${env.prefix}: Digest chase, due `);
    expect(alice.html).toContain('<h3>Overdue (');
    expect(alice.html).toMatch(/<li><a href="http:\/\/localhost:3000\/tasks\/[^"]+">Chase ACME /);
    expect(alice.text).toContain('Inbox: http://localhost:3000/inbox\n');
    const bob = await mail(isDigest(addr('bob')));
    expect(bob.subject).toMatch(/^Tus tareas de Mail rules: \d+ vencidas, [1-9]\d* pendientes$/);
    expect(bob.text).toMatch(
      new RegExp(
        `- Visit ACME ${env.prefix}: ACME ${env.prefix}: Digest visit, vence el \\d{1,2} de [a-z]+ de \\d{4}`,
      ),
    );
    expect(env.sink.messages().filter(isDigest(addr('carol')))).toEqual([]);

    const pipeline = env.client.schedule.getHandle(scheduleIdFor(caseType, 'pipeline'));
    await pipeline.trigger();
    const summary = await mail(
      (m) => header(m, 'X-CRM-Rule') === 'pipeline' && m.envelopeTo.includes(addr('sam')),
    );
    expect(summary.subject).toMatch(/^Mail rules pipeline: \d+ open, €[\d,]+\.00$/);
    expect(summary.text).toMatch(/- New: \d+ \(€[\d,]+\.00\)/);

    // The digest's outbox rows are keyed by the scheduled run: the same run never sends twice.
    const rows = await env.db.query<{ idempotency_key: string; state: string }>(
      `SELECT idempotency_key, state FROM email_outbox WHERE rule_id = 'digest' AND idempotency_key LIKE $1`,
      [`${scheduleIdFor(caseType, 'digest')}-%`],
    );
    expect(
      rows
        .filter((r) => r.state === 'sent')
        .map((r) => r.idempotency_key.split('/').pop())
        .sort(),
    ).toEqual(expect.arrayContaining([env.users.alice.id, env.users.bob.id]));

    // A definition without the pipeline rule removes its schedule and updates the other.
    const changed = { ...def, scheduledEmails: [{ ...def.scheduledEmails![0]!, cron: '30 7 * * 1-5' }] };
    const resynced = await syncSchedules(env.client, [changed], env.taskQueue);
    expect(resynced).toEqual({
      created: [],
      updated: [scheduleIdFor(caseType, 'digest')],
      deleted: [scheduleIdFor(caseType, 'pipeline')],
    });
    await expect(pipeline.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    const updated = await digest.describe();
    expect(updated.spec.calendars?.[0]).toMatchObject({
      hour: [{ start: 7, end: 7, step: 1 }],
      minute: [{ start: 30, end: 30, step: 1 }],
    });
  });
});

describe('the email API', () => {
  it('lists emails by case, rule and state, paginated, to those who may see the case', async () => {
    const started = await startCase('Listing');
    await mail(byRule(started.id, 'entered-es'));
    await mail(byRule(started.id, 'created'));
    await eventually(async () => {
      const rows = await env.db.query<{ state: string }>(
        'SELECT state FROM email_outbox WHERE case_id = $1',
        [started.id],
      );
      return rows.length === 3 && rows.every((r) => r.state === 'sent');
    });
    const all = await env.http(env.users.alice, 'GET', `/api/emails?caseId=${started.id}`);
    expect(all.status).toBe(200);
    expect(all.body.items.map((e: { ruleId: string }) => e.ruleId).sort()).toEqual([
      'created',
      'entered-en',
      'entered-es',
    ]);
    const entered = all.body.items.find((e: { ruleId: string }) => e.ruleId === 'entered-en');
    expect(entered).toMatchObject({
      caseId: started.id,
      state: 'sent',
      to: [addr('alice')],
      cc: [addr('sam')],
      attempts: 1,
      deliveries: 1,
      redelivered: false,
      subject: `Opportunity New: ${started.title}`,
    });
    expect(entered.smtpResponse).toMatch(/^250/);

    const page1 = await env.http(env.users.alice, 'GET', `/api/emails?caseId=${started.id}&limit=2`);
    expect(page1.body.items).toHaveLength(2);
    const page2 = await env.http(
      env.users.alice,
      'GET',
      `/api/emails?caseId=${started.id}&limit=2&cursor=${page1.body.nextCursor}`,
    );
    expect(page2.body.items).toHaveLength(1);
    expect(page2.body.nextCursor).toBeNull();
    const byRuleAndState = await env.http(
      env.users.sam,
      'GET',
      `/api/emails?ruleId=created&state=sent&caseId=${started.id}`,
    );
    expect(byRuleAndState.body.items.map((e: { ruleId: string }) => e.ruleId)).toEqual(['created']);
    // Carol (another team) sees nothing of the case.
    expect((await env.http(env.users.carol, 'GET', `/api/emails?caseId=${started.id}`)).body.items).toEqual(
      [],
    );
    const bad = await env.http(env.users.alice, 'GET', '/api/emails?state=lost');
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].pointer).toBe('/query/state');
  });

  it('resends explicitly for supervisors: a new audited outbox row and a new message', async () => {
    const started = await startCase('Resend');
    const original = await mail(byRule(started.id, 'entered-en'));
    const [row] = await eventually(async () => {
      const rows = await env.db.query<{ id: number; idempotency_key: string; state: string }>(
        `SELECT id, idempotency_key, state FROM email_outbox WHERE case_id = $1 AND rule_id = 'entered-en'`,
        [started.id],
      );
      return rows[0]?.state === 'sent' ? rows : undefined;
    });
    const forbidden = await env.http(env.users.alice, 'POST', `/api/emails/${row!.id}/resend`, {});
    expect(forbidden.status).toBe(403);
    const resent = await env.http(env.users.sam, 'POST', `/api/emails/${row!.id}/resend`, {});
    expect(resent.status).toBe(202);
    expect(resent.body).toMatchObject({
      kind: 'resend',
      key: `${row!.idempotency_key}/resend/1`,
      resendOf: row!.id,
      requestedBy: env.users.sam.id,
    });
    const copy = await mail((m) => byRule(started.id, 'entered-en')(m) && m.messageId !== original.messageId);
    expect(copy.subject).toBe(original.subject);
    expect(copy.to).toEqual([addr('alice')]);
    const done = await eventually(async () => {
      const view = await env.http(env.users.sam, 'GET', `/api/emails/${resent.body.id}`);
      return view.body.state === 'sent' ? view.body : undefined;
    });
    expect(done.messageId).toBe(copy.messageId);
    expect(done.text).toContain('€12,500.00');
    const audit = await env.db.query('SELECT action, actor FROM email_audit WHERE outbox_id = $1', [row!.id]);
    expect(audit).toEqual([{ action: 'resend', actor: env.users.sam.id }]);
    const second = await env.http(env.users.admin, 'POST', `/api/emails/${resent.body.id}/resend`, {});
    expect(second.status).toBe(202);
    expect(second.body.key).toBe(`${row!.idempotency_key}/resend/2`);
  });

  it('previews a template with a real case or sample data', async () => {
    const started = await startCase('Preview');
    const real = await env.http(
      env.users.alice,
      'GET',
      `/api/templates/opportunity-update/preview?caseId=${started.id}&locale=es`,
    );
    expect(real.status).toBe(200);
    expect(real.body).toMatchObject({
      data: 'case',
      caseId: started.id,
      locale: 'es',
      subject: `Oportunidad New: ${started.title}`,
    });
    expect(real.body.text).toMatch(/12\.500,00\s€/);
    const sample = await env.http(env.users.dana, 'GET', '/api/templates/agent-digest/preview');
    expect(sample.status).toBe(200);
    expect(sample.body).toMatchObject({ data: 'sample', use: 'agent-digest' });
    // Sample data shaped by a published case type that uses the template.
    expect(sample.body.subject).toMatch(/^Your .+ tasks: 1 overdue, 1 pending$/);
    expect((await env.http(env.users.alice, 'GET', '/api/templates/agent-digest/preview')).status).toBe(403);
    expect((await env.http(env.users.dana, 'GET', '/api/templates/no-such/preview')).status).toBe(404);
    expect(
      (await env.http(env.users.carol, 'GET', `/api/templates/case-status/preview?caseId=${started.id}`))
        .status,
    ).toBe(404);
  });
});

/** The iCalendar part of a message. */
function icsOf(m: ReceivedMail): string {
  const match = /BEGIN:VCALENDAR[\s\S]*?END:VCALENDAR/.exec(m.raw);
  if (match) return match[0].replace(/\r?\n[ \t]/g, '');
  // Base64-encoded part: decode every base64 block and look again.
  for (const block of m.raw.split(/\r?\n\r?\n/)) {
    const text = Buffer.from(block.replace(/\s+/g, ''), 'base64').toString('utf8');
    if (text.includes('BEGIN:VCALENDAR')) return text.replace(/\r?\n[ \t]/g, '');
  }
  return '';
}

/** 2025-03-04T10:00:00.000Z -> 20250304T100000Z */
function compactUtc(iso: string): string {
  return iso.replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}
