import { Type } from '@sinclair/typebox';
import { Router, type RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { rateLimitedHandler } from '../security';
import type { Queryable } from '../../db';
import { logger } from '../../lib/logger';
import { MAX_PASSWORD_LENGTH, dummyPasswordHash, verifyPassword } from '../../lib/passwords';
import type { ApiContext } from '../context';
import { problemResponses, type OperationSpec } from '../operation';
import { ProblemError } from '../problem';
import { noQuery } from '../request-guards';
import {
  CSRF_HEADER,
  clearSessionCookie,
  csrfMatches,
  csrfProblem,
  csrfTokenFor,
  sessionIdOf,
  setSessionCookie,
} from '../session-cookie';
import { check } from '../validation';
import { teamsOf } from '../../identity/teams';
import { findProfile, signInCandidates } from '../../identity/users';

export const signInSchema = Type.Object(
  {
    email: Type.String({ minLength: 1, maxLength: 320 }),
    password: Type.String({ minLength: 1, maxLength: MAX_PASSWORD_LENGTH }),
  },
  { additionalProperties: false },
);

const teamRef = {
  type: 'object',
  properties: { id: { type: 'string' }, name: { type: 'string' } },
  required: ['id', 'name'],
};

/** What POST and GET /api/session answer: the signed-in user and the session's CSRF token. */
export const sessionSchema = {
  type: 'object',
  properties: {
    user: {
      type: 'object',
      properties: {
        id: { type: 'string' },
        name: { type: 'string' },
        email: { type: 'string' },
        role: { enum: ['agent', 'supervisor', 'designer', 'admin'] },
        teams: { type: 'array', items: teamRef },
        supervisedTeams: { type: 'array', items: teamRef },
        locale: {
          enum: ['es', 'en', null],
          description: 'Chosen web app language; null follows the browser',
        },
        timeZone: {
          type: ['string', 'null'],
          description: 'Chosen IANA time zone; null follows the browser',
        },
      },
      required: ['id', 'name', 'email', 'role', 'teams', 'supervisedTeams', 'locale', 'timeZone'],
    },
    csrfToken: {
      type: 'string',
      description: `Send it in ${CSRF_HEADER} with every POST, PUT, PATCH and DELETE signed in by the cookie`,
    },
  },
  required: ['user', 'csrfToken'],
};

const cookieNote =
  'Signs in with the `crm_session` cookie (HttpOnly, SameSite=Lax, Secure when PUBLIC_URL is https).';

export const sessionOperations: OperationSpec[] = [
  {
    method: 'post',
    path: '/api/session',
    operationId: 'signIn',
    tag: 'Sessions',
    auth: false,
    summary: 'Signs a person in with email and password; sets the session cookie',
    description:
      `${cookieNote} A wrong email and a wrong password get the same 401. Failed sign-ins are limited per ` +
      'client address and email (SIGN_IN_MAX_FAILURES per SIGN_IN_WINDOW_MINUTES); more answer 429 with Retry-After.',
    body: signInSchema,
    responses: {
      '200': { description: 'Signed in; Set-Cookie carries the session', schema: sessionSchema },
      ...problemResponses(400, 401, 429),
    },
    problems: ['validation-error', 'invalid-credentials', 'rate-limited'],
  },
  {
    method: 'get',
    path: '/api/session',
    operationId: 'getSession',
    tag: 'Sessions',
    auth: false,
    summary: 'The signed-in user of the session cookie, with its CSRF token',
    responses: {
      '200': { description: 'The session', schema: sessionSchema },
      ...problemResponses(401),
    },
    problems: ['unauthorized'],
  },
  {
    method: 'delete',
    path: '/api/session',
    operationId: 'signOut',
    tag: 'Sessions',
    auth: false,
    summary: 'Signs out: ends the session and clears the cookie (needs X-CSRF-Token while the session lives)',
    responses: { '204': { description: 'Signed out' }, ...problemResponses(403) },
    problems: ['csrf-token-invalid'],
  },
];

const invalidCredentials = () =>
  new ProblemError(401, 'invalid-credentials', 'Sign-in failed', 'The email or the password is wrong');

/** Lower-cased email of a JSON body, for rate-limit keys. */
export function bodyEmail(body: unknown): string {
  const email = (body as { email?: unknown } | undefined)?.email;
  return typeof email === 'string' ? email.trim().toLowerCase().slice(0, 320) : '';
}

/** The user as the session answer (and PATCH /api/users/me) shows it. */
export async function sessionUser(db: Queryable, userId: string) {
  const user = await findProfile(db, userId);
  if (!user) throw ProblemError.unauthorized('The session has ended; sign in again');
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    role: user.role,
    ...(await teamsOf(db, userId)),
    locale: user.ui_locale,
    timeZone: user.time_zone,
  };
}

