import express, { Router, type Request } from 'express';
import {
  checkContactInput,
  contactCreateSchema,
  contactErrors,
  insertContact,
  type ContactView,
} from '../../crm/contacts';
import {
  checkEntityInput,
  ENTITY_COLUMNS,
  entityCreateSchema,
  entityInputSchema,
  findEntity,
  insertEntity,
  updateEntity,
  mergeCustom,
  possibleDuplicates,
  type EntityView,
} from '../../crm/entities';
import {
  deleteEntity,
  entityCaseCounts,
  entityCases,
  entityContacts,
  entityTimeline,
  findCardContact,
  listEntities,
  type EntityFilters,
} from '../../crm/entity-queries';
import { checkEntityAgent, guardEntity, permit, permitRelation, roleMay } from '../../crm/permissions';
import { loadSegmentPredicate } from '../../crm/segment-store';
import { parseVcards } from '../../crm/vcard';
import { callerOf } from '../auth';
import type { ApiContext } from '../context';
import { caseViewSchema, dateTime, problemResponses, problemSchema, type OperationSpec } from '../operation';
import { ProblemError, type FieldError } from '../problem';
import { caseView } from '../views';
import { contactSchema } from './contacts';
import { activitySchema } from './entity-activities';
import { decodeCursor, encodeCursor, flag, pageLimit, queryString, textBody } from './crm-common';

const VCARD_TYPES = ['text/vcard', 'text/x-vcard', 'text/directory'];

const nullableString = { type: ['string', 'null'] };

/** An entity as `entityView` shows it. */
export const entitySchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    entityType: { enum: ['person', 'company'] },
    kind: { enum: ['EN', 'CL', 'PR'] },
    code: { type: 'string', description: 'Unique per kind' },
    name: { type: 'string' },
    taxId: nullableString,
    email: nullableString,
    phone: nullableString,
    address: nullableString,
    city: nullableString,
    postalCode: nullableString,
    country: { ...nullableString, description: 'ISO 3166-1 alpha-2' },
    source: nullableString,
    sector: nullableString,
    zone: nullableString,
    agentId: { ...nullableString, description: 'The user who looks after the entity' },
    externalCode: { ...nullableString, description: 'Code of the customer master in the ERP; unique' },
    custom: { type: 'object', description: 'Company-defined fields (definitions/entity.schema.json)' },
    createdAt: dateTime,
    updatedAt: dateTime,
  },
  required: ['id', 'entityType', 'kind', 'code', 'name', 'custom', 'createdAt', 'updatedAt'],
};

const createdEntitySchema = {
  ...entitySchema,
  properties: {
    ...entitySchema.properties,
    possibleDuplicates: {
      type: 'array',
      description:
        'Other entities with the same name (case and accents ignored) or the same tax id, at most 10: a warning, the entity is created anyway',
      items: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          code: { type: 'string' },
          name: { type: 'string' },
          matchedOn: { type: 'array', items: { enum: ['name', 'taxId'] } },
        },
        required: ['id', 'code', 'name', 'matchedOn'],
      },
    },
  },
  required: [...entitySchema.required, 'possibleDuplicates'],
};

const timelineItemSchema = {
  type: 'object',
  description: "An event of one of the entity's cases, or one of the entity's activities (`activity` set)",
  properties: {
    case: {
      type: ['object', 'null'],
      properties: { id: { type: 'string' }, type: { type: 'string' }, title: { type: 'string' } },
      description: 'The case of the event; null for an activity',
    },
    seq: {
      type: ['integer', 'null'],
      description: 'Position of the event in its case; null for an activity',
    },
    at: { ...dateTime, description: 'When it happened (or, for a scheduled activity, is planned)' },
    kind: {
      type: 'string',
      description: 'Event kind: case.started, task.completed, ...; activity.done or activity.scheduled',
    },
    actor: {
      type: 'string',
      description: 'Who did it (an activity: who logged it or marked it done, else who scheduled it)',
    },
    taskId: nullableString,
    detail: { type: ['object', 'null'], description: "The event's detail; null for an activity" },
    activity: { ...activitySchema, description: 'The activity (activity items only)' },
  },
  required: ['case', 'seq', 'at', 'kind', 'actor', 'taskId', 'detail'],
};

const limitQuery = (fallback: number) => ({
  type: 'string',
  pattern: '^[0-9]{1,6}$',
  description: `Page size (default ${fallback}, at most the server's maximum page size)`,
});
const exact = (what: string) => ({ type: 'string', maxLength: 200, description: `Exact ${what}` });

