import type { RequestHandler, Response, Router } from 'express';
import { ipKeyGenerator, rateLimit, type Options } from 'express-rate-limit';
import helmet from 'helmet';
import type { SecuritySettings } from '../lib/config';
import { ProblemError } from './problem';

/**
 * Security headers for every answer (helmet): nosniff, no framing, a Content-Security-Policy that lets
 * the web app (its own scripts, styles, service worker and API calls only) and the /docs page (an inline
 * stylesheet) work, and HSTS plus upgrade-insecure-requests only when PUBLIC_URL is https: sent over plain
 * HTTP they would lock a laptop's browser out of http://localhost.
 */
export function securityHeaders(publicUrl: string): RequestHandler {
  const https = new URL(publicUrl).protocol === 'https:';
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'self'"],
        'base-uri': ["'self'"],
        'connect-src': ["'self'"],
        'font-src': ["'self'", 'data:'],
        'form-action': ["'self'"],
        'frame-ancestors': ["'none'"],
        'img-src': ["'self'", 'data:', 'blob:'],
        'manifest-src': ["'self'"],
        'object-src': ["'none'"],
        'script-src': ["'self'"],
        'script-src-attr': ["'none'"],
        'style-src': ["'self'", "'unsafe-inline'"],
        'worker-src': ["'self'"],
        ...(https ? { 'upgrade-insecure-requests': [] } : {}),
      },
    },
    strictTransportSecurity: https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    xFrameOptions: { action: 'deny' },
    // A one-time ?token= link must not leave with the Referer header.
    referrerPolicy: { policy: 'same-origin' },
  });
}

/**
 * For a page the web app shows in an iframe of its own (the case diagram): framing by the same origin
 * only, and a policy that lets the page load nothing and run nothing (it is inline SVG and styles).
 */
export function allowSameOriginFraming(res: Response): void {
  res.set({
    'X-Frame-Options': 'SAMEORIGIN',
    'Content-Security-Policy':
      "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'",
  });
}

/** Answers of authenticated routes carry personal data: no shared or browser cache may keep them. */
export const noStore: RequestHandler = (_req, res, next) => {
  res.set('Cache-Control', 'no-store');
  next();
};

/** 429 `rate-limited` with Retry-After (whole seconds until the client's window resets). */
export function rateLimitedHandler(detail: string): Options['handler'] {
  return (req, res, next) => {
    const reset = (req as { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
    const seconds = reset ? Math.max(1, Math.ceil((reset.getTime() - Date.now()) / 1000)) : 60;
    res.set('Retry-After', String(seconds));
    next(new ProblemError(429, 'rate-limited', 'Too many attempts', detail, { retryAfter: seconds }));
  };
}

const pass: RequestHandler = (_req, _res, next) => next();

/**
 * Counts failed authentications (answers 401) per client address within `windowMinutes`; past `max`, every
 * authenticated request from that address answers 429 until the window resets. Counted per API process.
 */
export function authFailureLimit(settings: SecuritySettings, windowMinutes: number): RequestHandler {
  if (settings.authFailureMax === 0) return pass;
  return rateLimit({
    windowMs: windowMinutes * 60_000,
    limit: settings.authFailureMax,
    requestWasSuccessful: (_req, res) => res.statusCode !== 401,
    skipSuccessfulRequests: true,
    standardHeaders: false,
    legacyHeaders: false,
    keyGenerator: (req) => ipKeyGenerator(req.ip ?? ''),
    validate: { xForwardedForHeader: false },
    handler: rateLimitedHandler('Too many failed authentications from this address; try again later'),
  });
}

/**
 * The routes that cost far more than a read of the inbox: reports and segment evaluations scan the CRM
 * tables, imports parse uploads, migrations and bulk reassignments update many cases.
 */
export const EXPENSIVE_ROUTES: { method: 'get' | 'post'; path: string }[] = [
  { method: 'get', path: '/reports/forecast' },
  { method: 'get', path: '/reports/open-cases' },
  { method: 'post', path: '/segments/preview' },
  { method: 'get', path: '/segments/:id/entities' },
  { method: 'post', path: '/imports' },
  { method: 'post', path: '/case-types/:id/migrations' },
  { method: 'post', path: '/teams/:id/reassign' },
  { method: 'post', path: '/integrations/inbound-email' },
];

/**
 * Limits the expensive routes to `expensiveMax` calls per caller (or client address, before
 * authentication) within `expensiveWindowSeconds`, one budget for all of them. Mount after authentication.
 */
export function limitExpensiveRoutes(router: Router, settings: SecuritySettings): void {
  if (settings.expensiveMax === 0) return;
  const limiter = rateLimit({
    windowMs: settings.expensiveWindowSeconds * 1000,
    limit: settings.expensiveMax,
    standardHeaders: false,
    legacyHeaders: false,
    keyGenerator: (req) => req.caller?.userId ?? ipKeyGenerator(req.ip ?? ''),
    validate: { xForwardedForHeader: false },
    handler: rateLimitedHandler(
      'Too many expensive requests (reports, imports, migrations); try again later',
    ),
  });
  for (const { method, path } of EXPENSIVE_ROUTES) router[method](path, limiter);
}
