import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import type { Queryable } from '../../db';
import { ENTITY_SELECT, entityView } from '../../crm/entities';
import { findSegment } from '../../crm/segment-store';
import { compileSegment, segmentErrors, segmentFilterSchema, type SegmentFilter } from '../../crm/segments';
import { callerOf, requireRole } from '../auth';
import type { ApiContext } from '../context';
import { ProblemError } from '../problem';
import { check } from '../validation';
import { decodeCursor, encodeCursor, pageLimit } from './crm-common';

const segmentSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200 },
    description: { type: ['string', 'null'], maxLength: 2000 },
    filter: { type: 'object' },
  },
  required: ['name', 'filter'],
  additionalProperties: false,
};

const previewSchema = {
  type: 'object',
  properties: { filter: { type: 'object' } },
  required: ['filter'],
  additionalProperties: false,
};

/** Validates a filter (structure, then fields, operators and values); 400 with pointers under `pointer`. */
export function checkFilter(filter: unknown, pointer: string): SegmentFilter {
  const checked = check<SegmentFilter>(segmentFilterSchema, filter, pointer, 'segment filter');
  const errors = segmentErrors(checked, pointer);
  if (errors.length > 0)
    throw ProblemError.badRequest(`The segment filter has ${errors.length} error(s)`, errors);
  return checked;
}

/** Counts the entities of a filter and returns a page of them, by name. */
async function members(db: Queryable, filter: SegmentFilter, limit: number, cursor?: unknown[]) {
  const params: unknown[] = [];
  const predicate = compileSegment(filter, params);
  const [{ count } = { count: 0 }] = await db.query<{ count: number }>(
    `SELECT count(*) AS count FROM entities e WHERE ${predicate}`,
    params,
  );
  let after = '';
  if (cursor) {
    params.push(cursor[0], cursor[1]);
    after = ` AND (e.name, e.id) > ($${params.length - 1}, $${params.length})`;
  }
  params.push(limit + 1);
  const rows = await db.query(
    `SELECT ${ENTITY_SELECT} FROM entities e WHERE ${predicate}${after} ORDER BY e.name, e.id LIMIT $${params.length}`,
    params,
  );
  const items = rows.slice(0, limit).map(entityView);
  const last = items[items.length - 1];
  return {
    count,
    items,
    nextCursor: rows.length > limit && last ? encodeCursor([last.name, last.id]) : null,
  };
}

export function segmentRoutes(ctx: ApiContext): Router {
  const router = Router();

  /** Tries a filter without saving it: how many entities match, and the first ones. */
  router.post('/segments/preview', async (req, res) => {
    callerOf(req);
    const body = check<{ filter: unknown }>(previewSchema, req.body ?? {}, '/body');
    const filter = checkFilter(body.filter, '/body/filter');
    res.json(await members(ctx.db, filter, pageLimit(req, 20, ctx.maxPageSize)));
  });

  router.post('/segments', async (req, res) => {
    const caller = requireRole(req, 'supervisor', 'admin');
    const body = check<{ name: string; description?: string | null; filter: unknown }>(
      segmentSchema,
      req.body ?? {},
      '/body',
    );
    const filter = checkFilter(body.filter, '/body/filter');
    const id = `seg-${randomUUID()}`;
    try {
      await ctx.db.query(
        'INSERT INTO segments (id, name, description, filter, created_by) VALUES ($1, $2, $3, $4, $5)',
        [id, body.name, body.description ?? null, JSON.stringify(filter), caller.userId],
      );
    } catch (err) {
      if ((err as { code?: string }).code === '23505')
        throw new ProblemError(
          409,
          'duplicate-name',
          'Duplicate name',
          `A segment named "${body.name}" exists`,
          {
            errors: [{ pointer: '/body/name', message: 'is already the name of a segment' }],
          },
        );
      throw err;
    }
    const saved = await findSegment(ctx.db, id);
    res.status(201).location(`/api/segments/${id}`).json(saved);
  });

  router.get('/segments', async (req, res) => {
    callerOf(req);
    const rows = await ctx.db.query(
      'SELECT id, name, description, filter, created_by, created_at, updated_at FROM segments ORDER BY name LIMIT 1000',
    );
    res.json({
      items: rows.map((r) => ({
        id: r.id,
        name: r.name,
        description: r.description,
        filter: r.filter,
        createdBy: r.created_by,
        createdAt: r.created_at,
        updatedAt: r.updated_at,
      })),
    });
  });

  router.get('/segments/:id', async (req, res) => {
    callerOf(req);
    const segment = await findSegment(ctx.db, req.params.id);
    if (!segment) throw ProblemError.notFound(`Segment ${req.params.id}`);
    res.json(segment);
  });

  router.put('/segments/:id', async (req, res) => {
    requireRole(req, 'supervisor', 'admin');
    const body = check<{ name: string; description?: string | null; filter: unknown }>(
      segmentSchema,
      req.body ?? {},
      '/body',
    );
    const filter = checkFilter(body.filter, '/body/filter');
    const rows = await ctx.db.query(
      'UPDATE segments SET name = $2, description = $3, filter = $4, updated_at = now() WHERE id = $1 RETURNING id',
      [req.params.id, body.name, body.description ?? null, JSON.stringify(filter)],
    );
    if (!rows[0]) throw ProblemError.notFound(`Segment ${req.params.id}`);
    res.json(await findSegment(ctx.db, req.params.id));
  });

  router.delete('/segments/:id', async (req, res) => {
    requireRole(req, 'supervisor', 'admin');
    const rows = await ctx.db.query('DELETE FROM segments WHERE id = $1 RETURNING id', [req.params.id]);
    if (!rows[0]) throw ProblemError.notFound(`Segment ${req.params.id}`);
    res.status(204).end();
  });

  /** The entities of a saved segment, evaluated now. */
  router.get('/segments/:id/entities', async (req, res) => {
    callerOf(req);
    const segment = await findSegment(ctx.db, req.params.id);
    if (!segment) throw ProblemError.notFound(`Segment ${req.params.id}`);
    res.json({
      segment: { id: segment.id, name: segment.name },
      ...(await members(ctx.db, segment.filter, pageLimit(req, 50, ctx.maxPageSize), decodeCursor(req, 2))),
    });
  });

  return router;
}
