/** Merging two entities (crm/merge.ts): HTTP, access and mapping only. */
import { Router } from 'express';
import { deliverRelinks, type RelinkEngine } from '../../crm/entity-relinks';
import { checkMergeInput, mergeEntities, mergeSchema } from '../../crm/merge';
import { permit } from '../../crm/permissions';
import { logger } from '../../lib/logger';
import { callerOf } from '../auth';
import type { ApiContext } from '../context';
import type { CaseGateway } from '../gateway';
import { problemResponses, type OperationSpec } from '../operation';
import { ProblemError } from '../problem';
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
    runningCases: {
      type: 'array',
      items: { type: 'string' },
      description:
        'Cases that moved and had not ended: their workflows are told they now belong to this entity',
    },
    workflows: {
      type: 'object',
      description:
        'What telling those workflows gave: relinked (the workflow carries this entity, its timeline says entity.merged), ended (it had finished), pending (the Update failed; retried in the background, never lost)',
      properties: { relinked: count, ended: count, pending: count },
      required: ['relinked', 'ended', 'pending'],
    },
  },
  required: [
    'entity',
    'mergedFrom',
    'filled',
    'moved',
    'droppedContacts',
    'auditId',
    'runningCases',
    'workflows',
  ],
};

export const entityMergeOperations: OperationSpec[] = [
  {
    method: 'post',
    path: '/api/entities/:id/merge',
    operationId: 'mergeEntity',
    tag: 'CRM: Entities',
    summary: 'Merges another entity (`from`) into this one, for whoever may edit both (docs/permissions.md)',
    description:
      "In one transaction: this entity keeps its fields and takes the other's where its own are empty (`filled` says which); the other's contacts (a contact with an address this entity already has is dropped, `droppedContacts`), cases, activities, campaign targets and received emails move here; an audit row keeps the other entity as it was; the other entity is deleted. After the commit, each running case that moved is told through its workflow (an Update) that it belongs to this entity, so the workflow's own state (conditions, service calls, sub-cases) uses it; one that cannot be told now stays queued and is retried (`workflows`). 409 merge-same-entity for an entity with itself, merge-conflict when both are targets of one campaign.",
    params: { id: 'Id of the entity that stays' },
    body: mergeSchema,
    responses: {
      '200': { description: 'The merged entity and what moved', schema: mergeResultSchema },
      ...problemResponses(400, 401, 403, 404, 409),
    },
    problems: ['merge-same-entity', 'merge-conflict'],
  },
];

/** Relinks through the case gateway: a finished workflow (409 case-ended) has nothing left to tell. */
export function relinkEngine(gateway: CaseGateway): RelinkEngine {
  return {
    async relink(caseId, event, updateId) {
      try {
        await gateway.act(caseId, event, updateId);
        return 'relinked';
      } catch (err) {
        if (err instanceof ProblemError && err.slug === 'case-ended') return 'ended';
        throw err;
      }
    },
  };
}

export function entityMergeRoutes(ctx: ApiContext): Router {
  const router = Router();
  const engine = relinkEngine(ctx.gateway);
  router.post('/entities/:id/merge', async (req, res) => {
    const caller = callerOf(req);
    permit(caller, 'entity', 'edit');
    const { from } = checkMergeInput(req.body ?? {});
    const result = await ctx.db.transaction((tx) => mergeEntities(tx, caller, req.params.id, from));
    // After the commit: the relinks are queued, so a failure here leaves them pending, not lost.
    const workflows = await deliverRelinks(ctx.db, engine, result.runningCases).catch((err: unknown) => {
      logger.warn({ err, entityId: req.params.id }, 'the relinks of a merge wait for the next sweep');
      return { relinked: 0, ended: 0, pending: result.runningCases.length };
    });
    res.json({ ...result, workflows });
  });
  return router;
}
