import { Type } from '@sinclair/typebox';
import { Router, type RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import type { Db } from '../../db';
import {
  discardPasswordToken,
  issuePasswordToken,
  resetPasswordWithToken,
  setPasswordLink,
} from '../../identity/password-links';
import { activeRecipient, activeRecipientsByEmail, updatePreferences } from '../../identity/users';
import { logger } from '../../lib/logger';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, hashPassword, passwordProblem } from '../../lib/passwords';
import { emailUnavailable, type AccountTemplate } from '../account-mail';
import { callerOf, requireRole } from '../auth';
import type { ApiContext } from '../context';
import { dateTime, problemResponses, type OperationSpec } from '../operation';
import { ProblemError } from '../problem';
import { noQuery } from '../request-guards';
import { sessionIdHash, sessionIdOf } from '../session-cookie';
import { check } from '../validation';
import { rateLimitedHandler } from '../security';
import { bodyEmail, sessionSchema, sessionUser } from './session';

export const preferencesSchema = Type.Object(
  {
    locale: Type.Optional(
      Type.Unsafe<'es' | 'en' | null>({
        enum: ['es', 'en', null],
        description: 'Web app language; null follows the browser',
      }),
    ),
    timeZone: Type.Optional(
      Type.Unsafe<string | null>({
        type: ['string', 'null'],
        minLength: 1,
        maxLength: 64,
        description: 'IANA time zone (e.g. Europe/Madrid); null follows the browser',
      }),
    ),
  },
  { minProperties: 1, additionalProperties: false },
);
export const forgotSchema = Type.Object(
  { email: Type.String({ minLength: 1, maxLength: 320 }) },
  { additionalProperties: false },
);
export const resetSchema = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 100, description: 'From the emailed link' }),
    password: Type.String({
      maxLength: MAX_PASSWORD_LENGTH,
      description: `At least ${MIN_PASSWORD_LENGTH} characters`,
    }),
  },
  { additionalProperties: false },
);

const inviteSchema = {
  type: 'object',
  properties: { userId: { type: 'string' }, email: { type: 'string' }, expiresAt: dateTime },
  required: ['userId', 'email', 'expiresAt'],
};

export const accountOperations: OperationSpec[] = [
  {
    method: 'patch',
    path: '/api/users/me',
    operationId: 'updateMyPreferences',
    tag: 'Identity',
    summary: "Sets the caller's language and time zone for the web app (null: follow the browser)",
    description: 'A chosen language also becomes the language of the emails the user receives.',
    body: preferencesSchema,
    responses: {
      '200': { description: 'The user as the session shows it', schema: sessionSchema.properties.user },
      ...problemResponses(400, 401, 403),
    },
    problems: ['csrf-token-invalid'],
  },
  {
    method: 'post',
    path: '/api/users/:id/invite',
    operationId: 'inviteUser',
    tag: 'Identity',
    summary: 'Emails the user a one-time link to set their password (administrators)',
    description:
      'The link is `${PUBLIC_URL}/set-password?token=...`, valid for INVITE_VALID_HOURS and once. Sent straight ' +
      'through SMTP (not the outbox, which keeps bodies): the answer comes once the server took the message.',
    params: { id: 'User id' },
    responses: {
      '202': { description: 'The invite was sent', schema: inviteSchema },
      ...problemResponses(401, 403, 404, 503),
    },
    problems: ['email-unavailable', 'csrf-token-invalid'],
  },
  {
    method: 'post',
    path: '/api/password/forgot',
    operationId: 'forgotPassword',
    tag: 'Sessions',
    auth: false,
    summary: 'Emails a one-time link to set a new password, if the address belongs to an active user',
    description:
      'Always 202, whether or not the address is known, so the answer tells nothing about accounts. The ' +
      'link (`${PUBLIC_URL}/set-password?token=...`) works once, for PASSWORD_RESET_VALID_MINUTES.',
    body: forgotSchema,
    responses: { '202': { description: 'Accepted' }, ...problemResponses(400, 429) },
    problems: ['validation-error', 'rate-limited'],
  },
  {
    method: 'post',
    path: '/api/password/reset',
    operationId: 'resetPassword',
    tag: 'Sessions',
    auth: false,
    summary: "Sets a password with an invite or reset link's token; ends the user's other sessions",
    body: resetSchema,
    responses: { '204': { description: 'Password set' }, ...problemResponses(400) },
    problems: ['validation-error', 'password-token-invalid'],
  },
];

function timeZoneProblem(timeZone: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
    return undefined;
  } catch {
    return 'is not a known IANA time zone';
  }
}

