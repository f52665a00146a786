import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Queryable } from '../db';

/**
 * Unsubscribe links: `/unsubscribe/<token>` where the token carries the address and an HMAC-SHA256 over it,
 * so the link needs no login and cannot be forged for another address. The key is generated once and kept
 * in `email_link_secret`, shared by every worker and API process.
 */

const VERSION = 'u1';
const MAC_BYTES = 16;

let cached: { db: Queryable; secret: Promise<string> } | undefined;

/** The signing key, created on first use. */
export function linkSecret(db: Queryable): Promise<string> {
  if (cached?.db === db) return cached.secret;
  const secret = (async () => {
    await db.query(
      'INSERT INTO email_link_secret (id, secret) VALUES (true, $1) ON CONFLICT (id) DO NOTHING',
      [randomBytes(32).toString('base64url')],
    );
    const [row] = await db.query<{ secret: string }>('SELECT secret FROM email_link_secret WHERE id');
    if (!row) throw new Error('email_link_secret is empty');
    return row.secret;
  })();
  cached = { db, secret };
  secret.catch(() => {
    if (cached?.secret === secret) cached = undefined;
  });
  return secret;
}

function mac(secret: string, address: string): Buffer {
  return createHmac('sha256', secret)
    .update(`unsubscribe\n${address.toLowerCase()}`)
    .digest()
    .subarray(0, MAC_BYTES);
}

/** The token of an unsubscribe link for an address. */
export function unsubscribeToken(secret: string, address: string): string {
  const a = Buffer.from(address.toLowerCase(), 'utf8').toString('base64url');
  return `${VERSION}.${a}.${mac(secret, address).toString('base64url')}`;
}

/** The address a token was issued for, or undefined when the token is malformed or forged. */
export function verifyUnsubscribeToken(secret: string, token: string): string | undefined {
  const [version, a, m, ...rest] = token.split('.');
  if (version !== VERSION || !a || !m || rest.length > 0 || token.length > 700) return undefined;
  const address = Buffer.from(a, 'base64url').toString('utf8');
  // Compare the canonical text, not decoded bytes: base64url's last character carries unused bits, so
  // several spellings decode to the same MAC and a tampered link could otherwise still verify.
  const given = Buffer.from(m, 'utf8');
  const expected = Buffer.from(mac(secret, address).toString('base64url'), 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  if (Buffer.from(address, 'utf8').toString('base64url') !== a) return undefined;
  return address;
}
