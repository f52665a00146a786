import { Router } from 'express';
import type { ApiContext } from '../context';

/** Development-only routes: the mailbox of the built-in SMTP sink. Mounted only when a sink runs. */
export function devRoutes(ctx: ApiContext): Router {
  const router = Router();
  router.get('/dev/mail', (_req, res) => {
    const messages = [...(ctx.mailbox?.messages() ?? [])].reverse();
    res.json({ count: messages.length, messages });
  });
  return router;
}
