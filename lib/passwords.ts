import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** Shortest password accepted (NIST SP 800-63B asks for at least 8; we ask for 10). */
export const MIN_PASSWORD_LENGTH = 10;
/** Longest password accepted: scrypt reads all of it, so the length is bounded. */
export const MAX_PASSWORD_LENGTH = 200;

/**
 * scrypt cost: N = 2^15, r = 8, p = 1 (OWASP's password storage cheat sheet minimum for scrypt), 32 MiB and
 * some tens of milliseconds per hash. The parameters are written into each hash, so raising them later
 * leaves existing hashes verifiable.
 */
const PARAMS = { N: 2 ** 15, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
const FORMAT = /^scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

function derive(password: string, salt: Buffer, params: { N: number; r: number; p: number }, length: number) {
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r };
  return new Promise<Buffer>((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, length, options, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** A self-describing hash of a password: `scrypt$N=32768,r=8,p=1$<salt>$<key>` (base64url). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await derive(password, salt, PARAMS, KEY_LENGTH);
  return `scrypt$N=${PARAMS.N},r=${PARAMS.r},p=${PARAMS.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Whether a password matches a hash made by `hashPassword`; false for anything unparsable. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = FORMAT.exec(stored);
  if (!m) return false;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // Refuse parameters no hash of ours has, so a tampered row cannot make a sign-in burn memory.
  if (N > 2 ** 20 || r > 32 || p > 16) return false;
  const expected = Buffer.from(m[5] as string, 'base64url');
  const key = await derive(password, Buffer.from(m[4] as string, 'base64url'), { N, r, p }, expected.length);
  return timingSafeEqual(key, expected);
}

/** A hash of a random password, verified against when the account is unknown so both cases take as long. */
let dummy: Promise<string> | undefined;
export function dummyPasswordHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(16).toString('hex'));
  return dummy;
}

/** Why a new password is refused, or undefined. */
export function passwordProblem(password: string): string | undefined {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) return `must have at least ${MIN_PASSWORD_LENGTH} characters`;
  if (length > MAX_PASSWORD_LENGTH) return `must have at most ${MAX_PASSWORD_LENGTH} characters`;
  return undefined;
}
