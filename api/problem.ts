import type { ErrorRequestHandler, RequestHandler } from 'express';
import { isDatabaseUnavailable } from '../db';
import { DomainError, type DomainErrorKind, type InputError } from '../lib/domain-errors';
import { logger } from '../lib/logger';

/** Base of the stable problem `type` URIs; each problem's page is documented in docs/problems.md. */
export const PROBLEM_BASE = 'https://crm-process-engine.dev/problems/';

/** A JSON pointer into the request (`/body/data/amount`, `/query/limit`, `/headers/idempotency-key`) and its error. */
export type FieldError = InputError;

/** An RFC 9457 problem: thrown anywhere in a request, rendered by `problemHandler`. */
export class ProblemError extends Error {
  override name = 'ProblemError';
  constructor(
    readonly status: number,
    readonly slug: string,
    readonly title: string,
    detail?: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail ?? title);
  }

  /** A 400 `validation-error`; never with an empty `errors` list (the detail then stands at the root, ``). */
  static badRequest(detail: string, errors: FieldError[] = []): ProblemError {
    return new ProblemError(400, 'validation-error', 'The request is not valid', detail, {
      errors: errors.length > 0 ? errors : [{ pointer: '', message: detail }],
    });
  }

  static notFound(what: string): ProblemError {
    return new ProblemError(404, 'not-found', 'Not found', `${what} was not found`);
  }

  static forbidden(detail: string): ProblemError {
    return new ProblemError(403, 'forbidden', 'Forbidden', detail);
  }

  static unauthorized(detail: string): ProblemError {
    return new ProblemError(401, 'unauthorized', 'Authentication required', detail);
  }
}

/** Seconds a client should wait before retrying a 503 (the dependency is restarting or overloaded). */
const RETRY_AFTER_SECONDS = '2';

/** The one mapping of domain errors to HTTP: each kind answers with one status. */
const STATUS_OF: Record<DomainErrorKind, number> = {
  invalid: 400,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'too-large': 413,
  unprocessable: 422,
};

/** The problem a domain error answers with: same code (slug), title, detail and context fields. */
export function problemOf(err: DomainError): ProblemError {
  return new ProblemError(STATUS_OF[err.kind], err.code, err.title, err.message, { ...err.context });
}

/** `err` as the problem it answers with, when it is a problem or a domain error; undefined otherwise. */
export function asProblem(err: unknown): ProblemError | undefined {
  if (err instanceof ProblemError) return err;
  if (err instanceof DomainError) return problemOf(err);
  return undefined;
}

function send(res: Parameters<ErrorRequestHandler>[2], problem: ProblemError, instance: string): void {
  if (problem.status === 503 && !res.get('Retry-After')) res.set('Retry-After', RETRY_AFTER_SECONDS);
  res
    .status(problem.status)
    .type('application/problem+json')
    .json({
      type: PROBLEM_BASE + problem.slug,
      title: problem.title,
      status: problem.status,
      detail: problem.message,
      instance,
      ...problem.extensions,
    });
}

/** Paths whose next segment is a credential (a calendar feed's secret, a signed unsubscribe token). */
const SECRET_IN_PATH = /^(\/(?:calendar|unsubscribe))\/[^/]+/;

/**
 * The request's path as a problem may show it: without the query string (a careless client's
 * `?access_token=`, a one-time `?token=` link) and with credentials in the path replaced, so no problem
 * body, and no log or proxy that keeps one, holds a secret.
 */
export function shownPath(req: Parameters<RequestHandler>[0]): string {
  const path = req.originalUrl.split('?')[0] ?? '';
  return path.replace(SECRET_IN_PATH, '$1/{secret}');
}

/** Unknown routes answer 404 problem+json, never Express's HTML page. */
export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(ProblemError.notFound(`${req.method} ${shownPath(req)}`));
};

/** A Temporal client call that failed because the server could not be reached (gRPC UNAVAILABLE). */
function isTemporalUnavailable(err: unknown): boolean {
  for (
    let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 4;
    depth += 1
  ) {
    if (e.code === 14) return true;
    e = e.cause as typeof e;
  }
  return false;
}

/** Maps every error to problem+json. Unexpected errors are logged and answered 500 without internals. */
export const problemHandler: ErrorRequestHandler = (err: unknown, req, res, _next) => {
  if (res.headersSent) return;
  const instance = shownPath(req);
  if (err instanceof ProblemError) return send(res, err, instance);
  if (err instanceof DomainError) return send(res, problemOf(err), instance);
  const e = err as { type?: string; status?: number; message?: string };
  if (e.type === 'entity.parse.failed') {
    return send(
      res,
      ProblemError.badRequest(`The body is not valid JSON: ${e.message}`, [
        { pointer: '/body', message: 'malformed JSON' },
      ]),
      instance,
    );
  }
  if (e.type === 'entity.too.large') {
    return send(
      res,
      new ProblemError(413, 'payload-too-large', 'Request body too large', e.message),
      instance,
    );
  }
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return send(
      res,
      new ProblemError(e.status, 'bad-request', 'Bad request', e.message ?? 'Bad request'),
      instance,
    );
  }
  // Postgres data exceptions (SQLSTATE class 22: a value out of range or unparsable) come from input.
  const sqlState = (err as { code?: unknown }).code;
  if (typeof sqlState === 'string' && /^22[0-9A-Z]{3}$/.test(sqlState)) {
    return send(
      res,
      ProblemError.badRequest('A value in the request is out of range or malformed', [
        { pointer: '', message: (err as Error).message || 'out of range or malformed' },
      ]),
      instance,
    );
  }
  if (isDatabaseUnavailable(err)) {
    logger.warn({ err, path: instance }, 'database unavailable');
    return send(
      res,
      new ProblemError(
        503,
        'database-unavailable',
        'The database is unavailable',
        'The database did not answer; nothing was changed by this request. Retry after the time in Retry-After.',
      ),
      instance,
    );
  }
  if (isTemporalUnavailable(err)) {
    logger.warn({ err, path: instance }, 'Temporal unavailable');
    return send(
      res,
      new ProblemError(
        503,
        'engine-unavailable',
        'The case engine is unavailable',
        'Temporal could not be reached; retry with the same Idempotency-Key.',
      ),
      instance,
    );
  }
  logger.error({ err, path: instance }, 'unhandled error');
  send(
    res,
    new ProblemError(
      500,
      'internal-error',
      'Internal error',
      'An unexpected error occurred; it has been logged.',
    ),
    instance,
  );
};
