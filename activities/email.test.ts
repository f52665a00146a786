import path from 'node:path';
import { smtpOptionsFromUrl, SmtpUrlError } from '../lib/mailer';
import { unsubscribeToken, verifyUnsubscribeToken } from '../lib/unsubscribe';
import { classifySmtpError, emailKey, messageIdFor, senderOf } from './email';
import { taskInvite } from './invite';
import { localeCandidates, TemplateStore } from './templates';

describe('SMTP failures', () => {
  const smtp = (responseCode: number | undefined, command: string, code = 'EENVELOPE') =>
    Object.assign(new Error('x'), { responseCode, command, code });

  it('are permanent only for a 5xx about the message (envelope or data)', () => {
    expect(classifySmtpError(smtp(550, 'RCPT TO'))).toBe('permanent');
    expect(classifySmtpError(smtp(554, 'DATA', 'EMESSAGE'))).toBe('permanent');
    expect(classifySmtpError(smtp(553, 'MAIL FROM'))).toBe('permanent');
    // A relay refusing our credentials or greeting is a configuration problem: retried, not failed.
    expect(classifySmtpError(smtp(535, 'AUTH PLAIN', 'EAUTH'))).toBe('not-accepted');
    expect(classifySmtpError(smtp(554, 'CONN', 'EPROTOCOL'))).toBe('not-accepted');
  });

  it('are transient and not accepted for a 4xx reply or a failure to connect', () => {
    expect(classifySmtpError(smtp(451, 'DATA', 'EMESSAGE'))).toBe('not-accepted');
    expect(
      classifySmtpError(
        Object.assign(new Error('connect ECONNREFUSED'), { code: 'ESOCKET', syscall: 'connect' }),
      ),
    ).toBe('not-accepted');
    expect(
      classifySmtpError(Object.assign(new Error('Greeting never received'), { code: 'ETIMEDOUT' })),
    ).toBe('not-accepted');
  });

  it('are uncertain when the connection dropped without a reply: the server may have the message', () => {
    expect(
      classifySmtpError(
        Object.assign(new Error('Connection closed unexpectedly'), { code: 'ECONNECTION', command: 'CONN' }),
      ),
    ).toBe('uncertain');
    expect(
      classifySmtpError(Object.assign(new Error('Timeout'), { code: 'ETIMEDOUT', command: 'CONN' })),
    ).toBe('uncertain');
  });
});

describe('message identity', () => {
  it('derives the key from case, rule and event, and the Message-ID from the key only', () => {
    const key = emailKey({ caseId: 'case-1', ruleId: 'won', eventKey: '7' });
    expect(key).toBe('case-1/won/7');
    expect(messageIdFor(key, 'crm.example.com')).toBe(messageIdFor(key, 'crm.example.com'));
    expect(messageIdFor(key, 'crm.example.com')).toMatch(/^<[0-9a-f]{32}@crm\.example\.com>$/);
    expect(messageIdFor(`${key}/resend/1`, 'crm.example.com')).not.toBe(messageIdFor(key, 'crm.example.com'));
  });

  it('reads the sender of MAIL_FROM', () => {
    expect(senderOf('CRM <crm@example.com>')).toEqual({ name: 'CRM', email: 'crm@example.com' });
    expect(senderOf('"Sales, ACME" <sales@acme.test>')).toEqual({
      name: 'Sales, ACME',
      email: 'sales@acme.test',
    });
    expect(senderOf('crm@example.com')).toEqual({ name: '', email: 'crm@example.com' });
  });
});

describe('SMTP_URL', () => {
  it('configures TLS, credentials, pooling and timeouts', () => {
    expect(
      smtpOptionsFromUrl('smtps://us%40er:p%3Ass@mail.example.com?pool=true&maxConnections=3'),
    ).toMatchObject({
      host: 'mail.example.com',
      port: 465,
      secure: true,
      auth: { user: 'us@er', pass: 'p:ss' },
      pool: true,
      maxConnections: 3,
      socketTimeout: 20_000,
    });
    expect(
      smtpOptionsFromUrl(
        'smtp://relay:2525?requireTLS=true&tls.rejectUnauthorized=false&tls.servername=mx&name=crm.local',
      ),
    ).toMatchObject({
      port: 2525,
      secure: false,
      requireTLS: true,
      name: 'crm.local',
      tls: { rejectUnauthorized: false, servername: 'mx' },
    });
    expect(smtpOptionsFromUrl('smtp://relay').port).toBe(587);
  });

  it('rejects what it does not understand', () => {
    expect(() => smtpOptionsFromUrl('http://relay')).toThrow(SmtpUrlError);
    expect(() => smtpOptionsFromUrl('smtp://relay?pool=yes')).toThrow('pool must be true or false');
    expect(() => smtpOptionsFromUrl('smtp://relay?poool=true')).toThrow('unknown parameter "poool"');
    expect(() => smtpOptionsFromUrl('smtp://relay?maxConnections=0')).toThrow(SmtpUrlError);
  });
});

