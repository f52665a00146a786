import { Router } from 'express';
import { findAttachment, listAttachments } from '../../cases/attachments';
import { permit } from '../../crm/permissions';
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
    permit(caller, 'attachment', 'read');
    await loadVisibleCase(ctx, caller, req.params.id);
    const items = await listAttachments(ctx.db, req.params.id);
    res.json({
      items: items.map((a) => ({ ...a, href: `/api/cases/${req.params.id}/attachments/${a.id}` })),
    });
  });

  /** One attachment's content, as it was received. */
  router.get('/cases/:id/attachments/:attachmentId', async (req, res) => {
    const caller = callerOf(req);
    permit(caller, 'attachment', 'read');
    await loadVisibleCase(ctx, caller, req.params.id);
    const file = await findAttachment(ctx.db, req.params.id, req.params.attachmentId);
    if (!file) throw ProblemError.notFound(`Attachment ${req.params.attachmentId}`);
    res.status(200).type(file.contentType).attachment(file.filename).send(file.content);
  });

  return router;
}
