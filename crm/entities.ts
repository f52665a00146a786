/**
 * CRM entities (people or companies): validation of standard and company-defined fields, creation,
 * update, and the idempotent upsert the ERP hook uses. SQL through the db module only.
 */
import { canonicalJson } from '../lib/canonical-json';
import { randomUUID } from 'node:crypto';
import type { Queryable, Row } from '../db';
import { ConflictError, InvalidInputError, type InputError } from '../lib/domain-errors';
import { fieldErrors, validatorFor } from '../lib/json-validation';
import { emailAddressProblem } from '../lib/email-address';
import { customSchema } from './schemas';

export type EntityKind = 'EN' | 'CL' | 'PR';

/** An entity as the API reads and writes it. */
export interface EntityInput {
  entityType?: 'person' | 'company';
  kind?: EntityKind;
  code?: string;
  name?: string;
  taxId?: string | null;
  email?: string | null;
  phone?: string | null;
  address?: string | null;
  city?: string | null;
  postalCode?: string | null;
  country?: string | null;
  source?: string | null;
  sector?: string | null;
  zone?: string | null;
  agentId?: string | null;
  externalCode?: string | null;
  custom?: Record<string, unknown>;
}

/** API field -> column, for every standard field a client may write. */
export const ENTITY_COLUMNS = {
  entityType: 'entity_type',
  kind: 'kind',
  code: 'code',
  name: 'name',
  taxId: 'tax_id',
  email: 'email',
  phone: 'phone',
  address: 'address',
  city: 'city',
  postalCode: 'postal_code',
  country: 'country',
  source: 'source',
  sector: 'sector',
  zone: 'zone',
  agentId: 'agent_id',
  externalCode: 'external_code',
  custom: 'custom',
} as const satisfies Record<keyof EntityInput, string>;

type EntityField = keyof typeof ENTITY_COLUMNS;
const FIELDS = Object.keys(ENTITY_COLUMNS) as EntityField[];

const text = (max: number) => ({ type: ['string', 'null'], maxLength: max });

/** Request schema of an entity; `required` is added for creation. */
export const entityInputSchema = {
  type: 'object',
  properties: {
    entityType: { enum: ['person', 'company'] },
    kind: { enum: ['EN', 'CL', 'PR'] },
    code: { type: 'string', minLength: 1, maxLength: 50, pattern: '^\\S(.*\\S)?$' },
    name: { type: 'string', minLength: 1, maxLength: 300 },
    taxId: text(50),
    email: { type: ['string', 'null'], maxLength: 320 },
    phone: text(50),
    address: text(500),
    city: text(100),
    postalCode: text(20),
    country: { type: ['string', 'null'], pattern: '^[A-Z]{2}$' },
    source: text(100),
    sector: text(100),
    zone: text(100),
    agentId: text(100),
    externalCode: { type: ['string', 'null'], minLength: 1, maxLength: 100 },
    custom: { type: 'object' },
  },
  additionalProperties: false,
};
/** Request schema of a new entity. */
export const entityCreateSchema = { ...entityInputSchema, required: ['name'] };

/** The entity columns as the API shows them. */
export const ENTITY_SELECT = `e.id, e.entity_type, e.kind, e.code, e.name, e.tax_id, e.email, e.phone, e.address,
  e.city, e.postal_code, e.country, e.source, e.sector, e.zone, e.agent_id, e.external_code, e.custom,
  e.created_at, e.updated_at`;