/** Background sends (forgotten passwords), awaited before the pool closes. */
function tracker(db: Db): (work: Promise<unknown>) => void {
  const pending = new Set<Promise<unknown>>();
  db.beforeClose(async () => {
    await Promise.all(pending);
  });
  return (work) => {
    const done = work.catch((err: unknown) => logger.warn({ err }, 'account email failed'));
    pending.add(done);
    void done.finally(() => pending.delete(done));
  };
}

/** Authenticated account routes: preferences (any user) and invites (administrators). */
export function accountRoutes(ctx: ApiContext): Router {
  const router = Router();
  const { db } = ctx;

  router.patch('/users/me', async (req, res) => {
    noQuery(req);
    const caller = callerOf(req);
    const body = check(preferencesSchema, req.body ?? {}, '/body');
    const tzProblem = typeof body.timeZone === 'string' ? timeZoneProblem(body.timeZone) : undefined;
    if (tzProblem)
      throw ProblemError.badRequest('Unknown time zone', [{ pointer: '/body/timeZone', message: tzProblem }]);
    await updatePreferences(db, caller.userId, body);
    res.json(await sessionUser(db, caller.userId));
  });

  router.post('/users/:id/invite', async (req, res) => {
    noQuery(req);
    requireRole(req, 'admin');
    const user = await activeRecipient(db, req.params.id);
    if (!user) throw ProblemError.notFound(`User ${req.params.id}`);
    if (!ctx.accountMail) throw emailUnavailable('No SMTP server is configured (SMTP_URL)');
    const { token, expiresAt } = await issuePasswordToken(
      db,
      user.id,
      'invite',
      ctx.auth.inviteValidHours * 60,
    );
    try {
      await ctx.accountMail.send('account-invite', user, {
        link: setPasswordLink(ctx.publicUrl, token),
        expiresAt,
        timezone: user.time_zone ?? 'UTC',
        invitedBy: callerOf(req).name,
      });
    } catch (err) {
      await discardPasswordToken(db, token);
      logger.warn({ err, userId: user.id }, 'invite email not sent');
      throw emailUnavailable('The SMTP server did not take the invite; try again');
    }
    logger.info({ userId: user.id }, 'invite sent');
    res.status(202).json({ userId: user.id, email: user.email, expiresAt });
  });

  return router;
}

/** Unauthenticated password routes: forgotten password and setting a password with a link's token. */
export function passwordRoutes(ctx: ApiContext): Router {
  const router = Router();
  const { db } = ctx;
  const track = tracker(db);
  // Every request counts (not only failures): each may send an email.
  const forgotLimit: RequestHandler = rateLimit({
    windowMs: ctx.auth.signInWindowMinutes * 60_000,
    limit: ctx.auth.signInMaxFailures,
    standardHeaders: false,
    legacyHeaders: false,
    keyGenerator: (req) => `${ipKeyGenerator(req.ip ?? '')} ${bodyEmail(req.body)}`,
    validate: { xForwardedForHeader: false },
    handler: rateLimitedHandler('Too many password requests for this address; try again later'),
  });

  const sendReset = async (email: string): Promise<void> => {
    const users = await activeRecipientsByEmail(db, email);
    const user = users.length === 1 ? users[0] : undefined;
    if (!user || !ctx.accountMail) {
      if (users.length > 1) logger.warn('password reset refused: several active users share the address');
      else if (user) logger.warn({ userId: user.id }, 'password reset not sent: no SMTP server configured');
      return;
    }
    const template: AccountTemplate = 'account-reset';
    const { token, expiresAt } = await issuePasswordToken(db, user.id, 'reset', ctx.auth.resetValidMinutes);
    await ctx.accountMail.send(template, user, {
      link: setPasswordLink(ctx.publicUrl, token),
      expiresAt,
      timezone: user.time_zone ?? 'UTC',
    });
    logger.info({ userId: user.id }, 'password reset link sent');
  };

  router.post('/api/password/forgot', forgotLimit, (req, res) => {
    noQuery(req);
    const body = check(forgotSchema, req.body ?? {}, '/body');
    // Answered before looking the address up, so neither the answer nor its timing tells if it is known.
    track(sendReset(body.email));
    res.status(202).end();
  });

  router.post('/api/password/reset', async (req, res) => {
    noQuery(req);
    const body = check(resetSchema, req.body ?? {}, '/body');
    const weak = passwordProblem(body.password);
    if (weak)
      throw ProblemError.badRequest('The password is too weak', [
        { pointer: '/body/password', message: weak },
      ]);
    const passwordHash = await hashPassword(body.password);
    const sessionId = sessionIdOf(req);
    const userId = await resetPasswordWithToken(
      db,
      body.token,
      passwordHash,
      sessionId ? sessionIdHash(sessionId) : undefined,
    );
    logger.info({ userId }, 'password set');
    res.status(204).end();
  });

  return router;
}