/** The session answer for a user. */
export async function sessionBody(db: Queryable, userId: string, sessionId: string) {
  return { user: await sessionUser(db, userId), csrfToken: csrfTokenFor(sessionId) };
}

/** The user id whose password matches, or undefined. Unknown addresses cost as much as wrong passwords. */
async function checkCredentials(db: Queryable, email: string, password: string): Promise<string | undefined> {
  const rows = await signInCandidates(db, email);
  const user = rows.length === 1 ? rows[0] : undefined;
  if (rows.length > 1) logger.warn('sign-in refused: several active users share the address');
  const ok = await verifyPassword(password, user?.password_hash ?? (await dummyPasswordHash()));
  return ok && user ? user.id : undefined;
}

/**
 * POST/GET/DELETE /api/session: sign-in for people with a session cookie. Mounted before the authenticated
 * API router; the other routes accept the cookie through `authenticate` (api/auth.ts).
 */
export function sessionRoutes(ctx: ApiContext): Router {
  const router = Router();
  const { db, sessions, publicUrl, auth } = ctx;
  const failedSignIns: RequestHandler = rateLimit({
    windowMs: auth.signInWindowMinutes * 60_000,
    limit: auth.signInMaxFailures,
    skipSuccessfulRequests: true,
    standardHeaders: false,
    legacyHeaders: false,
    keyGenerator: (req) => `${ipKeyGenerator(req.ip ?? '')} ${bodyEmail(req.body)}`,
    // Behind a proxy without `trust proxy`, every client shares the proxy's address: still per email.
    validate: { xForwardedForHeader: false },
    handler: rateLimitedHandler('Too many failed sign-ins for this address; try again later'),
  });

  router.post('/api/session', failedSignIns, async (req, res) => {
    noQuery(req);
    const body = check(signInSchema, req.body ?? {}, '/body');
    const userId = await checkCredentials(db, body.email, body.password);
    if (!userId) {
      logger.info({ ip: req.ip }, 'sign-in failed');
      throw invalidCredentials();
    }
    // A session cookie the browser still had is replaced: ending it avoids leaving it usable.
    const previous = sessionIdOf(req);
    if (previous) await sessions.destroy(previous);
    const sessionId = await sessions.create(userId);
    setSessionCookie(res, publicUrl, sessionId, sessions.maxAgeMs);
    logger.info({ userId }, 'signed in');
    res.set('Cache-Control', 'no-store').json(await sessionBody(db, userId, sessionId));
  });

  router.get('/api/session', async (req, res) => {
    noQuery(req);
    const sessionId = sessionIdOf(req);
    const caller = sessionId ? await sessions.resolve(sessionId) : undefined;
    if (!sessionId || !caller) {
      if (sessionId) clearSessionCookie(res, publicUrl);
      throw ProblemError.unauthorized('Not signed in');
    }
    res.set('Cache-Control', 'no-store').json(await sessionBody(db, caller.userId, sessionId));
  });

  router.delete('/api/session', async (req, res) => {
    noQuery(req);
    const sessionId = sessionIdOf(req);
    if (sessionId && (await sessions.resolve(sessionId))) {
      if (!csrfMatches(sessionId, req.get(CSRF_HEADER))) throw csrfProblem();
      await sessions.destroy(sessionId);
    }
    clearSessionCookie(res, publicUrl);
    res.status(204).end();
  });

  return router;
}
