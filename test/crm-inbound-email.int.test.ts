import nodemailer from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer';
import type Mail from 'nodemailer/lib/mailer';
import { CaseGateway } from '../api/gateway';
import { projectCase } from '../activities/projection';
import { startInboundSmtp, type InboundSmtp } from '../infra/inbound-smtp';
import { count, upload } from './support/crm';
import { eventually, scoped, shippedDefinition, startTestEnv, type TestEnv } from './support/env';

let env: TestEnv;
let opportunity: string;
let mailbox: string;

/** A real MIME message, built by nodemailer's composer. */
function compose(options: Mail.Options): Promise<Buffer> {
  return new MailComposer(options).compile().build();
}

beforeAll(async () => {
  env = await startTestEnv();
  opportunity = await env.publish(scoped(shippedDefinition('opportunity'), env.prefix));
  mailbox = `sales-${env.prefix}@crm.example`;
  const res = await env.http(env.users.admin, 'PUT', `/api/integrations/inbound-mailboxes/${mailbox}`, {
    caseType: opportunity,
    entityKind: 'CL',
    ownerId: env.users.alice.id,
    caseData: { currency: 'EUR' },
  });
  expect(res.status).toBe(200);
});

afterAll(async () => {
  await env?.stop();
});

const post = (raw: Buffer | string, query = '') =>
  upload(env, env.users.admin, `/api/integrations/inbound-email${query}`, raw, 'message/rfc822');

describe('inbound email through HTTP', () => {
  it('creates the entity, the contact and an opportunity with the message attached; the same message again changes nothing', async () => {
    const sender = `laura.${env.prefix}@newco.example`;
    const raw = await compose({
      from: { name: 'Laura Gómez', address: sender },
      to: mailbox,
      subject: 'Quote for 40 forklifts',
      text: 'Hello, we need a quote for 40 electric forklifts.',
      html: '<p>Hello, we need a quote for <b>40</b> electric forklifts.</p>',
      attachments: [{ filename: 'specs.txt', content: 'load: 2.5 t' }],
      messageId: `<quote-1.${env.prefix}@newco.example>`,
    });
    const res = await post(raw);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      result: 'created',
      mailbox,
      caseType: opportunity,
      entityCreated: true,
      contactCreated: true,
      messageId: `<quote-1.${env.prefix}@newco.example>`,
    });

    const theCase = await env.http(env.users.alice, 'GET', `/api/cases/${res.body.caseId}`);
    expect(theCase.status).toBe(200);
    expect(theCase.body).toMatchObject({
      status: 'IDENTIFYING',
      ownerId: env.users.alice.id,
      data: { subject: 'Quote for 40 forklifts', currency: 'EUR' },
      entity: { id: res.body.entityId, name: 'Laura Gómez' },
    });
    const entity = await env.http(env.users.alice, 'GET', `/api/entities/${res.body.entityId}`);
    expect(entity.body).toMatchObject({ kind: 'CL', entityType: 'person', email: sender, source: 'email' });
    expect(entity.body.contacts).toEqual([
      expect.objectContaining({ email: sender, isPrimary: true, name: 'Laura Gómez' }),
    ]);

    const attachments = await env.http(env.users.alice, 'GET', `/api/cases/${res.body.caseId}/attachments`);
    expect(attachments.body.items).toEqual([
      expect.objectContaining({
        kind: 'email',
        contentType: 'message/rfc822',
        size: raw.length,
        filename: 'Quote for 40 forklifts.eml',
      }),
    ]);
    const download = await fetch(env.baseUrl + attachments.body.items[0].href, {
      headers: { authorization: `Bearer ${env.users.alice.token}` },
    });
    expect(Buffer.from(await download.arrayBuffer()).equals(raw)).toBe(true);

    const again = await post(raw);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ result: 'unchanged', caseId: res.body.caseId, entityCreated: false });
    expect(await count(env, 'cases WHERE entity_id = $1', [res.body.entityId])).toBe(1);
    expect(await count(env, 'case_attachments WHERE case_id = $1', [res.body.caseId])).toBe(1);

    // A second message from the same sender matches the contact.
    const second = await post(
      await compose({
        from: sender,
        to: mailbox,
        subject: 'Also pallets',
        text: 'And pallets.',
        messageId: `<quote-2.${env.prefix}@newco.example>`,
      }),
    );
    expect(second.status).toBe(201);
    expect(second.body).toMatchObject({
      entityId: res.body.entityId,
      contactId: res.body.contactId,
      entityCreated: false,
      contactCreated: false,
    });
  });

  it('matches an existing entity by its address and adds the sender as a contact', async () => {
    const created = await env.http(env.users.alice, 'POST', '/api/entities', {
      kind: 'CL',
      code: `${env.prefix}-MAIL`,
      name: 'Known Co',
      email: `orders.${env.prefix}@known.example`,
    });
    const res = await post(
      await compose({
        from: `orders.${env.prefix}@known.example`,
        cc: mailbox,
        to: 'someone@else.example',
        subject: 'Reorder',
      }),
    );
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ entityId: created.body.id, entityCreated: false, contactCreated: true });
  });

  it('rejects an invalid sender and an unknown mailbox with located errors, writing nothing', async () => {
    const badSender = await compose({
      from: 'root@localhost',
      to: mailbox,
      subject: 'x',
      messageId: `<bad.${env.prefix}@x.example>`,
    });
    const bad = await post(badSender);
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([
      { pointer: '/body/headers/from', message: expect.stringMatching(/two labels/) },
    ]);
    expect(
      await count(env, 'inbound_messages WHERE message_id = $1', [`<bad.${env.prefix}@x.example>`]),
    ).toBe(0);

    const unknown = await post(
      await compose({ from: 'a@b.example', to: `nobody-${env.prefix}@crm.example`, subject: 'x' }),
    );
    expect(unknown.status).toBe(422);
    expect(unknown.body.errors[0].pointer).toBe('/body/headers/to');

    const wrongType = await env.http(env.users.admin, 'POST', '/api/integrations/inbound-email', {
      not: 'mime',
    });
    expect(wrongType.status).toBe(415);
  });
});