/**
 * Query of the entity list. The handler reads these with the crm-common helpers (unknown parameters are
 * ignored); this schema describes them.
 */
export const entityListQuerySchema = {
  type: 'object',
  properties: {
    q: {
      type: 'string',
      maxLength: 200,
      description: 'Part of the name (case-insensitive), or the exact code or external code',
    },
    kind: exact('kind: EN, CL or PR'),
    sector: exact('sector'),
    zone: exact('zone'),
    source: exact('source'),
    agentId: exact('agent (user id)'),
    externalCode: exact('external code'),
    code: exact('code'),
    segmentId: {
      type: 'string',
      maxLength: 200,
      description: 'Only entities of this saved segment (id or name)',
    },
    limit: limitQuery(50),
    cursor: { type: 'string', maxLength: 1000, description: 'nextCursor of the previous page' },
  },
};

/** Query of the lists of an entity's cases and timeline: one page, no cursor. */
const casesQuerySchema = { type: 'object', properties: { limit: limitQuery(50) } };
const timelineQuerySchema = { type: 'object', properties: { limit: limitQuery(100) } };

/** Query of the vCard import. */
export const vcardQuerySchema = {
  type: 'object',
  properties: {
    acceptValid: {
      type: 'string',
      enum: ['true', 'false', '1', '0'],
      description: 'Import the valid cards even when others have errors (default false: nothing is imported)',
    },
  },
};

const fieldErrorSchema = {
  type: 'object',
  properties: {
    pointer: { type: 'string', description: '/body/cards/<card>/<field>' },
    message: { type: 'string' },
    card: { type: 'integer', description: '1-based position of the card in the file' },
    line: { type: 'integer', description: 'Line of the file where the card begins' },
  },
};

const vcardResultSchema = {
  type: 'object',
  properties: {
    result: { enum: ['imported', 'unchanged'] },
    created: { type: 'integer' },
    unchanged: { type: 'integer' },
    rejected: { type: 'integer', description: 'Cards with errors (with ?acceptValid=true)' },
    items: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          card: { type: 'integer' },
          result: { enum: ['created', 'unchanged'] },
          contact: contactSchema,
        },
      },
    },
    errors: { type: 'array', items: fieldErrorSchema },
  },
};

const tag = 'CRM: Entities';
const writers =
  "(agents and supervisors on their own and their teams' entities, administrators on all: docs/permissions.md)";

