import { Router } from 'express';
import { callerOf } from '../auth';
import type { ApiContext } from '../context';
import { ProblemError } from '../problem';
import { loadVisibleCase } from './cases';

export function attachmentRoutes(ctx: ApiContext): Router {
  const router = Router();

  /** Files attached to a case (an inbound email's raw message, ...), without their content. */
  router.get('/cases/:id/attachments', async (req, res) => {
    const caller = callerOf(req);
    await loadVisibleCase(ctx, caller, req.params.id);
    const rows = await ctx.db.query(
      `SELECT id, kind, filename, content_type, size_bytes, message_id, created_by, created_at
       FROM case_attachments WHERE case_id = $1 ORDER BY created_at, id`,
      [req.params.id],
    );
    res.json({
      items: rows.map((r) => ({
        id: r.id,
        kind: r.kind,
        filename: r.filename,
        contentType: r.content_type,
        size: r.size_bytes,
        messageId: r.message_id,
        createdBy: r.created_by,
        createdAt: r.created_at,
        href: `/api/cases/${req.params.id}/attachments/${String(r.id)}`,
      })),
    });
  });

  /** One attachment's content, as it was received. */
  router.get('/cases/:id/attachments/:attachmentId', async (req, res) => {
    const caller = callerOf(req);
    await loadVisibleCase(ctx, caller, req.params.id);
    const [row] = await ctx.db.query<{ filename: string; content_type: string; content: Buffer }>(
      'SELECT filename, content_type, content FROM case_attachments WHERE case_id = $1 AND id = $2',
      [req.params.id, req.params.attachmentId],
    );
    if (!row) throw ProblemError.notFound(`Attachment ${req.params.attachmentId}`);
    res.status(200).type(row.content_type).attachment(row.filename).send(row.content);
  });

  return router;
}
