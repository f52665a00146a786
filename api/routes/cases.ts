import { createHash, randomUUID } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { Router, type Request, type Response } from 'express';
import { caseContentProperties } from '../../cases/content-schema';
import { caseTasks, caseTimeline, entityForCase, findCaseRow, findVisibleCase } from '../../cases/case-store';
import { correlatedCase } from '../../cases/correlation';
import { latestDefinition } from '../../db/definitions';
import type { ActorEvent } from '../../engine/state';
import { callerOf, type Caller } from '../auth';
import { permit } from '../../crm/permissions';
import type { ApiContext } from '../context';
import { cachedDefinition } from '../definition-cache';
import { idempotencyHeader, idempotent, type Outcome } from '../idempotency';
import { ProblemError } from '../problem';
import { check } from '../validation';
import { caseView, taskView } from '../views';

export const startSchema = Type.Object(
  {
    caseType: Type.String({ minLength: 1, maxLength: 100 }),
    title: Type.Optional(caseContentProperties.title),
    entityId: Type.Optional(caseContentProperties.entityId),
    ownerId: Type.Optional(caseContentProperties.ownerId),
    data: Type.Optional(caseContentProperties.data),
    lines: Type.Optional(caseContentProperties.lines),
  },
  { additionalProperties: false },
);

/** A status set by hand: one the case type marks `manual` (administrators: any). */
export const setStatusSchema = Type.Object(
  { status: Type.String({ minLength: 1, maxLength: 100 }) },
  { additionalProperties: false },
);

const messagePayload = Type.Optional(
  Type.Unsafe<Record<string, unknown>>({
    type: 'object',
    description: 'Data the message carries (conditions read it as `message`)',
  }),
);

/** A message for a running case: a wait step or a boundary event of the case type catches it. */
export const caseMessageSchema = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 80 }), payload: messagePayload },
  { additionalProperties: false },
);

/** A message for the one running case with a business key (the case type's `businessKey` field). */
export const correlatedMessageSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 80 }),
    businessKey: Type.String({
      minLength: 1,
      maxLength: 200,
      description: "The value of the case type's business key field, e.g. an order number",
    }),
    caseType: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 100,
        description: 'Only cases of this type (when several types share key values)',
      }),
    ),
    payload: messagePayload,
  },
  { additionalProperties: false },
);

/** Cancelling a case: the reason is recorded in the timeline. */
export const cancelCaseSchema = Type.Object(
  { reason: Type.String({ minLength: 1, maxLength: 500 }) },
  { additionalProperties: false },
);

/** Putting a case on hold: the reason, if given, is recorded in the timeline. */
export const suspendCaseSchema = Type.Object(
  { reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })) },
  { additionalProperties: false },
);

/** Taking a case off hold: no body. */
export const resumeCaseSchema = Type.Object({}, { additionalProperties: false, maxProperties: 0 });

/** Changes to a running case's data (merged into it) and lines (replacing them): the editable fields only. */
export const updateCaseSchema = Type.Object(
  { data: Type.Optional(caseContentProperties.data), lines: Type.Optional(caseContentProperties.lines) },
  { minProperties: 1, additionalProperties: false },
);

/** Loads a case the caller may see, or answers 404 (unknown and foreign look the same). */
export async function loadVisibleCase(ctx: ApiContext, caller: ReturnType<typeof callerOf>, caseId: string) {
  const row = await findVisibleCase(ctx.db, caller, caseId);
  if (!row) throw ProblemError.notFound(`Case ${caseId}`);
  return row;
}