describe('unsubscribe tokens', () => {
  it('carry the address and verify only with the key they were signed with', () => {
    const token = unsubscribeToken('secret', 'Pat@Example.com');
    expect(verifyUnsubscribeToken('secret', token)).toBe('pat@example.com');
    expect(verifyUnsubscribeToken('other', token)).toBeUndefined();
    const [v, , mac] = token.split('.');
    const forged = `${v}.${Buffer.from('boss@example.com').toString('base64url')}.${mac}`;
    expect(verifyUnsubscribeToken('secret', forged)).toBeUndefined();
    expect(verifyUnsubscribeToken('secret', 'garbage')).toBeUndefined();
  });

  it('refuse every other spelling of the MAC, including ones that decode to the same bytes', () => {
    const token = unsubscribeToken('secret', 'pat@example.com');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const accepted = [...alphabet]
      .map((c) => token.slice(0, -1) + c)
      .filter((t) => verifyUnsubscribeToken('secret', t) !== undefined);
    expect(accepted).toEqual([token]);
  });
});

describe('templates', () => {
  const store = new TemplateStore(path.join(__dirname, '..', 'definitions', 'templates'));
  const context = {
    case: { id: 'c1', title: 'ACME: Forklifts', url: 'http://x/c1' },
    status: { code: 'WON', name: 'Won' },
    data: { amount: 1234567.5, currency: 'EUR', expectedCloseDate: '2025-03-04' },
    entity: { name: 'ACME' },
    links: { case: 'http://x/c1' },
    recipient: { name: 'Pat', email: 'pat@example.com' },
  };

  it('picks the most specific locale variant', () => {
    expect(localeCandidates('es-MX')).toEqual(['es-MX', 'es']);
    expect(localeCandidates(undefined)).toEqual([]);
    expect(store.render('opportunity-update', context, 'es-MX').subject).toBe(
      'Oportunidad Won: ACME: Forklifts',
    );
    expect(store.render('opportunity-update', context, 'fr').subject).toBe(
      'Opportunity Won: ACME: Forklifts',
    );
  });

  it('formats money and dates in the recipient locale and wraps parts in the layout', () => {
    const en = store.render('opportunity-update', context, 'en');
    expect(en.text).toContain('worth €1,234,567.50.');
    expect(en.text).toContain('Expected to close on March 4, 2025.');
    expect(en.text).toContain('Sent by the CRM to pat@example.com.');
    expect(en.html).toMatch(/^<!doctype html>\n<html lang="en">/);
    const es = store.render('opportunity-update', context, 'es');
    expect(es.text).toMatch(/por un importe de 1\.234\.567,50\s€\./);
    expect(es.text).toContain('Cierre previsto el 4 de marzo de 2025.');
    expect(es.html).toContain('<td style="padding-right: 12px; color: #555">Estado</td><td>Won</td>');
  });
});

describe('calendar invitations', () => {
  it('are deterministic for a task, so a re-delivery carries the same invitation', () => {
    const input = {
      task: {
        id: 'c1-T4',
        title: 'Visit ACME',
        description: null,
        dueAt: '2025-03-06T10:00:00Z',
        createdAt: '2025-03-01T09:00:00Z',
      },
      caseTitle: 'ACME: Forklifts',
      url: 'http://x/tasks/c1-T4',
      organizer: { name: 'CRM', email: 'crm@example.com' },
      attendees: [{ address: 'bob@example.com', name: 'Bob', locale: 'es' }],
      uidDomain: 'crm.example.com',
    };
    const ics = taskInvite(input);
    expect(ics).toBe(taskInvite(input));
    expect(ics).toContain('METHOD:REQUEST');
    expect(ics).toContain('UID:c1-T4@crm.example.com');
    expect(ics).toContain('DTSTART:20250306T100000Z');
    expect(ics).toContain('DTEND:20250306T110000Z');
    expect(ics).toContain('DTSTAMP:20250301T090000Z');
    expect(ics).toMatch(/ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=TRUE;CN="Bob":MAILTO:bob@example\.com/);
  });
});
