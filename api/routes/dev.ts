import { Router, type Request, type RequestHandler, type Response } from 'express';
import { requireRole } from '../auth';
import type { ApiContext } from '../context';
import { noStore } from '../security';

/**
 * Development-only routes: the mailbox of the built-in SMTP sink (every email sent, with invite and
 * password links). Mounted only when that sink runs (`npm start` without SMTP_URL), for administrators.
 */
export function devRoutes(ctx: ApiContext, authenticated: RequestHandler[]): Router {
  const router = Router();
  router.get('/dev/mail', ...authenticated, noStore, (req: Request, res: Response) => {
    requireRole(req, 'admin');
    const messages = [...(ctx.mailbox?.messages() ?? [])].reverse();
    res.json({ count: messages.length, messages });
  });
  return router;
}
