/**
 * Merging two entities that are the same customer (issue 15): the survivor keeps its fields and takes the
 * loser's where its own are empty; every row that names the loser moves to the survivor; an audit row keeps
 * the loser as it was; the loser is deleted. One transaction (the caller's `tx`), both rows locked. The
 * running cases that moved are queued in the same transaction for their workflows to be told
 * (crm/entity-relinks.ts), which the caller does after the commit.
 */
import type { Queryable } from '../db';
import type { Principal } from '../identity/visibility';
import { canonicalJson } from '../lib/canonical-json';
import { ConflictError, InvalidInputError } from '../lib/domain-errors';
import { fieldErrors, validatorFor } from '../lib/json-validation';
import { CONTACT_SELECT, contactView, type ContactView } from './contacts';
import { findEntity, updateEntity, type EntityInput, type EntityView } from './entities';
import { queueRelinks } from './entity-relinks';
import { guardEntity } from './permissions';

/**
 * The tables whose rows name an entity (foreign keys to `entities`), each moved by `mergeEntities`.
 * test/crm-merge.int.test.ts compares this list with the database's foreign keys, so a new table that names
 * an entity cannot be forgotten here.
 */
export const ENTITY_REFERENCES = [
  'campaign_targets.entity_id',
  'cases.entity_id',
  'contacts.entity_id',
  'entity_activities.entity_id',
  'inbound_messages.entity_id',
] as const;

/** Fields the survivor takes from the loser when its own is empty (null, '' or, for `custom`, a missing key). */
const FILLABLE = [
  'entityType',
  'taxId',
  'email',
  'phone',
  'address',
  'city',
  'postalCode',
  'country',
  'source',
  'sector',
  'zone',
  'agentId',
  'externalCode',
] as const satisfies readonly (keyof EntityInput)[];

export interface MergeResult {
  entity: EntityView;
  mergedFrom: string;
  /** Fields of the survivor that were empty and now hold the loser's value (`custom.<key>` for custom fields). */
  filled: string[];
  moved: {
    contacts: number;
    cases: number;
    activities: number;
    campaignTargets: number;
    inboundMessages: number;
  };
  /** Contacts of the loser with an address the survivor already had a contact for: removed, kept in the audit. */
  droppedContacts: (ContactView & { keptContactId: string })[];
  auditId: string;
  /** Cases that moved and had not ended: their workflows are told of the kept entity (entity_relinks). */
  runningCases: string[];
}

const empty = (v: unknown) => v === null || v === undefined || v === '';

/**
 * Merges entity `loserId` into `survivorId` for `who`, who must be allowed to edit both (crm/permissions.ts).
 * 409 `merge-same-entity` for an entity with itself; 409 `merge-conflict` when both are targets of the same
 * campaign (each target has its own case: a person decides which to keep).
 */
