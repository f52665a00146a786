import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Queryable } from '../db';
import { hashToken } from '../identity/tokens';
import type { CallerCache } from './caller-cache';
import type { Actor, Role } from '../engine/state';
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

// Tokens are issued by the identity domain; re-exported for the routes and tests that issue them.
export { generateToken, hashToken, issueToken } from '../identity/tokens';

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

/** The caller of a live token, with when the token stops working on its own (null: until revoked). */
export type TokenCaller = Caller & { tokenId: string; tokenExpiresAt: string | null };

/** Resolves a bearer token to its user, teams and supervised teams, in one query. */
export function callerForToken(db: Queryable, token: string): Promise<TokenCaller | undefined> {
  return callerForTokenHash(db, hashToken(token));
}

/** `callerForToken` for a token already hashed. Revoked and expired tokens and inactive users resolve to nothing. */
export async function callerForTokenHash(db: Queryable, tokenHash: string): Promise<TokenCaller | undefined> {
  const rows = await db.query<CallerRow & { token_id: string; expires_at: string | null }>(
    `SELECT k.id AS token_id, k.expires_at, ${CALLER_COLUMNS}
     FROM api_tokens k JOIN users u ON u.id = k.user_id
     WHERE k.token_hash = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())
       AND u.active`,
    [tokenHash],
  );
  const row = rows[0];
  if (!row) return undefined;
  return { ...callerFromRow(row), tokenId: row.token_id, tokenExpiresAt: row.expires_at };
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
          if (!caller) return next(ProblemError.unauthorized('The API token is unknown, revoked or expired'));
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