/** The case id a keyed start uses: a UUID-shaped digest of (user, Idempotency-Key), the same for every retry. */
export function keyedCaseId(userId: string, key: string): string {
  const hex = createHash('sha256').update(`case-start\n${userId}\n${key}`).digest('hex');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `case-${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function caseRoutes(ctx: ApiContext): Router {
  const router = Router();

  router.post('/cases', async (req, res) => {
    const caller = callerOf(req);
    permit(caller, 'case', 'start');
    await idempotent(ctx.db, req, res, caller, (key) => startCase(caller, req.body, key));
  });

  /**
   * Starts a case. With an Idempotency-Key the case id is derived from (caller, key), so a retry, even
   * one that races the first request, reaches the same workflow (its start is `USE_EXISTING`).
   */
  const startCase = async (
    caller: Caller,
    requestBody: unknown,
    key: string | undefined,
  ): Promise<Outcome> => {
    const body = check(startSchema, requestBody ?? {}, '/body');
    const stored = await latestDefinition(ctx.db, body.caseType);
    if (!stored) {
      throw ProblemError.badRequest(`Unknown case type "${body.caseType}"`, [
        { pointer: '/body/caseType', message: 'is not a published case type' },
      ]);
    }
    const def = stored.definition;
    if (def.fields) check(def.fields, body.data ?? {}, '/body/data', 'case data');
    if (body.lines !== undefined) {
      if (!def.lines)
        throw ProblemError.badRequest(`Case type ${def.id} has no lines`, [
          { pointer: '/body/lines', message: 'is not allowed' },
        ]);
      check({ type: 'array', items: def.lines }, body.lines, '/body/lines', 'case lines');
    }
    let entity = null;
    if (body.entityId !== undefined) {
      const row = await entityForCase(ctx.db, body.entityId);
      if (!row)
        throw ProblemError.badRequest('Unknown entity', [
          { pointer: '/body/entityId', message: 'does not exist' },
        ]);
      entity = { id: row.id, name: row.name, agentId: row.agent_id };
    }
    const ownerId = body.ownerId ?? caller.userId;
    if (ownerId !== caller.userId && caller.role === 'agent') {
      throw ProblemError.forbidden('Agents open cases for themselves; leave ownerId out');
    }
    const caseId = key === undefined ? `case-${randomUUID()}` : keyedCaseId(caller.userId, key);
    await ctx.gateway.start(def, {
      caseId,
      caseType: def.id,
      definitionVersion: stored.version,
      data: body.data ?? {},
      lines: body.lines ?? [],
      entity,
      ownerId,
      actor: caller.userId,
      ...(body.title !== undefined ? { title: body.title } : {}),
    });
    const row = await findCaseRow(ctx.db, caseId);
    const tasks = await caseTasks(ctx.db, caseId);
    return {
      status: 201,
      headers: { Location: `/api/cases/${caseId}` },
      body: { ...caseView(row ?? {}), tasks: tasks.map((t) => taskView(t)) },
    };
  };

  router.get('/cases/:id', async (req, res) => {
    const caller = callerOf(req);
    permit(caller, 'case', 'read');
    res.json(await caseDetail(ctx, caller, await loadVisibleCase(ctx, caller, req.params.id)));
  });

  /** Sends a case-level action to the case workflow and answers with the case as it left it. */
  const actOnCase = async (
    req: Request,
    res: Response,
    action: string,
    event: (caller: Caller, row: Record<string, unknown>) => Promise<ActorEvent>,
    /** The case acted on: the path's id unless the action finds it otherwise (a business key). */
    target: (caller: Caller) => Promise<string> = async () => req.params.id as string,
  ): Promise<void> => {
    const caller = callerOf(req);
    // Putting a case on hold and taking it off are supervisors' decisions, as cancelling it is.
    permit(caller, 'case', ['cancel', 'suspend', 'resume'].includes(action) ? 'cancel' : 'edit');
    idempotencyHeader(req);
    const row = await loadVisibleCase(ctx, caller, await target(caller));
    const caseId = row.id as string;
    const actorEvent = await event(caller, row);
    await idempotent(ctx.db, req, res, caller, async (key) => {
      await ctx.gateway.act(caseId, actorEvent, key && `${caller.userId}:${caseId}:${action}:${key}`);
      const after = await findCaseRow(ctx.db, caseId);
      return { status: 200, body: await caseDetail(ctx, caller, after ?? row) };
    });
  };

  router.post('/cases/:id/status', async (req, res) => {
    const body = check(setStatusSchema, req.body ?? {}, '/body');
    await actOnCase(req, res, 'status', async (caller) => ({
      type: 'setStatus',
      status: body.status,
      actor: caller,
    }));
  });

  router.post('/cases/:id/messages', async (req, res) => {
    const body = check(caseMessageSchema, req.body ?? {}, '/body');
    await actOnCase(req, res, 'message', async (caller) => ({
      type: 'message',
      name: body.name,
      ...(body.payload === undefined ? {} : { payload: body.payload }),
      actor: caller,
    }));
  });

  router.post('/messages', async (req, res) => {
    const body = check(correlatedMessageSchema, req.body ?? {}, '/body');
    await actOnCase(
      req,
      res,
      'message',
      async (caller) => ({
        type: 'message',
        name: body.name,
        ...(body.payload === undefined ? {} : { payload: body.payload }),
        actor: caller,
      }),
      (caller) =>
        correlatedCase(
          ctx.db,
          {
            businessKey: body.businessKey,
            ...(body.caseType === undefined ? {} : { caseType: body.caseType }),
          },
          caller,
        ),
    );
  });

  router.post('/cases/:id/suspend', async (req, res) => {
    const body = check(suspendCaseSchema, req.body ?? {}, '/body');
    await actOnCase(req, res, 'suspend', async (caller) => ({
      type: 'suspend',
      ...(body.reason !== undefined ? { reason: body.reason } : {}),
      actor: caller,
    }));
  });

  router.post('/cases/:id/resume', async (req, res) => {
    check(resumeCaseSchema, req.body ?? {}, '/body');
    await actOnCase(req, res, 'resume', async (caller) => ({ type: 'resume', actor: caller }));
  });

  router.post('/cases/:id/cancel', async (req, res) => {
    const body = check(cancelCaseSchema, req.body ?? {}, '/body');
    await actOnCase(req, res, 'cancel', async (caller) => ({
      type: 'cancel',
      reason: body.reason,
      actor: caller,
    }));
  });

  router.patch('/cases/:id', async (req, res) => {
    const body = check(updateCaseSchema, req.body ?? {}, '/body');
    await actOnCase(req, res, 'update', async (caller, row) => {
      const stored = await cachedDefinition(
        ctx.db,
        row.case_type as string,
        row.definition_version as number,
      );
      const def = stored?.definition;
      // The case's data after the change must still fit the case type's fields.
      if (def?.fields && body.data)
        check(def.fields, { ...(row.data as object), ...body.data }, '/body/data', 'case data');
      if (body.lines !== undefined) {
        if (!def?.lines)
          throw ProblemError.badRequest(`Case type ${row.case_type as string} has no lines`, [
            { pointer: '/body/lines', message: 'is not allowed' },
          ]);
        check({ type: 'array', items: def.lines }, body.lines, '/body/lines', 'case lines');
      }
      return {
        type: 'updateData',
        data: body.data ?? {},
        ...(body.lines !== undefined ? { lines: body.lines } : {}),
        actor: caller,
      };
    });
  });

  return router;
}

/** A case as GET /api/cases/:id shows it: its status's name and probability, its tasks and timeline. */
async function caseDetail(ctx: ApiContext, caller: Caller, row: Record<string, unknown>) {
  const tasks = await caseTasks(ctx.db, row.id as string, caller);
  const timeline = await caseTimeline(ctx.db, row.id as string);
  const stored = await cachedDefinition(ctx.db, row.case_type as string, row.definition_version as number);
  const status = stored?.definition.statuses.find((s) => s.code === row.status);
  return {
    ...caseView(row),
    statusName: status?.name ?? row.status,
    probability: (row.data as { probability?: number }).probability ?? status?.probability ?? null,
    tasks: tasks.map((t) => ({ ...taskView(t), actionable: t.visible === true })),
    timeline: timeline.map((e) => ({
      seq: e.seq,
      at: e.at,
      kind: e.kind,
      actor: e.actor,
      taskId: e.task_id,
      detail: e.detail,
    })),
  };
}
