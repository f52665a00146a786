import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CookieOptions, Request, Response } from 'express';
import { ProblemError } from './problem';

/** The session cookie's name. Its value is a random id; the server keeps only its SHA-256. */
export const SESSION_COOKIE = 'crm_session';
/** The header that state-changing requests authenticated by the cookie must carry. */
export const CSRF_HEADER = 'X-CSRF-Token';

const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/** A new session id: 256 random bits, base64url. */
export function newSessionId(): string {
  return randomBytes(32).toString('base64url');
}

/** What the sessions table stores for a session id. */
export function sessionIdHash(sessionId: string): string {
  return createHash('sha256').update(sessionId).digest('hex');
}

/**
 * The CSRF token of a session, derived from its id (HMAC-SHA256 keyed by the id), so nothing more is stored
 * and every answer can hand it out again. Another site can make the browser send the cookie, but cannot
 * read it (HttpOnly) nor any answer (same-origin policy), so it cannot compute the header.
 */
export function csrfTokenFor(sessionId: string): string {
  return createHmac('sha256', sessionId).update('crm csrf v1').digest('base64url');
}

/** Whether a request's X-CSRF-Token header is the token of its session. */
export function csrfMatches(sessionId: string, header: string | undefined): boolean {
  if (header === undefined) return false;
  const expected = Buffer.from(csrfTokenFor(sessionId));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** 403 for a cookie-authenticated state-changing request without the session's CSRF token. */
export function csrfProblem(): ProblemError {
  return new ProblemError(
    403,
    'csrf-token-invalid',
    'CSRF token missing or invalid',
    `Requests signed in by the session cookie that change state must carry the session's csrfToken in ${CSRF_HEADER}`,
  );
}

/** The session id from the request's Cookie header, or undefined when absent or malformed. */
export function sessionIdOf(req: Request): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    if (SESSION_ID.test(value)) return value;
  }
  return undefined;
}

/** Methods that must not change state, so need no CSRF token. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

function cookieOptions(publicUrl: string): CookieOptions {
  return {
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    secure: publicUrl.startsWith('https:'),
  };
}

/** Sets the session cookie; it lasts as long as the session's absolute lifetime. */
export function setSessionCookie(
  res: Response,
  publicUrl: string,
  sessionId: string,
  maxAgeMs: number,
): void {
  res.cookie(SESSION_COOKIE, sessionId, { ...cookieOptions(publicUrl), maxAge: maxAgeMs });
}

/** Tells the browser to forget the session cookie. */
export function clearSessionCookie(res: Response, publicUrl: string): void {
  res.clearCookie(SESSION_COOKIE, cookieOptions(publicUrl));
}
