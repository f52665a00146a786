import { Router } from 'express';
import type { ApiContext } from '../context';
import { checkComponents, REQUIRED_COMPONENTS } from '../../lib/health';

export function healthRoutes(ctx: ApiContext): Router {
  const router = Router();
  /** Liveness: the process answers. Never checks a dependency, so an outage elsewhere restarts nothing. */
  router.get('/livez', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: 'up' });
  });
  /**
   * Readiness: Postgres and Temporal answer (503 otherwise, with Retry-After); other components (SMTP) are
   * reported but do not take the API out of rotation, since mail is retried by the workflows.
   */
  router.get('/readyz', async (_req, res) => {
    const report = await checkComponents(ctx.probes, REQUIRED_COMPONENTS);
    if (report.status !== 'up') res.set('Retry-After', '5');
    res
      .status(report.status === 'up' ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json(report);
  });
  /** Reports each component; 503 when any is down. Unauthenticated, and says nothing secret. */
  router.get('/health', async (_req, res) => {
    const report = await checkComponents(ctx.probes, Object.keys(ctx.probes));
    res
      .status(report.status === 'up' ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json(report);
  });
  return router;
}