export const entityOperations: OperationSpec[] = [
  {
    method: 'post',
    path: '/api/entities',
    operationId: 'createEntity',
    tag,
    summary: `Creates an entity (person or company) ${writers}`,
    description:
      'Kind defaults to EN, type to company, code to the external code or a generated one. `custom` is also validated against the company-defined entity schema; `agentId` must be a user. Answers with a Location header.',
    body: entityCreateSchema,
    responses: {
      '201': { description: 'The entity, with possible duplicates', schema: createdEntitySchema },
      ...problemResponses(400, 401, 403, 409),
    },
    problems: ['duplicate-code'],
  },
  {
    method: 'get',
    path: '/api/entities',
    operationId: 'listEntities',
    tag,
    summary: 'Entities by name, filtered by standard fields, a text query or a saved segment',
    description:
      'Ordered by name; keyset-paginated: pass `nextCursor` as `cursor` for the next page (null on the last).',
    query: entityListQuerySchema,
    responses: {
      '200': {
        description: 'A page of entities',
        schema: {
          type: 'object',
          properties: {
            items: { type: 'array', items: entitySchema },
            nextCursor: nullableString,
          },
        },
      },
      ...problemResponses(400, 401),
    },
  },
  {
    method: 'get',
    path: '/api/entities/:id',
    operationId: 'getEntity',
    tag,
    summary: 'One entity with its contacts and the counts of its cases',
    description: 'Lists up to 200 contacts, the primary first; GET /api/entities/{id}/contacts lists more.',
    params: { id: 'Entity id' },
    responses: {
      '200': {
        description: 'The entity',
        schema: {
          ...entitySchema,
          properties: {
            ...entitySchema.properties,
            contacts: { type: 'array', items: contactSchema },
            cases: {
              type: 'object',
              properties: {
                open: { type: 'integer', description: 'Cases in an open status' },
                total: { type: 'integer' },
              },
            },
          },
        },
      },
      ...problemResponses(401, 404),
    },
  },
  {
    method: 'patch',
    path: '/api/entities/:id',
    operationId: 'updateEntity',
    tag,
    summary: `Changes an entity's fields ${writers}`,
    description:
      "Changing `agentId` reassigns the entity: only its team's supervisor (to themselves or a member of a team they belong to or supervise) or an administrator may, and the new agent must be an active agent or supervisor. Only the fields sent change; `changed` lists those whose value differed (empty when nothing changed). `custom` is merged into the stored custom fields (fields not sent are kept, a null removes one); the values sent are validated against the company-defined entity schema.",
    params: { id: 'Entity id' },
    body: entityInputSchema,
    responses: {
      '200': {
        description: 'The entity, with the changed fields',
        schema: {
          ...entitySchema,
          properties: {
            ...entitySchema.properties,
            changed: { type: 'array', items: { enum: Object.keys(ENTITY_COLUMNS) } },
          },
        },
      },
      ...problemResponses(400, 401, 403, 404, 409),
    },
    problems: ['duplicate-code'],
  },
  {
    method: 'delete',
    path: '/api/entities/:id',
    operationId: 'deleteEntity',
    tag,
    summary: "Deletes an entity and its contacts (its team's supervisor, or an administrator)",
    description:
      'An entity that cases, campaign targets or received emails name is their history and stays: 409 entity-in-use. See docs/permissions.md.',
    params: { id: 'Entity id' },
    responses: {
      '204': { description: 'Deleted' },
      ...problemResponses(401, 403, 404, 409),
    },
    problems: ['entity-in-use'],
  },
  {
    method: 'get',
    path: '/api/entities/:id/cases',
    operationId: 'listEntityCases',
    tag,
    summary: "The entity's cases the caller may see, newest first",
    description: 'One page only: the newest `limit` cases (no cursor).',
    params: { id: 'Entity id' },
    query: casesQuerySchema,
    responses: {
      '200': {
        description: 'Cases',
        schema: { type: 'object', properties: { items: { type: 'array', items: caseViewSchema } } },
      },
      ...problemResponses(400, 401, 404),
    },
  },
  {
    method: 'get',
    path: '/api/entities/:id/timeline',
    operationId: 'getEntityTimeline',
    tag,
    summary:
      "The entity's timeline: the events of its cases the caller may see and the entity's activities, newest first",
    description:
      'Case events and activities (done ones at when they happened, scheduled ones at when they are planned, so those ahead of now lead) merged by `at`. One page only: the newest `limit` items (no cursor).',
    params: { id: 'Entity id' },
    query: timelineQuerySchema,
    responses: {
      '200': {
        description: 'Events',
        schema: { type: 'object', properties: { items: { type: 'array', items: timelineItemSchema } } },
      },
      ...problemResponses(400, 401, 404),
    },
  },
  {
    method: 'get',
    path: '/api/entities/:id/contacts',
    operationId: 'listEntityContacts',
    tag,
    summary: "The entity's contacts, the primary first, then by name",
    description: 'Up to 1000 contacts (no cursor).',
    params: { id: 'Entity id' },
    responses: {
      '200': {
        description: 'Contacts',
        schema: { type: 'object', properties: { items: { type: 'array', items: contactSchema } } },
      },
      ...problemResponses(401, 404),
    },
  },
  {
    method: 'post',
    path: '/api/entities/:id/contacts',
    operationId: 'createEntityContact',
    tag,
    summary: `Adds a contact to the entity ${writers}`,
    description:
      "A primary contact takes the flag from the entity's previous primary. `custom` is also validated against the company-defined contact schema. Answers with a Location header.",
    params: { id: 'Entity id' },
    body: contactCreateSchema,
    responses: {
      '201': { description: 'The contact', schema: contactSchema },
      ...problemResponses(400, 401, 403, 404, 409),
    },
    problems: ['duplicate-contact'],
  },
  {
    method: 'post',
    path: '/api/entities/:id/contacts/vcard',
    operationId: 'importEntityContactsVcard',
    tag,
    summary: `Imports business cards (.vcf) as contacts of the entity ${writers}`,
    description:
      'The body is the file itself, as text/vcard (or text/x-vcard, text/directory), at most 5 MB, with one or more cards (vCard 2.1, 3.0 or 4.0). ' +
      'A card whose address (or, without one, name) is already a contact of the entity is left as it is ("unchanged"), so a re-import changes nothing. ' +
      'With any invalid card nothing is written and the 400 lists every error with its card and line, unless `acceptValid=true`. ' +
      'Answers 201 when at least one contact was created, 200 otherwise.',
    params: { id: 'Entity id' },
    query: vcardQuerySchema,
    responses: {
      '201': { description: 'Contacts were created', schema: vcardResultSchema },
      '200': {
        description: 'Nothing was created (every card unchanged or rejected)',
        schema: vcardResultSchema,
      },
      ...problemResponses(400, 401, 403, 404, 409, 413),
      '415': { description: 'The body is not a vCard media type', schema: problemSchema },
    },
    problems: ['unsupported-media-type', 'duplicate-contact'],
  },
];

