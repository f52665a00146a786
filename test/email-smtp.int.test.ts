import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerAuthentication, type SMTPServerSession } from 'smtp-server';
import { createMailer } from '../lib/mailer';

/**
 * SMTP_URL against a relay that requires STARTTLS and AUTH (smtp-server's built-in test certificate), with
 * pooled connections: what a production relay asks of the engine.
 */
let server: SMTPServer;
let port: number;
const sessions: { secure: boolean; user: unknown; connection: string }[] = [];

beforeAll(async () => {
  server = new SMTPServer({
    logger: false,
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth(auth: SMTPServerAuthentication, session: SMTPServerSession, callback) {
      if (!session.secure) return callback(new Error('Must issue a STARTTLS command first'));
      if (auth.username === 'crm@example.com' && auth.password === 'p@ss:word')
        return callback(null, { user: 'crm' });
      return callback(Object.assign(new Error('Invalid credentials'), { responseCode: 535 }));
    },
    onData(stream, session, callback) {
      stream.resume();
      stream.on('end', () => {
        sessions.push({ secure: session.secure, user: session.user, connection: session.id });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const message = (n: number) => ({
  from: 'crm@example.com',
  to: 'someone@example.com',
  subject: `Hello ${n}`,
  text: 'Hi',
});

it('upgrades with STARTTLS, authenticates with percent-encoded credentials and reuses pooled connections', async () => {
  const mailer = createMailer(
    `smtp://crm%40example.com:p%40ss%3Aword@127.0.0.1:${port}?requireTLS=true&tls.rejectUnauthorized=false&pool=true&maxConnections=1`,
  );
  try {
    for (let n = 0; n < 3; n += 1) {
      const info = await mailer.sendMail(message(n));
      expect(info.response).toMatch(/^250/);
    }
  } finally {
    mailer.close();
  }
  expect(sessions.map((s) => s.secure)).toEqual([true, true, true]);
  expect(sessions.map((s) => s.user)).toEqual(['crm', 'crm', 'crm']);
  // One pooled connection carried the three messages.
  expect(new Set(sessions.map((s) => s.connection)).size).toBe(1);
});

it('reports wrong credentials as an authentication error, not a permanent failure of the message', async () => {
  const mailer = createMailer(
    `smtp://crm%40example.com:wrong@127.0.0.1:${port}?tls.rejectUnauthorized=false`,
  );
  try {
    await expect(mailer.sendMail(message(9))).rejects.toMatchObject({ code: 'EAUTH', responseCode: 535 });
  } finally {
    mailer.close();
  }
});
