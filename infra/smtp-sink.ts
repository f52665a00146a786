import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import type { AddressObject, ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { SMTPServerDataStream, SMTPServerSession } from 'smtp-server';

export interface ReceivedMail {
  id: string;
  receivedAt: string;
  envelopeFrom: string;
  envelopeTo: string[];
  /** Address of the From header (the display name is in `raw`). */
  from: string;
  /** Addresses of the To and Cc headers. */
  to: string[];
  cc: string[];
  subject: string;
  text: string;
  html: string;
  messageId: string;
  attachments: { filename?: string; contentType: string; size: number }[];
  raw: string;
}

export interface SmtpSink {
  port: number;
  /** Every kept message, oldest first. */
  messages(): ReceivedMail[];
  /** The first kept or future message matching `pred`; rejects after `timeoutMs`. */
  waitFor(pred: (m: ReceivedMail) => boolean, timeoutMs: number): Promise<ReceivedMail>;
  clear(): void;
  /** Answers the next `n` DATA commands with `code` (451 transient, 550 permanent...) and keeps nothing. */
  failNext(n: number, code: number, message?: string): void;
  stop(): Promise<void>;
}

export interface SmtpSinkOptions {
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** Oldest messages are dropped beyond this; default 1000. */
  maxMessages?: number;
}

const MAX_SIZE = 25 * 1024 * 1024;

interface Waiter {
  pred: (m: ReceivedMail) => boolean;
  resolve: (m: ReceivedMail) => void;
  reject: (err: Error) => void;
}

/** Starts an SMTP server (no auth, no TLS) that keeps what it receives, for development and tests. */
export async function startSmtpSink(opts: SmtpSinkOptions): Promise<SmtpSink> {
  const maxMessages = opts.maxMessages ?? 1000;
  let kept: ReceivedMail[] = [];
  const waiters = new Set<Waiter>();
  let failure: { remaining: number; code: number; message: string } | undefined;

  const keep = (mail: ReceivedMail): void => {
    kept.push(mail);
    if (kept.length > maxMessages) kept = kept.slice(kept.length - maxMessages);
    for (const waiter of [...waiters]) {
      if (waiter.pred(mail)) {
        waiters.delete(waiter);
        waiter.resolve(mail);
      }
    }
  };

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    hideSTARTTLS: true,
    allowInsecureAuth: false,
    logger: false,
    size: MAX_SIZE,
    closeTimeout: 1000,
    banner: 'crm smtp sink',
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback: (err?: Error | null) => void) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.once('error', (err: Error) => callback(err));
      stream.once('end', () => {
        if (stream.sizeExceeded) return callback(smtpError(552, 'Message exceeds the size limit'));
        if (failure && failure.remaining > 0) {
          failure.remaining -= 1;
          const { code, message } = failure;
          if (failure.remaining === 0) failure = undefined;
          return callback(smtpError(code, message));
        }
        toReceivedMail(Buffer.concat(chunks), session).then(
          (mail) => {
            keep(mail);
            callback();
          },
          (err: unknown) => callback(smtpError(451, `Could not store the message: ${String(err)}`)),
        );
      });
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  // Connection-level errors (a client hanging up) must not crash the process.
  server.on('error', () => undefined);
  const port = (server.server.address() as AddressInfo).port;
  let stopping: Promise<void> | undefined;

  return {
    port,
    messages: () => [...kept],
    clear: () => {
      kept = [];
    },
    failNext: (n, code, message) => {
      if (!Number.isInteger(code) || code < 400 || code > 599)
        throw new RangeError(`not an SMTP error code: ${code}`);
      failure =
        n > 0
          ? { remaining: n, code, message: message ?? `Failure injected by the test (${code})` }
          : undefined;
    },
    waitFor: (pred, timeoutMs) => {
      const found = kept.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise<ReceivedMail>((resolve, reject) => {
        const waiter: Waiter = {
          pred,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
          reject: (err) => {
            clearTimeout(timer);
            reject(err);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          const seen = kept.map((m) => `"${m.subject}" to ${m.envelopeTo.join(',')}`).join('; ') || 'none';
          reject(new Error(`No matching mail within ${timeoutMs} ms (kept ${kept.length}: ${seen})`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    stop: () =>
      (stopping ??= new Promise<void>((resolve) => {
        for (const waiter of waiters) waiter.reject(new Error('SMTP sink stopped'));
        waiters.clear();
        server.close(() => resolve());
      })),
  };
}

function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

async function toReceivedMail(raw: Buffer, session: SMTPServerSession): Promise<ReceivedMail> {
  const parsed: ParsedMail = await simpleParser(raw);
  const mailFrom = session.envelope.mailFrom;
  return {
    id: randomUUID(),
    receivedAt: new Date().toISOString(),
    envelopeFrom: mailFrom ? mailFrom.address : '',
    envelopeTo: session.envelope.rcptTo.map((a) => a.address),
    from: addresses(parsed.from)[0] ?? '',
    to: addresses(parsed.to),
    cc: addresses(parsed.cc),
    subject: parsed.subject ?? '',
    text: parsed.text ?? '',
    html: parsed.html || '',
    messageId: parsed.messageId ?? '',
    attachments: parsed.attachments.map((a) => ({
      ...(a.filename === undefined ? {} : { filename: a.filename }),
      contentType: a.contentType,
      size: a.size,
    })),
    raw: raw.toString('utf8'),
  };
}

function addresses(field: AddressObject | AddressObject[] | undefined): string[] {
  const objects = field === undefined ? [] : Array.isArray(field) ? field : [field];
  const out: string[] = [];
  const visit = (list: AddressObject['value']): void => {
    for (const entry of list) {
      if (entry.address) out.push(entry.address);
      if (entry.group) visit(entry.group);
    }
  };
  for (const object of objects) visit(object.value);
  return out;
}
