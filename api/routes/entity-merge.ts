/** Merging two entities (crm/merge.ts): HTTP, access and mapping only. */
import { Router } from 'express';
import { checkMergeInput, mergeEntities, mergeSchema } from '../../crm/merge';
import { permit } from '../../crm/permissions';
import { callerOf } from '../auth';
import type { ApiContext } from '../context';
import { problemResponses, type OperationSpec } from '../operation';
import { contactSchema } from './contacts';
import { entitySchema } from './entities';

const count = { type: 'integer', minimum: 0 };

const mergeResultSchema = {
  type: 'object',
  properties: {
    entity: entitySchema,
    mergedFrom: { type: 'string', description: 'Id of the entity merged in (now deleted)' },
    filled: {
      type: 'array',
      items: { type: 'string' },
      description:
        "Fields of this entity that were empty and took the merged entity's value (`custom.<name>` for a custom field); every other field kept its value",
    },
    moved: {
      type: 'object',
      properties: {
        contacts: count,
        cases: count,
        activities: count,
        campaignTargets: count,
        inboundMessages: count,
      },
      required: ['contacts', 'cases', 'activities', 'campaignTargets', 'inboundMessages'],
    },
    droppedContacts: {
      type: 'array',
      description:
        'Contacts of the merged entity whose address this entity already had a contact for: removed (the audit row keeps them)',
      items: {
        ...contactSchema,
        properties: { ...contactSchema.properties, keptContactId: { type: 'string' } },
      },
    },
    auditId: { type: 'string', description: 'The audit row of the merge' },
  },
  required: ['entity', 'mergedFrom', 'filled', 'moved', 'droppedContacts', 'auditId'],
};

export const entityMergeOperations: OperationSpec[] = [
  {
    method: 'post',
    path: '/api/entities/:id/merge',
    operationId: 'mergeEntity',
    tag: 'CRM: Entities',
    summary: 'Merges another entity (`from`) into this one, for whoever may edit both (docs/permissions.md)',
    description:
      "In one transaction: this entity keeps its fields and takes the other's where its own are empty (`filled` says which); the other's contacts (a contact with an address this entity already has is dropped, `droppedContacts`), cases, activities, campaign targets and received emails move here; an audit row keeps the other entity as it was; the other entity is deleted. 409 merge-same-entity for an entity with itself, merge-conflict when both are targets of one campaign.",
    params: { id: 'Id of the entity that stays' },
    body: mergeSchema,
    responses: {
      '200': { description: 'The merged entity and what moved', schema: mergeResultSchema },
      ...problemResponses(400, 401, 403, 404, 409),
    },
    problems: ['merge-same-entity', 'merge-conflict'],
  },
];

export function entityMergeRoutes(ctx: ApiContext): Router {
  const router = Router();
  router.post('/entities/:id/merge', async (req, res) => {
    const caller = callerOf(req);
    permit(caller, 'entity', 'edit');
    const { from } = checkMergeInput(req.body ?? {});
    const result = await ctx.db.transaction((tx) => mergeEntities(tx, caller, req.params.id, from));
    res.json(result);
  });
  return router;
}
