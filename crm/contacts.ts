/** Contacts of entities: validation, writes (one primary per entity) and quick search. */
import { randomUUID } from 'node:crypto';
import type { Queryable, Row } from '../db';
import { ConflictError, InvalidInputError, type InputError } from '../lib/domain-errors';
import { fieldErrors, validatorFor } from '../lib/json-validation';
import { emailAddressProblem } from '../lib/email-address';
import { customSchema } from './schemas';

export interface ContactInput {
  name?: string;
  email?: string | null;
  phone?: string | null;
  roles?: string[];
  isPrimary?: boolean;
  locale?: string | null;
  jobTitle?: string | null;
  source?: string | null;
  custom?: Record<string, unknown>;
}

export const contactInputSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 300 },
    email: { type: ['string', 'null'], maxLength: 320 },
    phone: { type: ['string', 'null'], maxLength: 50 },
    roles: {
      type: 'array',
      maxItems: 20,
      uniqueItems: true,
      items: { type: 'string', minLength: 1, maxLength: 100 },
    },
    isPrimary: { type: 'boolean' },
    locale: { type: ['string', 'null'], pattern: '^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$' },
    jobTitle: { type: ['string', 'null'], maxLength: 200 },
    source: { type: ['string', 'null'], maxLength: 100 },
    custom: { type: 'object' },
  },
  additionalProperties: false,
};
/** Request schema of a new contact. */
export const contactCreateSchema = { ...contactInputSchema, required: ['name'] };

const COLUMNS = {
  name: 'name',
  email: 'email',
  phone: 'phone',
  roles: 'roles',
  isPrimary: 'is_primary',
  locale: 'locale',
  jobTitle: 'job_title',
  source: 'source',
  custom: 'custom',
} as const satisfies Record<keyof ContactInput, string>;
type ContactField = keyof typeof COLUMNS;
const FIELDS = Object.keys(COLUMNS) as ContactField[];

export const CONTACT_SELECT = `k.id, k.entity_id, k.name, k.email, k.phone, k.roles, k.is_primary, k.locale,
  k.job_title, k.source, k.custom, k.created_at, k.updated_at`;

