import net from 'node:net';
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';

/** Options of a pooled or a one-connection-per-message SMTP transport. */
export type SmtpOptions = SMTPTransport.Options &
  Partial<Pick<SMTPPool.Options, 'maxConnections' | 'maxMessages'>> & {
    pool?: boolean;
  };

export class SmtpUrlError extends Error {
  override name = 'SmtpUrlError';
}

/**
 * Timeouts (ms) bounding one SMTP exchange. They must stay well below the `sendEmail` activity's
 * start-to-close timeout (1 minute): an attempt that Temporal times out must have finished talking to the
 * server before the next attempt starts, or both could deliver.
 */
const DEFAULT_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000 };

const BOOLEAN_PARAMS = ['pool', 'secure', 'requireTLS', 'ignoreTLS', 'opportunisticTLS'] as const;
const NUMBER_PARAMS = [
  'maxConnections',
  'maxMessages',
  'connectionTimeout',
  'greetingTimeout',
  'socketTimeout',
] as const;

/**
 * Transport options from an SMTP URL (documented in docs/email.md):
 * `smtp://host:587` (STARTTLS when offered), `smtps://host:465` (implicit TLS), credentials as
 * `smtp://user:password@host` (percent-encoded), and query parameters `pool`, `secure`, `maxConnections`,
 * `maxMessages`, `requireTLS`, `ignoreTLS`, `opportunisticTLS`, `connectionTimeout`, `greetingTimeout`,
 * `socketTimeout`, `name` (EHLO host), `tls.rejectUnauthorized`, `tls.servername`.
 */
export function smtpOptionsFromUrl(smtpUrl: string): SmtpOptions {
  let url: URL;
  try {
    url = new URL(smtpUrl);
  } catch {
    throw new SmtpUrlError('SMTP_URL is not a URL (expected smtp://host:port or smtps://host:port)');
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:')
    throw new SmtpUrlError(`SMTP_URL must use smtp: or smtps:, not ${url.protocol}`);
  const secure = url.protocol === 'smtps:';
  const options: SmtpOptions & Record<string, unknown> = {
    host: url.hostname,
    port: url.port ? Number(url.port) : secure ? 465 : 587,
    secure,
    ...DEFAULT_TIMEOUTS,
  };
  if (url.username) {
    options.auth = { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) };
  }
  const tls: Record<string, unknown> = {};
  for (const [key, raw] of url.searchParams) {
    if ((BOOLEAN_PARAMS as readonly string[]).includes(key) || key === 'tls.rejectUnauthorized') {
      if (raw !== 'true' && raw !== 'false') throw new SmtpUrlError(`SMTP_URL: ${key} must be true or false`);
      if (key === 'tls.rejectUnauthorized') tls.rejectUnauthorized = raw === 'true';
      else options[key] = raw === 'true';
    } else if ((NUMBER_PARAMS as readonly string[]).includes(key)) {
      const value = Number(raw);
      if (!Number.isInteger(value) || value <= 0)
        throw new SmtpUrlError(`SMTP_URL: ${key} must be a positive integer`);
      options[key] = value;
    } else if (key === 'tls.servername') {
      tls.servername = raw;
    } else if (key === 'name') {
      options.name = raw;
    } else {
      throw new SmtpUrlError(`SMTP_URL: unknown parameter "${key}"`);
    }
  }
  if (Object.keys(tls).length > 0) options.tls = tls;
  return options;
}

type SocketCallback = (err: Error | null, socket?: { connection: net.Socket }) => void;

/**
 * Opens the TCP connection for nodemailer with Nagle's algorithm off. nodemailer writes the end of the
 * message data in small segments; with Nagle on, each waits for the server's delayed ACK (40 ms on Linux),
 * which made every message take ~45 ms on a pooled connection instead of ~2 ms. TLS (implicit or
 * STARTTLS) is still negotiated by nodemailer over this socket.
 */
function noDelaySocket(host: string, port: number, timeoutMs: number) {
  return (_options: unknown, callback: SocketCallback): void => {
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      callback(err);
    };
    const timer = setTimeout(() => fail(new Error('Connection timeout')), timeoutMs);
    socket.once('error', fail);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeListener('error', fail);
      callback(null, { connection: socket });
    });
  };
}

/** An SMTP transport from a URL such as `smtp://user:pass@host:587?pool=true` (see `smtpOptionsFromUrl`). */
export function createMailer(smtpUrl: string): Transporter {
  const { pool, ...parsed } = smtpOptionsFromUrl(smtpUrl);
  const options = {
    ...parsed,
    getSocket: noDelaySocket(
      parsed.host as string,
      parsed.port as number,
      parsed.connectionTimeout as number,
    ),
  };
  return pool
    ? nodemailer.createTransport({ ...options, pool: true })
    : nodemailer.createTransport(options as SMTPTransport.Options);
}
