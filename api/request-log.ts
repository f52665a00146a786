import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import { logger } from '../lib/logger';
import { withRequestId } from '../lib/request-context';

/** An incoming X-Request-Id is kept when it is this sane (a proxy's or client's id); otherwise replaced. */
const SANE_ID = /^[\w.:-]{1,128}$/;

/** Probes and scrapes are not logged per request: they would drown the rest. */
const QUIET = new Set(['/livez', '/readyz', '/health', '/metrics']);

/** Paths whose last segment is a secret (calendar feed, unsubscribe link): logged masked. */
const SECRET_PATH = /^\/(calendar|unsubscribe)\/[^/]+$/;

/** The URL as logged: no query string (it may carry tokens), secret path segments masked. */
export function loggedUrl(url: string): string {
  const pathOnly = url.split('?')[0] ?? '';
  return SECRET_PATH.test(pathOnly) ? pathOnly.replace(/[^/]+$/, '***') : pathOnly;
}

function requestIdOf(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && SANE_ID.test(incoming) ? incoming : randomUUID();
}

/**
 * Request logs (pino-http: method, route, status, time) with a request id: the incoming X-Request-Id
 * when sane, else a new UUID; echoed in the answer's X-Request-Id and kept for the request's code
 * (`currentRequestId`), which carries it into Temporal calls.
 */
export function requestLog(): RequestHandler[] {
  const http = pinoHttp({
    logger,
    genReqId: (req, res) => {
      const id = requestIdOf(req);
      res.setHeader('X-Request-Id', id);
      return id;
    },
    autoLogging: { ignore: (req) => QUIET.has((req.url ?? '').split('?')[0] ?? '') },
    // A 4xx is the client's business (info); a 5xx is ours.
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
    serializers: {
      req: (req: { id: unknown; method: string; url: string }) => ({
        id: req.id,
        method: req.method,
        url: loggedUrl(req.url),
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  });
  return [http, (req, _res, next) => withRequestId(String(req.id), next)];
}
