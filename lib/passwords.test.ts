import { scryptSync } from 'node:crypto';
import { hashPassword, passwordProblem, verifyPassword } from './passwords';

describe('passwords', () => {
  it('stores a salted scrypt hash that names its parameters and verifies only the same password', async () => {
    const a = await hashPassword('correct horse battery');
    const b = await hashPassword('correct horse battery');
    expect(a).toMatch(/^scrypt\$N=32768,r=8,p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    // The key is scrypt of the password with the stored salt, as Node computes it directly.
    const [, , salt, key] = a.split('$') as [string, string, string, string];
    const expected = scryptSync('correct horse battery', Buffer.from(salt, 'base64url'), 32, {
      N: 32768,
      r: 8,
      p: 1,
      maxmem: 64 * 1024 * 1024,
    });
    expect(key).toBe(expected.toString('base64url'));
    expect(await verifyPassword('correct horse battery', a)).toBe(true);
    expect(await verifyPassword('correct horse batterY', a)).toBe(false);
    expect(await verifyPassword('correct horse battery', 'plain text')).toBe(false);
  });

  it('accepts hashes with other parameters and refuses absurd ones', async () => {
    const salt = Buffer.from('0123456789abcdef');
    const key = scryptSync('pw-0123456789', salt, 32, { N: 1024, r: 8, p: 1 });
    const cheap = `scrypt$N=1024,r=8,p=1$${salt.toString('base64url')}$${key.toString('base64url')}`;
    expect(await verifyPassword('pw-0123456789', cheap)).toBe(true);
    const huge = cheap.replace('N=1024', 'N=4194304');
    expect(await verifyPassword('pw-0123456789', huge)).toBe(false);
  });

  it('asks for 10 to 200 characters', () => {
    expect(passwordProblem('123456789')).toBe('must have at least 10 characters');
    expect(passwordProblem('1234567890')).toBeUndefined();
    expect(passwordProblem('x'.repeat(201))).toBe('must have at most 200 characters');
  });
});