export async function mergeEntities(
  tx: Queryable,
  who: Principal,
  survivorId: string,
  loserId: string,
): Promise<MergeResult> {
  if (survivorId === loserId)
    throw new ConflictError(
      'merge-same-entity',
      'An entity cannot be merged with itself',
      `Entity ${survivorId} is the one to merge into`,
      {
        errors: [{ pointer: '/body/from', message: 'is the entity being merged into' }],
      },
    );
  // Lock both in id order, so two merges of the same pair in opposite directions cannot deadlock.
  for (const id of [survivorId, loserId].sort()) await guardEntity(tx, who, id, 'edit', { lock: true });
  const survivor = (await findEntity(tx, survivorId)) as EntityView;
  const loser = (await findEntity(tx, loserId)) as EntityView;

  const shared = await tx.query<{ campaign_id: string }>(
    `SELECT l.campaign_id FROM campaign_targets l JOIN campaign_targets s
       ON s.campaign_id = l.campaign_id AND s.entity_id = $1
     WHERE l.entity_id = $2 ORDER BY 1`,
    [survivorId, loserId],
  );
  if (shared.length > 0)
    throw new ConflictError(
      'merge-conflict',
      'The entities cannot be merged as they are',
      `Both entities are targets of campaign(s) ${shared.map((r) => r.campaign_id).join(', ')}; remove one target first`,
      { campaigns: shared.map((r) => r.campaign_id) },
    );

  const dropped = await tx.query(
    `SELECT ${CONTACT_SELECT}, s.id AS kept_id FROM contacts k
     JOIN contacts s ON s.entity_id = $1 AND lower(s.email) = lower(k.email)
     WHERE k.entity_id = $2 ORDER BY k.id`,
    [survivorId, loserId],
  );
  const droppedContacts = dropped.map((r) => ({ ...contactView(r), keptContactId: r.kept_id as string }));
  if (dropped.length > 0) {
    // Received emails that named a dropped contact name the survivor's contact with the same address.
    await tx.query(
      `UPDATE inbound_messages m SET contact_id = d.kept FROM unnest($1::text[], $2::text[]) AS d(dropped, kept)
       WHERE m.contact_id = d.dropped`,
      [droppedContacts.map((c) => c.id), droppedContacts.map((c) => c.keptContactId)],
    );
    await tx.query('DELETE FROM contacts WHERE id = ANY($1::text[])', [droppedContacts.map((c) => c.id)]);
  }
  const contacts = await tx.query(
    `UPDATE contacts SET entity_id = $1, updated_at = now(),
       is_primary = is_primary AND NOT EXISTS (SELECT 1 FROM contacts p WHERE p.entity_id = $1 AND p.is_primary)
     WHERE entity_id = $2 RETURNING id`,
    [survivorId, loserId],
  );
  const cases = await tx.query<{ id: string; ended_at: string | null }>(
    'UPDATE cases SET entity_id = $1, entity_name = $3 WHERE entity_id = $2 RETURNING id, ended_at',
    [survivorId, loserId, survivor.name],
  );
  if (cases.length > 0)
    await tx.query('UPDATE tasks SET entity_name = $2 WHERE case_id = ANY($1::text[])', [
      cases.map((c) => c.id),
      survivor.name,
    ]);
  const move = (table: string) =>
    tx.query(`UPDATE ${table} SET entity_id = $1 WHERE entity_id = $2 RETURNING 1`, [survivorId, loserId]);
  const activities = await move('entity_activities');
  const campaignTargets = await move('campaign_targets');
  const inboundMessages = await move('inbound_messages');

  const patch: EntityInput = {};
  const filled: string[] = [];
  for (const field of FILLABLE) {
    if (empty(survivor[field]) && !empty(loser[field])) {
      (patch as Record<string, unknown>)[field] = loser[field];
      filled.push(field);
    }
  }
  const custom = { ...survivor.custom };
  for (const [key, value] of Object.entries(loser.custom)) {
    if (empty(custom[key]) && !empty(value)) {
      custom[key] = value;
      filled.push(`custom.${key}`);
    }
  }
  if (canonicalJson(custom) !== canonicalJson(survivor.custom)) patch.custom = custom;

  // The loser goes first: its external code (unique) may be the one the survivor takes.
  await tx.query('DELETE FROM entities WHERE id = $1', [loserId]);
  const { entity } = await updateEntity(tx, survivor, patch);
  const moved = {
    contacts: contacts.length,
    cases: cases.length,
    activities: activities.length,
    campaignTargets: campaignTargets.length,
    inboundMessages: inboundMessages.length,
  };
  const [audit] = await tx.query<{ id: string }>(
    `INSERT INTO crm_audit (actor, action, record_type, record_id, detail)
     VALUES ($1, 'entity.merged', 'entity', $2, $3) RETURNING id::text`,
    [who.userId, survivorId, JSON.stringify({ from: loser, filled, moved, droppedContacts })],
  );
  const auditId = (audit as { id: string }).id;
  const runningCases = cases.filter((c) => c.ended_at === null).map((c) => c.id);
  await queueRelinks(tx, runningCases, loserId, survivorId, who.userId, auditId);
  return { entity, mergedFrom: loserId, filled, moved, droppedContacts, auditId, runningCases };
}

/** Request schema of a merge. */
export const mergeSchema = {
  type: 'object',
  properties: {
    from: {
      type: 'string',
      minLength: 1,
      maxLength: 100,
      description: 'Id of the entity merged into this one (deleted after the merge)',
    },
  },
  required: ['from'],
  additionalProperties: false,
} as const;

/** Reads a merge request: 400 unless it is `{ "from": entityId }`. */
export function checkMergeInput(body: unknown): { from: string } {
  const validate = validatorFor(mergeSchema);
  if (!validate(body))
    throw new InvalidInputError('The merge request is not valid', fieldErrors(validate.errors, '/body'));
  return body as { from: string };
}
