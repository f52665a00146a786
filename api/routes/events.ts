import { Router } from 'express';
import { callerOf } from '../auth';
import type { ApiContext } from '../context';
import { problemResponses, type OperationSpec } from '../operation';
import { check } from '../validation';
import { TaskEventHub, concerns, type HubMessage } from '../task-events';

/** A comment line every so often keeps proxies and load balancers from closing an idle stream. */
export const HEARTBEAT_MS = 15_000;

export const streamQuerySchema = { type: 'object', additionalProperties: false };

export const eventOperations: OperationSpec[] = [
  {
    method: 'get',
    path: '/api/inbox/stream',
    operationId: 'streamInbox',
    tag: 'Inbox',
    summary: 'Server-Sent Events: a `task` event whenever a task in my inbox changes; refetch the inbox then',
    description:
      'Events: `ready` once listening; `task` with data {"taskId","status","assignee"}; `reset` when changes may have been missed (refetch everything). A comment line every 15 s keeps the stream open. Browsers: use a fetch-based EventSource to send the Authorization header.',
    query: streamQuerySchema,
    responses: {
      '200': {
        description: 'An endless event stream',
        contentType: 'text/event-stream',
        schema: { type: 'string' },
      },
      ...problemResponses(400, 401),
    },
  },
];

export function eventRoutes(ctx: ApiContext): Router {
  const router = Router();
  const hub = new TaskEventHub(ctx.db);

  router.get('/inbox/stream', async (req, res) => {
    const caller = callerOf(req);
    check(streamQuerySchema, { ...req.query }, '/query');
    let seq = 0;
    const write = (event: string, data: unknown): void => {
      if (!res.headersSent || res.writableEnded) return;
      seq += 1;
      res.write(`id: ${seq}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const onMessage = (message: HubMessage): void => {
      if (message.kind === 'reset') return write('reset', {});
      const c = message.change;
      if (concerns(caller, c))
        write('task', { taskId: c.id, status: c.status ?? null, assignee: c.assignee ?? null });
    };
    const stream: { closed: boolean; unsubscribe?: () => void; heartbeat?: NodeJS.Timeout } = {
      closed: false,
    };
    res.on('close', () => {
      stream.closed = true;
      clearInterval(stream.heartbeat);
      stream.unsubscribe?.();
    });
    stream.unsubscribe = await hub.subscribe(onMessage);
    if (stream.closed) {
      stream.unsubscribe();
      return;
    }
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    res.write(`retry: 3000\n\n`);
    write('ready', { userId: caller.userId });
    stream.heartbeat = setInterval(
      () => res.write(`: heartbeat ${new Date().toISOString()}\n\n`),
      HEARTBEAT_MS,
    );
    stream.heartbeat.unref();
  });

  return router;
}
