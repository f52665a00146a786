/**
 * Inbound SMTP listener for email-to-case: accepts mail only for the configured inbound addresses
 * (`inbound_mailboxes`) and hands each message to `receiveEmail`, which opens the case. Plain SMTP without
 * AUTH or TLS: put it behind the company's MX (or a relay) that does those.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { SMTPServerAddress, SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import { DomainError } from '../lib/domain-errors';
import { MAX_INBOUND_BYTES, receiveEmail, type InboundDeps, type InboundResult } from '../crm/inbound';
import { logger } from '../lib/logger';

export interface InboundSmtpOptions extends InboundDeps {
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** Called after each message is turned into a case (tests, metrics). */
  onReceived?: (result: InboundResult) => void;
}

export interface InboundSmtp {
  port: number;
  stop(): Promise<void>;
}

function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

/** Starts the listener; `stop()` closes it. */
export async function startInboundSmtp(opts: InboundSmtpOptions): Promise<InboundSmtp> {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    hideSTARTTLS: true,
    logger: false,
    size: MAX_INBOUND_BYTES,
    closeTimeout: 1000,
    banner: 'crm inbound',
    onRcptTo(
      address: SMTPServerAddress,
      _session: SMTPServerSession,
      callback: (err?: Error | null) => void,
    ) {
      opts.db
        .query('SELECT 1 FROM inbound_mailboxes WHERE address = lower($1) AND active', [address.address])
        .then(
          (rows) =>
            callback(rows.length > 0 ? null : smtpError(550, `No inbound mailbox ${address.address}`)),
          () => callback(smtpError(451, 'Temporary failure; try again later')),
        );
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback: (err?: Error | null) => void) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.once('error', (err: Error) => callback(err));
      stream.once('end', () => {
        if (stream.sizeExceeded) return callback(smtpError(552, 'Message exceeds the size limit'));
        const recipients = session.envelope.rcptTo.map((a) => a.address);
        receiveEmail(opts, Buffer.concat(chunks), recipients).then(
          (result) => {
            opts.onReceived?.(result);
            callback();
          },
          (err: unknown) => {
            // A message we will never accept is bounced; anything else is retried by the sender's MTA.
            if (err instanceof DomainError) return callback(smtpError(550, err.message));
            logger.error({ err }, 'inbound email failed');
            callback(smtpError(451, 'Temporary failure; try again later'));
          },
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
  server.on('error', (err) => logger.warn({ err }, 'inbound SMTP connection error'));
  return {
    port: (server.server.address() as AddressInfo).port,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
