import { randomBytes } from 'node:crypto';
import { Router } from 'express';
import ical from 'ical-generator';
import { calendarActivities } from '../../crm/activities';
import { roleMay } from '../../crm/permissions';
import type { Queryable } from '../../db';
import { agendaTasks } from '../../cases/agenda';
import {
  calendarFeedStatus,
  deleteCalendarFeed,
  openCalendarFeed,
  saveCalendarFeed,
} from '../../identity/calendar-feeds';
import { BUILTIN_ACTION_TYPES } from '../../engine/types';
import { callerOf } from '../auth';
import type { ApiContext } from '../context';
import { cachedDefinition } from '../definition-cache';
import { problemResponses, type OperationSpec } from '../operation';
import { ProblemError } from '../problem';
import { noQuery } from '../request-guards';

/** Length of each task's event (tasks carry a due instant, not a duration), and of an activity's without one. */
const EVENT_MINUTES = 30;
/** The feed covers this window around now, at most MAX_EVENTS events. */
const PAST_DAYS = 30;
const MAX_EVENTS = 1000;

const calendarUrlSchema = {
  type: 'object',
  properties: {
    url: {
      type: 'string',
      format: 'uri',
      description: 'Secret feed URL, shown once; anyone holding it reads the agenda',
    },
    createdAt: { type: 'string', format: 'date-time' },
  },
};
const calendarStatusSchema = {
  type: 'object',
  properties: {
    enabled: { type: 'boolean' },
    createdAt: { type: ['string', 'null'], format: 'date-time' },
    lastUsedAt: { type: ['string', 'null'], format: 'date-time' },
  },
};

export const calendarOperations: OperationSpec[] = [
  {
    method: 'get',
    path: '/api/users/me/calendar-url',
    operationId: 'getCalendarFeedStatus',
    tag: 'Calendar',
    summary: 'Whether my calendar feed is enabled (the URL itself is only shown when created)',
    responses: {
      '200': { description: 'Feed status', schema: calendarStatusSchema },
      ...problemResponses(401),
    },
  },
  {
    method: 'post',
    path: '/api/users/me/calendar-url',
    operationId: 'rotateCalendarFeed',
    tag: 'Calendar',
    summary: 'Creates my secret iCal feed URL, or replaces it (the old URL stops working)',
    responses: {
      '201': { description: 'The new URL, shown once', schema: calendarUrlSchema },
      ...problemResponses(401),
    },
  },
  {
    method: 'delete',
    path: '/api/users/me/calendar-url',
    operationId: 'disableCalendarFeed',
    tag: 'Calendar',
    summary: 'Disables my calendar feed',
    responses: { '204': { description: 'Disabled' }, ...problemResponses(401) },
  },
  {
    method: 'get',
    path: '/calendar/:file',
    operationId: 'getCalendarFeed',
    tag: 'Calendar',
    auth: false,
    summary:
      "A user's open dated actions and scheduled activities as iCalendar (RFC 5545); the secret in the path is the credential",
    description:
      'One VEVENT per open dated task assigned to the user (UID `<task id>@<host>`) and per scheduled entity activity given to them (UID `<activity id>@<host>`, DTSTART its `scheduledAt`, DTEND after its planned `durationMinutes` or 30 minutes); from 30 days ago on. An activity marked done, or whose entity is deleted, leaves the feed.',
    params: { file: '<secret>.ics' },
    responses: {
      '200': { description: 'The agenda', contentType: 'text/calendar', schema: { type: 'string' } },
      ...problemResponses(404),
    },
  },
];

/** Codes of the action types that are dated, per (case type, definition version); definitions are immutable. */
const datedCache = new Map<string, Set<string>>();

async function datedActions(db: Queryable, caseType: string, version: number): Promise<Set<string>> {
  const key = `${caseType}@${version}`;
  let dated = datedCache.get(key);
  if (!dated) {
    const stored = await cachedDefinition(db, caseType, version);
    const types = [...BUILTIN_ACTION_TYPES, ...(stored?.definition.actionTypes ?? [])];
    // A definition may redeclare a built-in type; its own declaration wins.
    const byCode = new Map(types.map((t) => [t.code, t.dated === true]));
    dated = new Set([...byCode].filter(([, isDated]) => isDated).map(([code]) => code));
    if (datedCache.size < 10_000) datedCache.set(key, dated);
  }
  return dated;
}

