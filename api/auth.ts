import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Queryable } from '../db';
import type { CallerCache } from './caller-cache';
import type { Actor, Role } from '../engine/state';
import { hashToken } from '../lib/api-tokens';
import { ProblemError } from './problem';
import {
  CSRF_HEADER,
  SAFE_METHODS,
  clearSessionCookie,
  csrfMatches,
  csrfProblem,
  sessionIdOf,
} from './session-cookie';

/** The authenticated user of a request, with what access checks need. */
export interface Caller extends Actor {
  role: Exclude<Role, 'system'>;
  name: string;
  email: string;
  /** The API token of the request, when it came with one. */
  tokenId?: string;
  /** SHA-256 of the session id, when the request came with a session cookie (api/sessions.ts). */
  sessionIdHash?: string;
  supervisedTeams: string[];
  supervisedUsers: string[];
}

declare module 'express-serve-static-core' {
  interface Request {
    caller?: Caller;
  }
}

export { generateToken, hashToken, issueToken } from '../lib/api-tokens';

/** A row of `CALLER_COLUMNS`. */
export type CallerRow = {
  id: string;
  name: string;
  email: string;
  role: Caller['role'];
  teams: string[];
  supervised_teams: string[];
  supervised_users: string[];
};

/** Columns of a caller, selected from `users u`; shared by token and session lookups. */
export const CALLER_COLUMNS = `u.id, u.name, u.email, u.role,
       COALESCE((SELECT array_agg(team_id ORDER BY team_id) FROM team_members WHERE user_id = u.id), '{}') AS teams,
       COALESCE((SELECT array_agg(id ORDER BY id) FROM teams WHERE supervisor_id = u.id), '{}') AS supervised_teams,
       COALESCE((SELECT array_agg(DISTINCT tm.user_id) FROM team_members tm JOIN teams t ON t.id = tm.team_id
                 WHERE t.supervisor_id = u.id), '{}') AS supervised_users`;

/** A caller from a row of `CALLER_COLUMNS`. */
export function callerFromRow(row: CallerRow): Caller {
  const supervises = row.role === 'supervisor' || row.role === 'admin';
  return {
    userId: row.id,
    name: row.name,
    email: row.email,
    role: row.role,
    teams: row.teams,
    supervisedTeams: supervises ? row.supervised_teams : [],
    supervisedUsers: supervises ? row.supervised_users : [],
  };
}

/** Resolves a bearer token to its user, teams and supervised teams, in one query. */
export function callerForToken(
  db: Queryable,
  token: string,
): Promise<(Caller & { tokenId: string }) | undefined> {
  return callerForTokenHash(db, hashToken(token));
}

/** `callerForToken` for a token already hashed. */
export async function callerForTokenHash(
  db: Queryable,
  tokenHash: string,
): Promise<(Caller & { tokenId: string }) | undefined> {
  const rows = await db.query<CallerRow & { token_id: string }>(
    `SELECT k.id AS token_id, ${CALLER_COLUMNS}
     FROM api_tokens k JOIN users u ON u.id = k.user_id
     WHERE k.token_hash = $1 AND k.revoked_at IS NULL AND u.active`,
    [tokenHash],
  );
  const row = rows[0];
  if (!row) return undefined;
  return { ...callerFromRow(row), tokenId: row.token_id };
}

/** Who a session id belongs to (api/sessions.ts `SessionStore`). */
export interface SessionResolver {
  resolve(sessionId: string): Promise<Caller | undefined>;
}

/**
 * Requires `Authorization: Bearer <token>` (API clients) or the session cookie (people in the browser);
 * sets `req.caller`. A bearer header wins when both come. With the cookie, a state-changing request must
 * also carry the session's CSRF token in X-CSRF-Token (403 otherwise).
 */
export function authenticate(
  callers: CallerCache,
  sessions: SessionResolver,
  publicUrl: string,
): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization');
    if (header !== undefined) {
      const match = /^Bearer\s+(\S{1,200})$/i.exec(header);
      if (!match)
        return next(ProblemError.unauthorized('Send an API token as "Authorization: Bearer <token>"'));
      callers
        .resolve(match[1] as string)
        .then((caller) => {
          if (!caller) return next(ProblemError.unauthorized('The API token is unknown or revoked'));
          req.caller = caller;
          next();
        })
        .catch(next);
      return;
    }
    const sessionId = sessionIdOf(req);
    if (sessionId === undefined) {
      return next(
        ProblemError.unauthorized(
          'Sign in (POST /api/session) or send an API token as "Authorization: Bearer <token>"',
        ),
      );
    }
    sessions
      .resolve(sessionId)
      .then((caller) => {
        if (!caller) {
          clearSessionCookie(res, publicUrl);
          return next(ProblemError.unauthorized('The session has ended; sign in again'));
        }
        if (!SAFE_METHODS.has(req.method) && !csrfMatches(sessionId, req.get(CSRF_HEADER)))
          return next(csrfProblem());
        req.caller = caller;
        next();
      })
      .catch(next);
  };
}

/** The caller of an authenticated request. */
export function callerOf(req: Request): Caller {
  if (!req.caller) throw ProblemError.unauthorized('Authentication required');
  return req.caller;
}

/** Requires one of the roles. */
export function requireRole(req: Request, ...roles: Caller['role'][]): Caller {
  const caller = callerOf(req);
  if (!roles.includes(caller.role))
    throw ProblemError.forbidden(`This requires the role ${roles.join(' or ')}`);
  return caller;
}