export interface EntityView extends Required<Omit<EntityInput, 'custom'>> {
  id: string;
  custom: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

/** An entity row (selected with ENTITY_SELECT) as the API shows it. */
export function entityView(r: Row): EntityView {
  const view: Record<string, unknown> = { id: r.id };
  for (const field of FIELDS) view[field] = r[ENTITY_COLUMNS[field]] ?? null;
  view.createdAt = r.created_at;
  view.updatedAt = r.updated_at;
  return view as unknown as EntityView;
}

/** Validates standard fields, the address (RFC 3696) and custom fields; throws one 400 listing every error. */
export function checkEntityInput(body: unknown, prefix: string, creating: boolean): EntityInput {
  const validate = validatorFor(creating ? entityCreateSchema : entityInputSchema);
  const errors: InputError[] = validate(body) ? [] : fieldErrors(validate.errors, prefix);
  const input = (body ?? {}) as EntityInput;
  if (typeof input.email === 'string') {
    const problem = emailAddressProblem(input.email);
    if (problem) errors.push({ pointer: `${prefix}/email`, message: problem });
  }
  if (input.custom && typeof input.custom === 'object' && !Array.isArray(input.custom)) {
    const custom = validatorFor(customSchema('entity'));
    // A change (not a creation) merges: a null removes that field, so only the values it sets are checked.
    const values = creating
      ? input.custom
      : Object.fromEntries(Object.entries(input.custom).filter(([, v]) => v !== null));
    if (!custom(values)) errors.push(...fieldErrors(custom.errors, `${prefix}/custom`));
  }
  if (errors.length > 0) throw new InvalidInputError(`The entity has ${errors.length} error(s)`, errors);
  return input;
}

/** 400 when the agent does not exist. */
async function checkAgent(db: Queryable, agentId: string | null | undefined, prefix: string): Promise<void> {
  if (!agentId) return;
  const rows = await db.query('SELECT 1 FROM users WHERE id = $1', [agentId]);
  if (rows.length === 0)
    throw new InvalidInputError('Unknown agent', [
      { pointer: `${prefix}/agentId`, message: 'is not a user' },
    ]);
}

/** Maps a unique violation on entities to a 409 with the offending field. */
function conflictOf(err: unknown, input: EntityInput, prefix: string): unknown {
  const e = err as { code?: string; constraint?: string };
  if (e.code !== '23505') return err;
  if (e.constraint === 'entities_external_code') {
    return new ConflictError('duplicate-code', 'Duplicate code', 'The external code is already used', {
      errors: [{ pointer: `${prefix}/externalCode`, message: `"${input.externalCode}" is already used` }],
    });
  }
  return new ConflictError('duplicate-code', 'Duplicate code', 'The code is already used for this kind', {
    errors: [
      {
        pointer: `${prefix}/code`,
        message: `${input.kind ?? 'EN'} code "${input.code}" is already used by another entity`,
      },
    ],
  });
}

/** A code for an entity created without one (inbound email, quick entry). */
export function generatedCode(): string {
  return `A${randomUUID().replace(/-/g, '').slice(0, 11).toUpperCase()}`;
}

/** Inserts a validated entity; 409 on a duplicate kind+code or external code. */
export async function insertEntity(
  db: Queryable,
  input: EntityInput,
  createdBy: string | null,
  prefix = '/body',
): Promise<EntityView> {
  await checkAgent(db, input.agentId, prefix);
  const values: EntityInput = { kind: 'EN', entityType: 'company', ...input };
  values.code ??= values.externalCode ?? generatedCode();
  const fields = FIELDS.filter((f) => values[f] !== undefined);
  const params = fields.map((f) => (f === 'custom' ? JSON.stringify(values[f]) : values[f]));
  const id = `ent-${randomUUID()}`;
  try {
    const rows = await db.query(
      `INSERT INTO entities AS e (id, created_by, ${fields.map((f) => ENTITY_COLUMNS[f]).join(', ')})
       VALUES ($1, $2, ${fields.map((_, i) => `$${i + 3}`).join(', ')})
       RETURNING ${ENTITY_SELECT}`,
      [id, createdBy, ...params],
    );
    return entityView(rows[0] as Row);
  } catch (err) {
    throw conflictOf(err, values, prefix);
  }
}

/** An entity that may be the same as one just written: same name (case and accents ignored) or same tax id. */
export interface PossibleDuplicate {
  id: string;
  code: string;
  name: string;
  matchedOn: ('name' | 'taxId')[];
}

/**
 * Other entities with the same folded name (crm_fold, as the search compares names) or the same tax id as
 * `entity`, at most 10, by name. A warning only: the caller decides whether to merge or keep both.
 */
export async function possibleDuplicates(
  db: Queryable,
  entity: { id: string; name: string; taxId: string | null | undefined },
): Promise<PossibleDuplicate[]> {
  const rows = await db.query<{
    id: string;
    code: string;
    name: string;
    same_name: boolean;
    same_tax: boolean;
  }>(
    `SELECT e.id, e.code, e.name, e.name_fold = crm_fold($2) AS same_name,
            coalesce(e.tax_id = $3, false) AS same_tax
     FROM entities e
     WHERE e.id <> $1 AND (e.name_fold = crm_fold($2) OR e.tax_id = $3)
     ORDER BY e.name, e.id LIMIT 10`,
    [entity.id, entity.name, entity.taxId ?? null],
  );
  return rows.map((r) => ({
    id: r.id,
    code: r.code,
    name: r.name,
    matchedOn: [...(r.same_name ? ['name' as const] : []), ...(r.same_tax ? ['taxId' as const] : [])],
  }));
}

/**
 * The custom fields after a change: the change's fields merged into the stored ones (a null removes one), as
 * `PATCH /api/cases/:id` merges a case's data. Fields the change does not name are kept.
 */
export function mergeCustom(
  current: Record<string, unknown> | null | undefined,
  change: Record<string, unknown>,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...(current ?? {}) };
  for (const [key, value] of Object.entries(change)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return merged;
}

/** Fields of `patch` whose value differs from the stored entity. */
export function changedFields(current: EntityView, patch: EntityInput): EntityField[] {
  return FIELDS.filter((f) => {
    const next = patch[f];
    if (next === undefined) return false;
    return canonicalJson(next) !== canonicalJson(current[f] ?? null);
  });
}

/** Applies the changed fields of a validated patch; returns the entity and what changed. */
export async function updateEntity(
  db: Queryable,
  current: EntityView,
  patch: EntityInput,
  prefix = '/body',
): Promise<{ entity: EntityView; changed: EntityField[] }> {
  const changed = changedFields(current, patch);
  if (changed.length === 0) return { entity: current, changed };
  if (changed.includes('agentId')) await checkAgent(db, patch.agentId, prefix);
  const params: unknown[] = [current.id];
  const sets = changed.map((f) => {
    params.push(f === 'custom' ? JSON.stringify(patch[f]) : patch[f]);
    return `${ENTITY_COLUMNS[f]} = $${params.length}`;
  });
  try {
    const rows = await db.query(
      `UPDATE entities e SET ${sets.join(', ')}, updated_at = now() WHERE id = $1 RETURNING ${ENTITY_SELECT}`,
      params,
    );
    return { entity: entityView(rows[0] as Row), changed };
  } catch (err) {
    throw conflictOf(err, { ...current, ...patch }, prefix);
  }
}

/** Loads one entity. */
export async function findEntity(db: Queryable, id: string): Promise<EntityView | undefined> {
  const rows = await db.query(`SELECT ${ENTITY_SELECT} FROM entities e WHERE e.id = $1`, [id]);
  return rows[0] ? entityView(rows[0]) : undefined;
}

export type UpsertResult = 'created' | 'updated' | 'unchanged';

/**
 * Creates or updates the entity with this external code (the ERP customer master). Runs in a transaction that
 * locks the row; two concurrent calls for a new code serialize on the unique index (the loser retries once
 * and finds the row).
 */
export async function upsertByExternalCode(
  db: { transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> },
  input: EntityInput & { externalCode: string },
  actor: string,
): Promise<{ result: UpsertResult; entity: EntityView; changed: string[] }> {
  const attempt = () =>
    db.transaction(async (tx) => {
      const rows = await tx.query(
        `SELECT ${ENTITY_SELECT} FROM entities e WHERE e.external_code = $1 FOR UPDATE`,
        [input.externalCode],
      );
      if (!rows[0]) {
        const entity = await insertEntity(tx, { kind: 'CL', ...input }, actor);
        return { result: 'created' as const, entity, changed: [] };
      }
      const { entity, changed } = await updateEntity(tx, entityView(rows[0]), input);
      return { result: changed.length > 0 ? ('updated' as const) : ('unchanged' as const), entity, changed };
    });
  try {
    return await attempt();
  } catch (err) {
    const raced =
      err instanceof ConflictError &&
      (err.context.errors as InputError[] | undefined)?.[0]?.pointer.endsWith('/externalCode') === true;
    if (raced) return attempt();
    throw err;
  }
}
