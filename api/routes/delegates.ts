import { Type } from '@sinclair/typebox';
import { Router } from 'express';
import { searchDelegates } from '../../identity/delegates';
import { callerOf } from '../auth';
import type { ApiContext } from '../context';
import { problemResponses, type OperationSpec } from '../operation';
import { ProblemError } from '../problem';
import { check } from '../validation';

/** The delegate picker shows a short list that narrows as the person types. */
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 50;

export const delegatesQuerySchema = Type.Object(
  {
    q: Type.Optional(Type.String({ maxLength: 100, description: 'Part of the name or email, any case' })),
    limit: Type.Optional(
      Type.String({
        pattern: '^[0-9]{1,9}$',
        description: `At most this many (default ${DEFAULT_LIMIT}, at most ${MAX_LIMIT})`,
      }),
    ),
  },
  { additionalProperties: false },
);

const delegatesSchema = {
  type: 'object',
  properties: {
    items: {
      type: 'array',
      items: {
        type: 'object',
        properties: { id: { type: 'string' }, name: { type: 'string' }, email: { type: 'string' } },
        required: ['id', 'name', 'email'],
      },
    },
    more: { type: 'boolean', description: 'Others match too: the search text narrows the list' },
  },
  required: ['items', 'more'],
};

export const delegateOperations: OperationSpec[] = [
  {
    method: 'get',
    path: '/api/delegates',
    operationId: 'listDelegates',
    tag: 'Identity',
    summary: 'People the caller can delegate a task to, by name',
    description:
      'Active agents and supervisors who are members or the supervisor of a team the caller belongs to or ' +
      'supervises (administrators: of any team), never the caller. `q` filters by name or email.',
    query: delegatesQuerySchema,
    responses: {
      '200': { description: 'Matching people, by name', schema: delegatesSchema },
      ...problemResponses(400, 401),
    },
  },
];

export function delegateRoutes(ctx: ApiContext): Router {
  const router = Router();

  router.get('/delegates', async (req, res) => {
    const caller = callerOf(req);
    const query = check(delegatesQuerySchema, { ...req.query }, '/query');
    const limit = Number(query.limit ?? DEFAULT_LIMIT);
    if (limit < 1 || limit > MAX_LIMIT) {
      throw ProblemError.badRequest('Invalid limit', [
        { pointer: '/query/limit', message: `must be between 1 and ${MAX_LIMIT}` },
      ]);
    }
    const found = await searchDelegates(ctx.db, {
      userId: caller.userId,
      teamIds: caller.role === 'admin' ? null : [...new Set([...caller.teams, ...caller.supervisedTeams])],
      ...(query.q !== undefined ? { text: query.q } : {}),
      limit,
    });
    res.json(found);
  });

  return router;
}
