import fs from 'node:fs';
import path from 'node:path';
import express, { Router } from 'express';

/** Paths the web app never answers: the API, the development mailbox and the API reference. */
const NOT_WEB = /^\/(api|dev|docs)(\/|$)/;

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CRM: web app not built</title></head>
<body><h1>The web app is not built</h1>
<p>Build it (see the README) and reload. The API reference is at <a href="/docs">/docs</a>.</p></body></html>
`;

/**
 * Serves the built web app (`web/dist`) at `/`: its files, and `index.html` for any other GET that asks
 * for HTML outside /api, /dev and /docs, so the app's own routes (/tasks/:id, /set-password, ...) load
 * on a reload or from an email link. Hashed assets (`/assets/*`) are cached for good; everything else is
 * revalidated, so a new build shows at once. Security headers (CSP, framing, referrer) come from
 * api/security.ts for every answer. Looked up per request: building after start-up works.
 */
export function webAppRoutes(distDir: string): Router {
  const router = Router();
  const index = path.join(distDir, 'index.html');
  router.use(
    express.static(distDir, {
      index: false,
      redirect: false,
      setHeaders: (res, file) => {
        const immutable = file.startsWith(path.join(distDir, 'assets') + path.sep);
        res.setHeader('Cache-Control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    }),
  );
  router.use((req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (NOT_WEB.test(req.path) || !/\btext\/html\b/.test(req.get('accept') ?? '')) return next();
    res.set('Cache-Control', 'no-cache');
    if (!fs.existsSync(index)) {
      res.status(503).type('html').send(NOT_BUILT);
      return;
    }
    res.sendFile(index);
  });
  return router;
}