describe('inbound email through SMTP', () => {
  let smtp: InboundSmtp;

  beforeAll(async () => {
    const gateway = new CaseGateway(env.client, env.taskQueue, 10_000, (projection) =>
      projectCase(env.db, projection),
    );
    smtp = await startInboundSmtp({
      port: 0,
      db: env.db,
      startCase: (def, start) => gateway.start(def, start),
    });
  });

  afterAll(async () => {
    await smtp?.stop();
  });

  it('opens a case for mail sent to the configured address and refuses other recipients', async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: smtp.port,
      secure: false,
      ignoreTLS: true,
    });
    const messageId = `<smtp-1.${env.prefix}@far.example>`;
    await transport.sendMail({
      from: { name: 'Marta Vidal', address: `marta.${env.prefix}@far.example` },
      to: mailbox,
      subject: 'Visit request',
      text: 'Could you visit us next week?',
      messageId,
    });
    const row = await eventually(async () => {
      const rows = await env.db.query<{ case_id: string }>(
        'SELECT case_id FROM inbound_messages WHERE message_id = $1',
        [messageId],
      );
      return rows[0];
    });
    const theCase = await env.http(env.users.alice, 'GET', `/api/cases/${row.case_id}`);
    expect(theCase.body).toMatchObject({
      data: { subject: 'Visit request' },
      entity: { name: 'Marta Vidal' },
    });

    await expect(
      transport.sendMail({
        from: 'a@b.example',
        to: `nobody-${env.prefix}@crm.example`,
        subject: 'x',
        text: 'x',
      }),
    ).rejects.toThrow(/550/);
    transport.close();
  });
});
