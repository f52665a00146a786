/**
 * Email-to-case: a received message (raw MIME) is matched to a contact or entity by its sender (or creates
 * them), opens a case of the type configured for the address it was sent to, and is stored as an attachment
 * of that case. Idempotent by Message-ID: the same message delivered twice opens one case.
 */
import { createHash, randomUUID } from 'node:crypto';
import { simpleParser, type AddressObject } from 'mailparser';
import type { Db, Queryable, Row } from '../db';
import { latestDefinition } from '../db/definitions';
import { InvalidInputError, UnprocessableError } from '../lib/domain-errors';
import { fieldErrors, validatorFor } from '../lib/json-validation';
import type { StartInput } from '../engine/state';
import type { CaseTypeDefinition } from '../engine/types';
import { emailAddressProblem } from '../lib/email-address';
import { insertContact } from './contacts';
import { generatedCode, insertEntity } from './entities';

export interface InboundDeps {
  db: Db;
  /** Starts a case workflow (idempotent by case id): `CaseGateway.start`. */
  startCase(definition: CaseTypeDefinition, start: StartInput): Promise<unknown>;
}

export interface InboundResult {
  result: 'created' | 'unchanged';
  messageId: string;
  mailbox: string;
  caseId: string;
  caseType: string;
  entityId: string;
  contactId: string | null;
  entityCreated: boolean;
  contactCreated: boolean;
  attachmentId: string | null;
}

/** Largest message accepted, by the HTTP endpoint and the SMTP listener alike. */
export const MAX_INBOUND_BYTES = 10 * 1024 * 1024;

type Mailbox = {
  address: string;
  case_type: string;
  entity_kind: 'EN' | 'CL' | 'PR';
  owner_id: string | null;
  case_data: Record<string, unknown>;
};

const addresses = (field: AddressObject | AddressObject[] | undefined): string[] =>
  ([] as AddressObject[])
    .concat(field ?? [])
    .flatMap((a) => a.value)
    .flatMap((v) => (v.address ? [v.address.toLowerCase()] : []));

/** Case data from the mailbox's defaults and the message, limited to what the definition declares. */
function caseData(def: CaseTypeDefinition, mailbox: Mailbox, subject: string): Record<string, unknown> {
  const props = (def.fields as { properties?: Record<string, { maxLength?: number }> } | undefined)
    ?.properties;
  const data: Record<string, unknown> = { ...mailbox.case_data };
  if (props?.subject && data.subject === undefined) {
    const max = props.subject.maxLength ?? 200;
    data.subject = (subject || '(no subject)').slice(0, max);
  }
  return data;
}

/** A received message's row; `created` only on the delivery that created it. */
interface Received {
  case_id: string;
  entity_id: string;
  contact_id: string | null;
  mailbox: string;
  created?: { entityCreated: boolean; contactCreated: boolean; attachmentId: string };
}

async function existing(db: Queryable, messageId: string): Promise<Received | undefined> {
  const rows = await db.query<{
    case_id: string;
    entity_id: string;
    contact_id: string | null;
    mailbox: string;
  }>('SELECT case_id, entity_id, contact_id, mailbox FROM inbound_messages WHERE message_id = $1', [
    messageId,
  ]);
  return rows[0];
}

/**
 * Receives one message. `recipients` are the envelope recipients (SMTP) or the address the caller names;
 * without them the To, Cc and Delivered-To headers choose the mailbox.
 */