/** Loads an entity or answers 404. */
export async function entityOr404(ctx: ApiContext, id: string): Promise<EntityView> {
  const entity = await findEntity(ctx.db, id);
  if (!entity) throw ProblemError.notFound(`Entity ${id}`);
  return entity;
}

/** The standard-field filters of the entity list, as the query sends them. */
function entityFilters(req: Request): EntityFilters {
  const filters: EntityFilters = {};
  for (const name of ['q', 'kind', 'sector', 'zone', 'source', 'agentId', 'externalCode', 'code'] as const) {
    const value = queryString(req, name);
    if (value !== undefined && (name !== 'q' || value !== '')) filters[name] = value;
  }
  return filters;
}

export function entityRoutes(ctx: ApiContext): Router {
  const router = Router();

  router.post('/entities', async (req, res) => {
    const caller = callerOf(req);
    permit(caller, 'entity', 'create');
    const input = checkEntityInput(req.body ?? {}, '/body', true);
    if (input.agentId) await checkEntityAgent(ctx.db, caller, input.agentId, '/body/agentId');
    const entity = await insertEntity(ctx.db, input, caller.userId);
    const duplicates = await possibleDuplicates(ctx.db, entity);
    res
      .status(201)
      .location(`/api/entities/${entity.id}`)
      .json({ ...entity, possibleDuplicates: duplicates });
  });

  /** Entities by name, filtered by standard fields, a text query or a saved segment; keyset-paginated. */
  router.get('/entities', async (req, res) => {
    const caller = callerOf(req);
    permit(caller, 'entity', 'list');
    const limit = pageLimit(req, 50, ctx.maxPageSize);
    const filters = entityFilters(req);
    const params: unknown[] = [];
    const where: string[] = [];
    const segmentId = queryString(req, 'segmentId');
    if (segmentId) where.push(await loadSegmentPredicate(ctx.db, segmentId, params, '/query/segmentId'));
    const cursor = decodeCursor(req, 2);
    const page = await listEntities(
      ctx.db,
      filters,
      { limit, ...(cursor ? { after: [String(cursor[0]), String(cursor[1])] as [string, string] } : {}) },
      { where, params },
    );
    const last = page.items[page.items.length - 1];
    res.json({
      items: page.items,
      nextCursor: page.more && last ? encodeCursor([last.name, last.id]) : null,
    });
  });

  router.get('/entities/:id', async (req, res) => {
    const caller = callerOf(req);
    await guardEntity(ctx.db, caller, req.params.id, 'read');
    const entity = await entityOr404(ctx, req.params.id);
    const contacts = roleMay(caller, 'contact', 'read') ? await entityContacts(ctx.db, entity.id, 200) : [];
    res.json({ ...entity, contacts, cases: await entityCaseCounts(ctx.db, entity.id) });
  });

  router.patch('/entities/:id', async (req, res) => {
    const caller = callerOf(req);
    permit(caller, 'entity', 'edit');
    const patch = checkEntityInput(req.body ?? {}, '/body', false);
    const result = await ctx.db.transaction(async (tx) => {
      const relation = await guardEntity(tx, caller, req.params.id, 'edit', { lock: true });
      const current = (await findEntity(tx, req.params.id)) as EntityView;
      if (patch.agentId !== undefined && patch.agentId !== current.agentId) {
        permitRelation(caller, 'entity', 'reassign', relation, `Entity ${current.id}`);
        if (patch.agentId !== null) await checkEntityAgent(tx, caller, patch.agentId, '/body/agentId');
      }
      return updateEntity(
        tx,
        current,
        patch.custom ? { ...patch, custom: mergeCustom(current.custom, patch.custom) } : patch,
      );
    });
    res.json({ ...result.entity, changed: result.changed });
  });

  router.delete('/entities/:id', async (req, res) => {
    const caller = callerOf(req);
    await ctx.db.transaction(async (tx) => {
      await guardEntity(tx, caller, req.params.id, 'delete', { lock: true });
      await deleteEntity(tx, req.params.id);
    });
    res.status(204).end();
  });

  /** The entity's cases the caller may see, newest first. */
  router.get('/entities/:id/cases', async (req, res) => {
    const caller = callerOf(req);
    await guardEntity(ctx.db, caller, req.params.id, 'read');
    const limit = pageLimit(req, 50, ctx.maxPageSize);
    const rows = await entityCases(ctx.db, caller, req.params.id, limit);
    res.json({ items: rows.map(caseView) });
  });

  /** The timeline of the entity: events of its cases the caller may see and its activities, newest first. */
  router.get('/entities/:id/timeline', async (req, res) => {
    const caller = callerOf(req);
    await guardEntity(ctx.db, caller, req.params.id, 'read');
    const limit = pageLimit(req, 100, ctx.maxPageSize);
    res.json({ items: await entityTimeline(ctx.db, caller, req.params.id, limit) });
  });

  router.get('/entities/:id/contacts', async (req, res) => {
    const caller = callerOf(req);
    permit(caller, 'contact', 'read');
    await guardEntity(ctx.db, caller, req.params.id, 'read');
    res.json({ items: await entityContacts(ctx.db, req.params.id, 1000) });
  });

  /** Adding a contact is an edit of its entity (crm/permissions.ts). */
  router.post('/entities/:id/contacts', async (req, res) => {
    const caller = callerOf(req);
    permit(caller, 'entity', 'edit');
    await guardEntity(ctx.db, caller, req.params.id, 'edit');
    const input = checkContactInput(req.body ?? {}, '/body', true);
    const contact = await ctx.db.transaction((tx) => insertContact(tx, req.params.id, input));
    res.status(201).location(`/api/contacts/${contact.id}`).json(contact);
  });

  /**
   * Imports business cards (.vcf, one or more cards) as contacts of the entity. A card whose address is already
   * a contact of the entity is left as it is ("unchanged"). With any invalid card nothing is written, unless
   * `?acceptValid=true`.
   */
  router.post(
    '/entities/:id/contacts/vcard',
    express.text({ type: VCARD_TYPES, limit: '5mb' }),
    async (req, res) => {
      const caller = callerOf(req);
      permit(caller, 'entity', 'edit');
      const text = textBody(req, VCARD_TYPES);
      const acceptValid = flag(req, 'acceptValid');
      await guardEntity(ctx.db, caller, req.params.id, 'edit');
      const entityId = req.params.id;
      const cards = parseVcards(text);
      if (cards.length === 0)
        throw ProblemError.badRequest('The file holds no vCard', [
          { pointer: '/body', message: 'no BEGIN:VCARD ... END:VCARD block' },
        ]);
      const errors: (FieldError & { card: number; line: number })[] = [];
      const valid: { card: number; contact: NonNullable<(typeof cards)[number]['contact']> }[] = [];
      const seen = new Set<string>();
      for (const c of cards) {
        const at = `/body/cards/${c.card}`;
        if (c.error || !c.contact) {
          errors.push({ pointer: at, message: c.error ?? 'unreadable', card: c.card, line: c.line });
          continue;
        }
        const problems = contactErrors(c.contact, at, true);
        const key = c.contact.email?.toLowerCase();
        if (key && seen.has(key))
          problems.push({
            pointer: `${at}/email`,
            message: `"${c.contact.email}" appears in an earlier card`,
          });
        if (key) seen.add(key);
        if (problems.length > 0) errors.push(...problems.map((p) => ({ ...p, card: c.card, line: c.line })));
        else valid.push({ card: c.card, contact: c.contact });
      }
      if (errors.length > 0 && !acceptValid) {
        throw ProblemError.badRequest(
          `${errors.length} error(s) in ${cards.length} card(s); nothing was imported. Fix them, or send ?acceptValid=true to import the ${valid.length} valid card(s).`,
          errors,
        );
      }
      const results = await ctx.db.transaction(async (tx) => {
        const out: { card: number; result: 'created' | 'unchanged'; contact: ContactView }[] = [];
        for (const { card, contact } of valid) {
          const existing = await findCardContact(tx, entityId, contact);
          if (existing) out.push({ card, result: 'unchanged', contact: existing });
          else out.push({ card, result: 'created', contact: await insertContact(tx, entityId, contact) });
        }
        return out;
      });
      const created = results.filter((r) => r.result === 'created').length;
      res.status(created > 0 ? 201 : 200).json({
        result: created > 0 ? 'imported' : 'unchanged',
        created,
        unchanged: results.length - created,
        rejected: errors.length === 0 ? 0 : new Set(errors.map((e) => e.card)).size,
        items: results,
        errors,
      });
    },
  );

  return router;
}
