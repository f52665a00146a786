import { Router } from 'express';
import type { ApiContext } from '../context';

const PROBE_TIMEOUT_MS = 3000;

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function healthRoutes(ctx: ApiContext): Router {
  const router = Router();
  /** Reports each component; 503 when any is down. Unauthenticated, and says nothing secret. */
  router.get('/health', async (_req, res) => {
    const checks: Record<string, { status: 'up' | 'down'; latencyMs: number; error?: string }> = {};
    await Promise.all(
      Object.entries(ctx.probes).map(async ([name, probe]) => {
        const started = Date.now();
        try {
          await withTimeout(probe());
          checks[name] = { status: 'up', latencyMs: Date.now() - started };
        } catch (err) {
          checks[name] = { status: 'down', latencyMs: Date.now() - started, error: (err as Error).message };
        }
      }),
    );
    const up = Object.values(checks).every((c) => c.status === 'up');
    res.status(up ? 200 : 503).json({ status: up ? 'up' : 'down', checks });
  });
  return router;
}