export async function receiveEmail(
  deps: InboundDeps,
  raw: Buffer,
  recipients: string[] = [],
): Promise<InboundResult> {
  if (raw.length === 0)
    throw new InvalidInputError('The message is empty', [{ pointer: '/body', message: 'is empty' }]);
  const parsed = await simpleParser(raw, {
    skipHtmlToText: true,
    skipTextToHtml: true,
    skipImageLinks: true,
  });
  const sender = addresses(parsed.from)[0];
  if (!sender)
    throw new InvalidInputError('The message has no sender', [
      { pointer: '/body/headers/from', message: 'has no address' },
    ]);
  const problem = emailAddressProblem(sender);
  if (problem)
    throw new InvalidInputError(`The sender address is not valid: ${problem}`, [
      { pointer: '/body/headers/from', message: problem },
    ]);
  const senderName = ([] as AddressObject[]).concat(parsed.from ?? [])[0]?.value[0]?.name?.trim() || sender;
  const delivered = ([] as unknown[])
    .concat(parsed.headers.get('delivered-to') ?? [])
    .map((v) => String(v).toLowerCase());
  const candidates = recipients.length
    ? recipients.map((r) => r.toLowerCase())
    : [...addresses(parsed.to), ...addresses(parsed.cc), ...delivered];
  const [mailbox] = await deps.db.query<Mailbox>(
    `SELECT address, case_type, entity_kind, owner_id, case_data FROM inbound_mailboxes
     WHERE address = ANY($1::text[]) AND active ORDER BY address LIMIT 1`,
    [candidates],
  );
  if (!mailbox)
    throw new UnprocessableError(
      'unknown-mailbox',
      'No inbound mailbox for the recipient',
      `None of ${candidates.join(', ') || '(no recipient)'} is a configured inbound address`,
      {
        errors: [{ pointer: '/body/headers/to', message: 'is not a configured inbound address' }],
      },
    );
  const messageId =
    parsed.messageId?.trim() || `<${createHash('sha256').update(raw).digest('hex')}@inbound.invalid>`;

  const stored = await latestDefinition(deps.db, mailbox.case_type);
  if (!stored)
    throw new UnprocessableError(
      'mailbox-misconfigured',
      'The inbound mailbox is misconfigured',
      `Case type "${mailbox.case_type}" of ${mailbox.address} is not published`,
    );
  const def = stored.definition;
  const data = caseData(def, mailbox, parsed.subject ?? '');
  if (def.fields) {
    const validate = validatorFor(def.fields);
    if (!validate(data))
      throw new UnprocessableError(
        'mailbox-misconfigured',
        'The inbound mailbox is misconfigured',
        `The case data of ${mailbox.address} does not fit case type "${mailbox.case_type}"`,
        {
          errors: fieldErrors(validate.errors, '/mailbox/caseData'),
        },
      );
  }

  const before: Received | undefined = await existing(deps.db, messageId);
  const record: Received =
    before ??
    (await deps.db.transaction(async (tx): Promise<Received> => {
      // Serializes two deliveries of the same message: the second waits, then finds the first one's row.
      await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 6))', [messageId]);
      const again = await existing(tx, messageId);
      if (again) return again;
      let entityCreated = false;
      let contactCreated = false;
      let contactId: string | null = null;
      let entityId: string;
      const [contact] = await tx.query<{ id: string; entity_id: string }>(
        `SELECT id, entity_id FROM contacts WHERE lower(email) = lower($1) ORDER BY is_primary DESC, created_at, id LIMIT 1`,
        [sender],
      );
      if (contact) {
        contactId = contact.id;
        entityId = contact.entity_id;
      } else {
        const [entity] = await tx.query<{ id: string }>(
          'SELECT id FROM entities WHERE lower(email) = lower($1) ORDER BY created_at, id LIMIT 1',
          [sender],
        );
        if (entity) entityId = entity.id;
        else {
          const created = await insertEntity(
            tx,
            {
              entityType: 'person',
              kind: mailbox.entity_kind,
              code: generatedCode(),
              name: senderName.slice(0, 300),
              email: sender,
              source: 'email',
              agentId: mailbox.owner_id,
            },
            'inbound-email',
          );
          entityId = created.id;
          entityCreated = true;
        }
        const createdContact = await insertContact(tx, entityId, {
          name: senderName.slice(0, 300),
          email: sender,
          isPrimary: entityCreated,
          source: 'email',
        });
        contactId = createdContact.id;
        contactCreated = true;
      }
      const caseId = `case-${randomUUID()}`;
      const attachmentId = `att-${randomUUID()}`;
      const filename = `${(parsed.subject ?? 'message').replace(/[^\p{L}\p{N} ._-]+/gu, '_').slice(0, 100) || 'message'}.eml`;
      await tx.query(
        `INSERT INTO case_attachments (id, case_id, kind, filename, content_type, size_bytes, content, message_id, created_by)
         VALUES ($1, $2, 'email', $3, 'message/rfc822', $4, $5, $6, 'inbound-email')`,
        [attachmentId, caseId, filename, raw.length, raw, messageId],
      );
      await tx.query(
        `INSERT INTO inbound_messages (message_id, mailbox, from_address, subject, entity_id, contact_id, case_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [messageId, mailbox.address, sender, parsed.subject ?? null, entityId, contactId, caseId],
      );
      return {
        case_id: caseId,
        entity_id: entityId,
        contact_id: contactId,
        mailbox: mailbox.address,
        created: { entityCreated, contactCreated, attachmentId },
      };
    }));

  // Started after the commit, by case id: a delivery whose start failed is completed by the next one. A case
  // already projected is not started again (it may have ended: a new start would run it twice).
  const fresh = record.created !== undefined;
  const projected = fresh ? [] : await deps.db.query('SELECT 1 FROM cases WHERE id = $1', [record.case_id]);
  const [entity] = await deps.db.query<{ id: string; name: string; agent_id: string | null }>(
    'SELECT id, name, agent_id FROM entities WHERE id = $1',
    [record.entity_id],
  );
  if (projected.length === 0)
    await deps.startCase(def, {
      caseId: record.case_id,
      caseType: def.id,
      definitionVersion: stored.version,
      data,
      entity: entity ? { id: entity.id, name: entity.name, agentId: entity.agent_id } : null,
      ownerId: mailbox.owner_id ?? entity?.agent_id ?? null,
      actor: 'inbound-email',
    });
  return {
    result: fresh ? 'created' : 'unchanged',
    messageId,
    mailbox: record.mailbox,
    caseId: record.case_id,
    caseType: def.id,
    entityId: record.entity_id,
    contactId: record.contact_id,
    entityCreated: record.created?.entityCreated ?? false,
    contactCreated: record.created?.contactCreated ?? false,
    attachmentId: record.created?.attachmentId ?? null,
  };
}

/** What an inbound address opens: a case of `caseType` for an entity of `entityKind`, owned by `ownerId`. */
export interface InboundMailboxInput {
  caseType: string;
  entityKind?: 'EN' | 'CL' | 'PR';
  ownerId?: string | null;
  caseData?: Record<string, unknown>;
  active?: boolean;
}

/** Creates or replaces an inbound address's configuration (`address` in lower case); returns its row. */
export async function saveInboundMailbox(
  db: Queryable,
  address: string,
  input: InboundMailboxInput,
): Promise<Row | undefined> {
  const [row] = await db.query(
    `INSERT INTO inbound_mailboxes (address, case_type, entity_kind, owner_id, case_data, active)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (address) DO UPDATE SET case_type = EXCLUDED.case_type, entity_kind = EXCLUDED.entity_kind,
       owner_id = EXCLUDED.owner_id, case_data = EXCLUDED.case_data, active = EXCLUDED.active, updated_at = now()
     RETURNING *`,
    [
      address,
      input.caseType,
      input.entityKind ?? 'EN',
      input.ownerId ?? null,
      JSON.stringify(input.caseData ?? {}),
      input.active ?? true,
    ],
  );
  return row;
}

/** Every inbound address's configuration, by address. */
export function listInboundMailboxes(db: Queryable): Promise<Row[]> {
  return db.query('SELECT * FROM inbound_mailboxes ORDER BY address');
}
