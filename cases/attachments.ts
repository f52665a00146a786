/** Files attached to cases (the raw MIME of an inbound email, ...): the queries the attachment routes run. */
import type { Queryable } from '../db';

/** An attachment without its content. */
export interface AttachmentSummary {
  id: string;
  kind: string;
  filename: string;
  contentType: string;
  size: number;
  messageId: string | null;
  createdBy: string | null;
  createdAt: string;
}

/** The case's attachments, oldest first, without their content. */
export async function listAttachments(db: Queryable, caseId: string): Promise<AttachmentSummary[]> {
  const rows = await db.query(
    `SELECT id, kind, filename, content_type, size_bytes, message_id, created_by, created_at
     FROM case_attachments WHERE case_id = $1 ORDER BY created_at, id`,
    [caseId],
  );
  return rows.map((r) => ({
    id: r.id as string,
    kind: r.kind as string,
    filename: r.filename as string,
    contentType: r.content_type as string,
    size: r.size_bytes as number,
    messageId: r.message_id as string | null,
    createdBy: r.created_by as string | null,
    createdAt: r.created_at as string,
  }));
}

/** One attachment of the case with its content; undefined when the case has no such attachment. */
export async function findAttachment(
  db: Queryable,
  caseId: string,
  id: string,
): Promise<{ filename: string; contentType: string; content: Buffer } | undefined> {
  const [row] = await db.query<{ filename: string; content_type: string; content: Buffer }>(
    'SELECT filename, content_type, content FROM case_attachments WHERE case_id = $1 AND id = $2',
    [caseId, id],
  );
  return row && { filename: row.filename, contentType: row.content_type, content: row.content };
}
