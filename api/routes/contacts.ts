import { Router } from 'express';
import {
  checkContactInput,
  contactInputSchema,
  deleteContact,
  findContact,
  searchContacts,
  updateContact,
} from '../../crm/contacts';
import { guardContact, permit } from '../../crm/permissions';
import { callerOf } from '../auth';
import type { ApiContext } from '../context';
import { dateTime, problemResponses, type OperationSpec } from '../operation';
import { ProblemError } from '../problem';
import { pageLimit, queryString } from './crm-common';

const nullableString = { type: ['string', 'null'] };

/** A contact as `contactView` shows it. */
export const contactSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    entityId: { type: 'string' },
    name: { type: 'string' },
    email: nullableString,
    phone: nullableString,
    roles: { type: 'array', items: { type: 'string' } },
    isPrimary: { type: 'boolean', description: 'At most one primary contact per entity' },
    locale: nullableString,
    jobTitle: nullableString,
    source: nullableString,
    custom: { type: 'object', description: 'Company-defined fields (definitions/contact.schema.json)' },
    createdAt: dateTime,
    updatedAt: dateTime,
  },
  required: ['id', 'entityId', 'name', 'roles', 'isPrimary', 'custom', 'createdAt', 'updatedAt'],
};

/**
 * Query of the quick search. The handler reads these with the crm-common helpers (unknown parameters are
 * ignored); this schema describes them.
 */
export const contactSearchQuerySchema = {
  type: 'object',
  properties: {
    q: {
      type: 'string',
      minLength: 2,
      maxLength: 200,
      description: 'Part of the name or email (case-insensitive), or at least 3 digits of the phone',
    },
    limit: { type: 'string', pattern: '^[0-9]{1,6}$', description: 'Results (default 20, at most 100)' },
  },
  required: ['q'],
};

export const contactOperations: OperationSpec[] = [
  {
    method: 'get',
    path: '/api/contacts',
    operationId: 'searchContacts',
    tag: 'CRM: Contacts',
    summary: 'Quick search of contacts across name, email and phone, with their entity name',
    description:
      'Names starting with the text come first, then primary contacts. One page only (no cursor): refine the text to narrow the results.',
    query: contactSearchQuerySchema,
    responses: {
      '200': {
        description: 'Matching contacts',
        schema: {
          type: 'object',
          properties: {
            items: {
              type: 'array',
              items: {
                ...contactSchema,
                properties: { ...contactSchema.properties, entityName: { type: 'string' } },
              },
            },
          },
        },
      },
      ...problemResponses(400, 401),
    },
  },
  {
    method: 'get',
    path: '/api/contacts/:id',
    operationId: 'getContact',
    tag: 'CRM: Contacts',
    summary: 'One contact',
    params: { id: 'Contact id' },
    responses: {
      '200': { description: 'The contact', schema: contactSchema },
      ...problemResponses(401, 404),
    },
  },
  {
    method: 'patch',
    path: '/api/contacts/:id',
    operationId: 'updateContact',
    tag: 'CRM: Contacts',
    summary:
      "Changes a contact's fields (agents and supervisors on their own and their teams' entities, administrators on all)",
    description:
      "Only the fields sent change. Making a contact primary takes the flag from the entity's previous primary contact. `custom` is also validated against the company-defined contact schema.",
    params: { id: 'Contact id' },
    body: contactInputSchema,
    responses: {
      '200': { description: 'The contact', schema: contactSchema },
      ...problemResponses(400, 401, 403, 404, 409),
    },
    problems: ['duplicate-contact'],
  },
  {
    method: 'delete',
    path: '/api/contacts/:id',
    operationId: 'deleteContact',
    tag: 'CRM: Contacts',
    summary:
      "Deletes a contact (agents and supervisors on their own and their teams' entities, administrators on all)",
    params: { id: 'Contact id' },
    responses: {
      '204': { description: 'Deleted' },
      ...problemResponses(401, 403, 404),
    },
  },
];

export function contactRoutes(ctx: ApiContext): Router {
  const router = Router();

  /** Quick search across name, email and phone (`?q=`, at least 2 characters). */
  router.get('/contacts', async (req, res) => {
    permit(callerOf(req), 'contact', 'search');
    const q = queryString(req, 'q', 200);
    if (!q || q.trim().length < 2)
      throw ProblemError.badRequest('Search with at least 2 characters', [
        { pointer: '/query/q', message: 'needs at least 2 characters' },
      ]);
    const limit = pageLimit(req, 20, Math.min(ctx.maxPageSize, 100));
    res.json({ items: await searchContacts(ctx.db, q, limit) });
  });

  router.get('/contacts/:id', async (req, res) => {
    await guardContact(ctx.db, callerOf(req), req.params.id, 'read');
    const contact = await findContact(ctx.db, req.params.id);
    if (!contact) throw ProblemError.notFound(`Contact ${req.params.id}`);
    res.json(contact);
  });

  router.patch('/contacts/:id', async (req, res) => {
    const caller = callerOf(req);
    permit(caller, 'contact', 'edit');
    const patch = checkContactInput(req.body ?? {}, '/body', false);
    const contact = await ctx.db.transaction(async (tx) => {
      const current = await findContact(tx, req.params.id, {
        lock: true,
        lockEntity: patch.isPrimary === true,
      });
      await guardContact(tx, caller, req.params.id, 'edit');
      if (!current) throw ProblemError.notFound(`Contact ${req.params.id}`);
      return updateContact(tx, current, patch);
    });
    res.json(contact);
  });

  router.delete('/contacts/:id', async (req, res) => {
    const caller = callerOf(req);
    await ctx.db.transaction(async (tx) => {
      await guardContact(tx, caller, req.params.id, 'delete', { lock: true });
      await deleteContact(tx, req.params.id);
    });
    res.status(204).end();
  });

  return router;
}