/** A contact row (CONTACT_SELECT) as the API shows it. */
export function contactView(r: Row) {
  return {
    id: r.id as string,
    entityId: r.entity_id as string,
    name: r.name as string,
    email: (r.email as string | null) ?? null,
    phone: (r.phone as string | null) ?? null,
    roles: r.roles as string[],
    isPrimary: r.is_primary as boolean,
    locale: (r.locale as string | null) ?? null,
    jobTitle: (r.job_title as string | null) ?? null,
    source: (r.source as string | null) ?? null,
    custom: r.custom as Record<string, unknown>,
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
}
export type ContactView = ReturnType<typeof contactView>;

/** Field errors of a contact (schema, RFC 3696 address, custom fields); empty when valid. */
export function contactErrors(body: unknown, prefix: string, creating: boolean): InputError[] {
  const validate = validatorFor(creating ? contactCreateSchema : contactInputSchema);
  const errors: InputError[] = validate(body) ? [] : fieldErrors(validate.errors, prefix);
  const input = (body ?? {}) as ContactInput;
  if (typeof input.email === 'string') {
    const problem = emailAddressProblem(input.email);
    if (problem) errors.push({ pointer: `${prefix}/email`, message: problem });
  }
  if (input.custom && typeof input.custom === 'object') {
    const custom = validatorFor(customSchema('contact'));
    if (!custom(input.custom)) errors.push(...fieldErrors(custom.errors, `${prefix}/custom`));
  }
  return errors;
}

/** Validates a contact; throws one 400 listing every error. */
export function checkContactInput(body: unknown, prefix: string, creating: boolean): ContactInput {
  const errors = contactErrors(body, prefix, creating);
  if (errors.length > 0) throw new InvalidInputError(`The contact has ${errors.length} error(s)`, errors);
  return body as ContactInput;
}

function conflictOf(err: unknown, input: ContactInput, prefix: string): unknown {
  const e = err as { code?: string; constraint?: string };
  if (e.code === '23505' && e.constraint === 'contacts_entity_email') {
    return new ConflictError(
      'duplicate-contact',
      'Duplicate contact',
      'The entity already has a contact with this address',
      {
        errors: [
          { pointer: `${prefix}/email`, message: `"${input.email}" is already a contact of this entity` },
        ],
      },
    );
  }
  return err;
}

const param = (f: ContactField, v: unknown) => (f === 'custom' ? JSON.stringify(v) : v);

/**
 * Clears the entity's primary contact (other than `keep`) before another one takes the flag. The entity's
 * row is locked first, until the caller's transaction ends, so writers of the same entity's primary take
 * turns (the last one wins) rather than both clearing the old one and colliding on the one-primary index.
 * A caller that locks a contact row first must lock its entity before that (api/routes/contacts.ts).
 */
async function takePrimary(tx: Queryable, entityId: string, keep?: string): Promise<void> {
  await tx.query('SELECT 1 FROM entities WHERE id = $1 FOR NO KEY UPDATE', [entityId]);
  await tx.query(
    `UPDATE contacts SET is_primary = false, updated_at = now()
     WHERE entity_id = $1 AND is_primary AND ($2::text IS NULL OR id <> $2)`,
    [entityId, keep ?? null],
  );
}

/** Inserts a validated contact; a primary one takes the flag from the entity's previous primary. */
export async function insertContact(
  tx: Queryable,
  entityId: string,
  input: ContactInput,
  prefix = '/body',
): Promise<ContactView> {
  if (input.isPrimary) await takePrimary(tx, entityId);
  const fields = FIELDS.filter((f) => input[f] !== undefined);
  try {
    const rows = await tx.query(
      `INSERT INTO contacts AS k (id, entity_id, ${fields.map((f) => COLUMNS[f]).join(', ')})
       VALUES ($1, $2, ${fields.map((_, i) => `$${i + 3}`).join(', ')}) RETURNING ${CONTACT_SELECT}`,
      [`con-${randomUUID()}`, entityId, ...fields.map((f) => param(f, input[f]))],
    );
    return contactView(rows[0] as Row);
  } catch (err) {
    throw conflictOf(err, input, prefix);
  }
}

/** Applies a validated patch. */
export async function updateContact(
  tx: Queryable,
  current: ContactView,
  patch: ContactInput,
  prefix = '/body',
): Promise<ContactView> {
  const fields = FIELDS.filter((f) => patch[f] !== undefined);
  if (fields.length === 0) return current;
  if (patch.isPrimary) await takePrimary(tx, current.entityId, current.id);
  const params: unknown[] = [current.id];
  const sets = fields.map((f) => {
    params.push(param(f, patch[f]));
    return `${COLUMNS[f]} = $${params.length}`;
  });
  try {
    const rows = await tx.query(
      `UPDATE contacts k SET ${sets.join(', ')}, updated_at = now() WHERE k.id = $1 RETURNING ${CONTACT_SELECT}`,
      params,
    );
    return contactView(rows[0] as Row);
  } catch (err) {
    throw conflictOf(err, { ...current, ...patch }, prefix);
  }
}

/**
 * Quick search across name, email and phone: a trigram "contains" match on the name (case- and
 * accent-insensitively, crm_fold) and email, a digits match on the phone. Contacts are shared CRM master data:
 * every role that reads contacts finds all of them (crm/permissions.ts).
 */
export async function searchContacts(db: Queryable, q: string, limit: number): Promise<ContactView[]> {
  const needle = q.trim().toLowerCase();
  const digits = needle.replace(/[^0-9]/g, '');
  const escaped = needle.replace(/[\\%_]/g, (c) => `\\${c}`);
  const rows = await db.query(
    `SELECT ${CONTACT_SELECT}, e.name AS entity_name FROM contacts k JOIN entities e ON e.id = k.entity_id
     WHERE (crm_fold(k.name) || ' ' || lower(coalesce(k.email, ''))) LIKE crm_fold($1)
        OR ($2 <> '' AND length($2) >= 3 AND k.phone_digits LIKE '%' || $2 || '%')
     ORDER BY (crm_fold(k.name) LIKE crm_fold($3)) DESC, k.is_primary DESC, k.name, k.id
     LIMIT $4`,
    [`%${escaped}%`, digits, `${escaped}%`, limit],
  );
  return rows.map((r) => ({ ...contactView(r), entityName: r.entity_name as string }));
}

/** One contact; with `lock` (in a transaction) its row stays locked, after its entity's when `lockEntity`. */
export async function findContact(
  db: Queryable,
  id: string,
  options: { lock?: boolean; lockEntity?: boolean } = {},
): Promise<ContactView | undefined> {
  // Taking the primary flag locks the entity, and that lock comes before the contact's (as when a contact is
  // added), or two such edits of one entity could deadlock.
  if (options.lockEntity)
    await db.query(
      'SELECT 1 FROM entities e JOIN contacts k ON k.entity_id = e.id WHERE k.id = $1 FOR NO KEY UPDATE OF e',
      [id],
    );
  const rows = await db.query(
    `SELECT ${CONTACT_SELECT} FROM contacts k WHERE k.id = $1${options.lock ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return rows[0] ? contactView(rows[0]) : undefined;
}

/** Deletes a contact; false when there was none. */
export async function deleteContact(db: Queryable, id: string): Promise<boolean> {
  const rows = await db.query('DELETE FROM contacts WHERE id = $1 RETURNING id', [id]);
  return rows.length > 0;
}