/** Routes under /api: the caller manages their own feed. */
export function calendarRoutes(ctx: ApiContext): Router {
  const router = Router();

  router.get('/users/me/calendar-url', async (req, res) => {
    noQuery(req);
    const caller = callerOf(req);
    const row = await calendarFeedStatus(ctx.db, caller.userId);
    res.json({
      enabled: row !== undefined,
      createdAt: row?.created_at ?? null,
      lastUsedAt: row?.last_used_at ?? null,
    });
  });

  router.post('/users/me/calendar-url', async (req, res) => {
    const caller = callerOf(req);
    const secret = randomBytes(32).toString('base64url');
    const row = await saveCalendarFeed(ctx.db, caller.userId, secret);
    res
      .status(201)
      .set('Cache-Control', 'no-store')
      .json({
        url: `${ctx.publicUrl.replace(/\/$/, '')}/calendar/${secret}.ics`,
        createdAt: row?.created_at,
      });
  });

  router.delete('/users/me/calendar-url', async (req, res) => {
    const caller = callerOf(req);
    await deleteCalendarFeed(ctx.db, caller.userId);
    res.status(204).end();
  });

  return router;
}

/** The unauthenticated feed: the secret in the URL is the credential. */
export function calendarFeedRoutes(ctx: ApiContext): Router {
  const router = Router();

  router.get('/calendar/:file', async (req, res) => {
    const match = /^([A-Za-z0-9_-]{20,100})\.ics$/.exec(req.params.file);
    if (!match) throw ProblemError.notFound('Calendar');
    const user = await openCalendarFeed(ctx.db, match[1] as string);
    if (!user) throw ProblemError.notFound('Calendar');
    const tasks = await agendaTasks(ctx.db, user.id, PAST_DAYS, MAX_EVENTS);
    const calendar = ical({
      name: `CRM agenda: ${user.name}`,
      prodId: { company: 'crm-process-engine', product: 'agenda', language: 'EN' },
      ttl: 15 * 60,
    });
    const base = ctx.publicUrl.replace(/\/$/, '');
    const host = new URL(base).host || 'crm-process-engine';
    for (const task of tasks) {
      if (!(await datedActions(ctx.db, task.case_type, task.definition_version)).has(task.action)) continue;
      const start = new Date(task.due_at);
      const lines = [task.case_title, task.entity_name, task.description, `Priority: ${task.priority}`];
      calendar.createEvent({
        id: `${task.id}@${host}`,
        sequence: task.version,
        start,
        end: new Date(start.getTime() + EVENT_MINUTES * 60_000),
        stamp: new Date(task.created_at),
        summary: task.title,
        description: lines.filter((l): l is string => Boolean(l)).join('\n'),
        url: `${base}/api/tasks/${encodeURIComponent(task.id)}`,
      });
    }
    // An activity is part of its entity: only who may read entities sees it (docs/permissions.md).
    const activities = roleMay(user, 'entity', 'read')
      ? await calendarActivities(ctx.db, user.id, PAST_DAYS, MAX_EVENTS)
      : [];
    for (const activity of activities) {
      const start = new Date(activity.at as string);
      const minutes = (activity.duration_minutes as number | null) ?? EVENT_MINUTES;
      const kind = activity.kind as string;
      const subject = activity.subject as string | null;
      const entityName = activity.entity_name as string;
      calendar.createEvent({
        id: `${activity.id as string}@${host}`,
        start,
        end: new Date(start.getTime() + minutes * 60_000),
        stamp: new Date(activity.created_at as string),
        summary: `${kind[0]?.toUpperCase() ?? ''}${kind.slice(1)}: ${subject ?? entityName}`,
        description: [entityName, activity.notes as string | null].filter(Boolean).join('\n'),
        url: `${base}/api/entities/${encodeURIComponent(activity.entity_id as string)}/activities`,
      });
    }
    res
      .type('text/calendar; charset=utf-8')
      .set('Cache-Control', 'private, max-age=300')
      .set('Content-Disposition', 'inline; filename="agenda.ics"')
      .send(calendar.toString());
  });

  return router;
}
