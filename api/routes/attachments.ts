import { Router } from 'express';
import { callerOf } from '../auth';
import type { ApiContext } from '../context';
import { dateTime, problemResponses, type OperationSpec } from '../operation';
import { ProblemError } from '../problem';
import { loadVisibleCase } from './cases';

/** An attachment as the list shows it (without its content). */
const attachmentSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    kind: { type: 'string', description: 'What the file is: email (the raw inbound message), ...' },
    filename: { type: 'string' },
    contentType: { type: 'string' },
    size: { type: 'integer', description: 'Bytes' },
    messageId: { type: ['string', 'null'], description: 'Message-ID of the email it came with' },
    createdBy: { type: ['string', 'null'] },
    createdAt: dateTime,
    href: { type: 'string', description: 'Where to download the content' },
  },
  required: ['id', 'kind', 'filename', 'contentType', 'size', 'createdAt', 'href'],
};

export const attachmentOperations: OperationSpec[] = [
  {
    method: 'get',
    path: '/api/cases/:id/attachments',
    operationId: 'listCaseAttachments',
    tag: 'CRM: Attachments',
    summary:
      "The files attached to a case the caller may see (an inbound email's raw message, ...), without content",
    params: { id: 'Case id' },
    responses: {
      '200': {
        description: 'Attachments, oldest first',
        schema: { type: 'object', properties: { items: { type: 'array', items: attachmentSchema } } },
      },
      ...problemResponses(401, 404),
    },
  },
  {
    method: 'get',
    path: '/api/cases/:id/attachments/:attachmentId',
    operationId: 'getCaseAttachment',
    tag: 'CRM: Attachments',
    summary: "Downloads one attachment's content, as it was received",
    description:
      'Answered with the stored Content-Type (message/rfc822 for an inbound email) and `Content-Disposition: attachment` with its filename.',
    params: { id: 'Case id', attachmentId: 'Attachment id (from the list)' },
    responses: {
      '200': {
        description: 'The file',
        contentType: '*/*',
        schema: { type: 'string', description: 'The file content, in its own media type' },
      },
      ...problemResponses(401, 404),
    },
  },
];

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
