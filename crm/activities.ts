/**
 * Activities on an entity outside any case (issue 15): a call, meeting, visit or email logged as done (with its
 * outcome, notes and duration), or scheduled for a date-time and an owner and marked done later. SQL through
 * the db module only; access is the caller's business (crm/permissions.ts: as editing or reading the entity).
 */
import { randomUUID } from 'node:crypto';
import type { Queryable, Row } from '../db';
import { ConflictError, InvalidInputError, NotFoundError, type InputError } from '../lib/domain-errors';
import { fieldErrors, validatorFor } from '../lib/json-validation';

export const ACTIVITY_KINDS = ['call', 'meeting', 'visit', 'email'] as const;
export type ActivityKind = (typeof ACTIVITY_KINDS)[number];
export type ActivityStatus = 'done' | 'scheduled';

/** How far ahead of the server's clock a done activity's `occurredAt` may be (clients' clocks drift). */
const CLOCK_SKEW_MS = 5 * 60_000;

const dateTime = { type: 'string', format: 'date-time', maxLength: 40 } as const;
const doneFields = {
  outcome: { type: ['string', 'null'], maxLength: 200, description: 'What came of it: "interested", ...' },
  notes: { type: ['string', 'null'], maxLength: 10_000 },
  durationMinutes: { type: ['integer', 'null'], minimum: 0, maximum: 1440 },
  occurredAt: { ...dateTime, description: 'When it happened (default now); not in the future' },
} as const;

/** Request schema of a new activity. */
export const activityCreateSchema = {
  type: 'object',
  properties: {
    kind: { enum: [...ACTIVITY_KINDS] },
    status: {
      enum: ['done', 'scheduled'],
      description: 'done: it happened (logged); scheduled: it is planned for `scheduledAt`',
    },
    subject: { type: ['string', 'null'], maxLength: 300 },
    ...doneFields,
    scheduledAt: { ...dateTime, description: 'When it is planned (scheduled only); in the future' },
    ownerId: {
      type: ['string', 'null'],
      maxLength: 100,
      description:
        'Who is to do a scheduled activity (default the caller, unless `ownerTeam` is given): as for giving an entity to someone (docs/permissions.md)',
    },
    ownerTeam: {
      type: ['string', 'null'],
      maxLength: 100,
      description:
        "The team that is to do a scheduled activity (instead of a person): it shows in every member's inbox; a team the caller belongs to (an agent), belongs to or supervises (a supervisor), any (an administrator)",
    },
  },
  required: ['kind', 'status'],
  additionalProperties: false,
} as const;

/** Request schema of the change that marks a scheduled activity done. */
export const activityDoneSchema = {
  type: 'object',
  properties: { status: { const: 'done' }, ...doneFields },
  required: ['status'],
  additionalProperties: false,
} as const;

export interface ActivityInput {
  kind: ActivityKind;
  status: ActivityStatus;
  subject?: string | null;
  outcome?: string | null;
  notes?: string | null;
  durationMinutes?: number | null;
  occurredAt?: string;
  scheduledAt?: string;
  ownerId?: string | null;
  ownerTeam?: string | null;
}

export interface ActivityDoneInput {
  status: 'done';
  outcome?: string | null;
  notes?: string | null;
  durationMinutes?: number | null;
  occurredAt?: string;
}

const ACTIVITY_SELECT = `a.id, a.entity_id, a.kind, a.status, a.at, a.scheduled_at, a.subject, a.outcome, a.notes,
  a.duration_minutes, a.owner_id, a.owner_team, a.created_by, a.done_by, a.created_at, a.updated_at`;

const iso = (v: unknown): string | null =>
  v === null || v === undefined ? null : new Date(v as string).toISOString();

/** An activity row as the API shows it. */
export function activityView(r: Row) {
  return {
    id: r.id as string,
    entityId: r.entity_id as string,
    kind: r.kind as ActivityKind,
    status: r.status as ActivityStatus,
    at: iso(r.at) as string,
    scheduledAt: iso(r.scheduled_at),
    subject: (r.subject as string | null) ?? null,
    outcome: (r.outcome as string | null) ?? null,
    notes: (r.notes as string | null) ?? null,
    durationMinutes: (r.duration_minutes as number | null) ?? null,
    ownerId: (r.owner_id as string | null) ?? null,
    ownerTeam: (r.owner_team as string | null) ?? null,
    createdBy: r.created_by as string,
    doneBy: (r.done_by as string | null) ?? null,
    createdAt: iso(r.created_at) as string,
    updatedAt: iso(r.updated_at) as string,
  };
}
export type ActivityView = ReturnType<typeof activityView>;

function occurredAt(value: string | undefined, pointer: string, errors: InputError[], now: number): Date {
  if (value === undefined) return new Date(now);
  const at = new Date(value);
  if (at.getTime() > now + CLOCK_SKEW_MS) errors.push({ pointer, message: 'is in the future' });
  return at;
}

/**
 * Validates a new activity: a done one carries no `scheduledAt` and no owner but the caller; a scheduled one
 * needs a `scheduledAt` in the future, carries no outcome or `occurredAt` (its `durationMinutes` is how long it
 * is planned to take) and goes to a person or a team, not both. One 400 lists every error. Answers the input
 * and when it happens (`at`).
 */
export function checkActivityInput(
  body: unknown,
  prefix: string,
  now = Date.now(),
): { input: ActivityInput; at: Date } {
  const validate = validatorFor(activityCreateSchema);
  const errors: InputError[] = validate(body) ? [] : fieldErrors(validate.errors, prefix);
  const input = (body && typeof body === 'object' ? body : {}) as ActivityInput;
  const add = (error: InputError) => {
    if (!errors.some((e) => e.pointer === error.pointer)) errors.push(error);
  };
  let at = new Date(now);
  if (input.status === 'done') {
    for (const field of ['scheduledAt', 'ownerId', 'ownerTeam'] as const)
      if (input[field] !== undefined)
        add({ pointer: `${prefix}/${field}`, message: 'is only for a scheduled activity' });
    if (typeof input.occurredAt === 'string')
      at = occurredAt(input.occurredAt, `${prefix}/occurredAt`, errors, now);
  } else if (input.status === 'scheduled') {
    for (const field of ['outcome', 'occurredAt'] as const)
      if (input[field] !== undefined)
        add({
          pointer: `${prefix}/${field}`,
          message: 'is only for a done activity (mark it done with PATCH)',
        });
    if (typeof input.ownerId === 'string' && typeof input.ownerTeam === 'string')
      add({ pointer: `${prefix}/ownerTeam`, message: 'give the activity to a person or a team, not both' });
    if (input.scheduledAt === undefined)
      add({ pointer: `${prefix}/scheduledAt`, message: 'is required for a scheduled activity' });
    else {
      at = new Date(input.scheduledAt);
      if (at.getTime() <= now) add({ pointer: `${prefix}/scheduledAt`, message: 'must be in the future' });
    }
  }
  if (errors.length > 0) throw new InvalidInputError(`The activity has ${errors.length} error(s)`, errors);
  return { input, at };
}

/** Validates the change that marks an activity done; answers it and when it happened. */
export function checkActivityDone(
  body: unknown,
  prefix: string,
  now = Date.now(),
): { input: ActivityDoneInput; at: Date } {
  const validate = validatorFor(activityDoneSchema);
  if (!validate(body))
    throw new InvalidInputError('The change is not valid', fieldErrors(validate.errors, prefix));
  const input = body as ActivityDoneInput;
  const errors: InputError[] = [];
  const at = occurredAt(input.occurredAt, `${prefix}/occurredAt`, errors, now);
  if (errors.length > 0) throw new InvalidInputError(`The change has ${errors.length} error(s)`, errors);
  return { input, at };
}

/** Who is to do a scheduled activity: a person or a team (or nobody). */
export interface ActivityOwner {
  ownerId: string | null;
  ownerTeam: string | null;
}

/** Inserts a validated activity on the entity; `owner` is who does it (a scheduled one's person or team). */
export async function insertActivity(
  db: Queryable,
  entityId: string,
  input: ActivityInput,
  at: Date,
  actor: string,
  owner: ActivityOwner,
): Promise<ActivityView> {
  const done = input.status === 'done';
  const rows = await db.query(
    `INSERT INTO entity_activities AS a (id, entity_id, kind, status, at, scheduled_at, subject, outcome, notes,
       duration_minutes, owner_id, owner_team, created_by, done_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
     RETURNING ${ACTIVITY_SELECT}`,
    [
      `act-${randomUUID()}`,
      entityId,
      input.kind,
      input.status,
      at,
      done ? null : at,
      input.subject ?? null,
      input.outcome ?? null,
      input.notes ?? null,
      input.durationMinutes ?? null,
      owner.ownerId,
      owner.ownerTeam,
      actor,
      done ? actor : null,
    ],
  );
  return activityView(rows[0] as Row);
}

/** Filters of an entity's activity list. */
export interface ActivityFilters {
  status?: ActivityStatus;
  kind?: ActivityKind;
}

/**
 * One page of the entity's activities, latest `at` first (scheduled ones ahead of today come first), after
 * `after` ([at, id] of the previous page's last). Answers up to `limit` and whether more follow.
 */
export async function listActivities(
  db: Queryable,
  entityId: string,
  filters: ActivityFilters,
  page: { limit: number; after?: [string, string] },
): Promise<{ items: ActivityView[]; more: boolean }> {
  const params: unknown[] = [entityId];
  const where = ['a.entity_id = $1'];
  for (const [name, value] of Object.entries(filters)) {
    if (value === undefined) continue;
    params.push(value);
    where.push(`a.${name} = $${params.length}`);
  }
  if (page.after) {
    params.push(page.after[0], page.after[1]);
    where.push(`(a.at, a.id) < ($${params.length - 1}::timestamptz, $${params.length})`);
  }
  params.push(page.limit + 1);
  const rows = await db.query(
    `SELECT ${ACTIVITY_SELECT} FROM entity_activities a WHERE ${where.join(' AND ')}
     ORDER BY a.at DESC, a.id DESC LIMIT $${params.length}`,
    params,
  );
  return { items: rows.slice(0, page.limit).map(activityView), more: rows.length > page.limit };
}

/**
 * Marks the entity's scheduled activity done (at `at`, by `actor`), keeping when it had been planned in
 * `scheduledAt`. 404 when the entity has no such activity; then `authorize` sees who it was given to (and
 * throws to refuse); then 409 `activity-done` when it is done already.
 */
export async function completeActivity(
  db: Queryable,
  entityId: string,
  activityId: string,
  input: ActivityDoneInput,
  at: Date,
  actor: string,
  authorize: (owner: ActivityOwner) => void,
): Promise<ActivityView> {
  const [current] = await db.query<{
    status: ActivityStatus;
    owner_id: string | null;
    owner_team: string | null;
  }>(
    'SELECT status, owner_id, owner_team FROM entity_activities WHERE id = $1 AND entity_id = $2 FOR UPDATE',
    [activityId, entityId],
  );
  if (!current)
    throw new NotFoundError(
      'not-found',
      'Not found',
      `Activity ${activityId} of entity ${entityId} was not found`,
    );
  authorize({ ownerId: current.owner_id, ownerTeam: current.owner_team });
  if (current.status === 'done')
    throw new ConflictError(
      'activity-done',
      'The activity is done',
      `Activity ${activityId} is done already`,
      {
        activityId,
      },
    );
  const params: unknown[] = [activityId, at, actor];
  const sets = ["status = 'done'", 'at = $2', 'done_by = $3', 'updated_at = now()'];
  for (const [field, column] of [
    ['outcome', 'outcome'],
    ['notes', 'notes'],
    ['durationMinutes', 'duration_minutes'],
  ] as const) {
    if (input[field] === undefined) continue;
    params.push(input[field]);
    sets.push(`${column} = $${params.length}`);
  }
  const rows = await db.query(
    `UPDATE entity_activities a SET ${sets.join(', ')} WHERE a.id = $1 RETURNING ${ACTIVITY_SELECT}`,
    params,
  );
  return activityView(rows[0] as Row);
}

/** A scheduled activity as an inbox item: told apart from tasks by `kind: "activity"`. */
export function inboxActivityView(r: Row, now: number) {
  const at = iso(r.at) as string;
  return {
    kind: 'activity' as const,
    id: r.id as string,
    activityKind: r.kind as ActivityKind,
    entity: { id: r.entity_id as string, name: r.entity_name as string },
    subject: (r.subject as string | null) ?? null,
    notes: (r.notes as string | null) ?? null,
    scheduledAt: at,
    durationMinutes: (r.duration_minutes as number | null) ?? null,
    ownerId: (r.owner_id as string | null) ?? null,
    ownerTeam: (r.owner_team as string | null) ?? null,
    createdBy: r.created_by as string,
    overdue: Date.parse(at) < now,
  };
}
export type InboxActivityView = ReturnType<typeof inboxActivityView>;

/**
 * Whose scheduled activities an inbox page holds: those given to these people and these teams, and with
 * `membersOf`, to the members of that team (a team's queue).
 */
export interface ActivityOwners {
  users: string[];
  teams: string[];
  membersOf?: string;
}

/**
 * One page of the scheduled activities given to `owners`, soonest first (overdue ones lead), after `after`
 * ([at, id] of the previous page's last), with the entity's name. Each owner's rows come from its own range of
 * a partial index on (owner, at, id) (migration 082), at most `limit + 1` of them, so the page costs one short
 * index walk per owner, not a scan of the activities; only the page's rows are joined to their entities.
 */
export async function inboxActivities(
  db: Queryable,
  owners: ActivityOwners,
  page: { limit: number; after?: [string, string] },
): Promise<{ items: Row[]; more: boolean }> {
  const params: unknown[] = [owners.users, owners.teams, page.limit + 1];
  let keyset = '';
  if (page.after) {
    params.push(page.after[0], page.after[1]);
    keyset = ` AND (a.at, a.id) > ($4::timestamptz, $5)`;
  }
  let users = '$1::text[]';
  if (owners.membersOf !== undefined) {
    params.push(owners.membersOf);
    users = `$1::text[] || ARRAY(SELECT m.user_id FROM team_members m WHERE m.team_id = $${params.length})`;
  }
  const side = (
    column: string,
    list: string,
  ) => `SELECT w.id, w.at FROM (SELECT DISTINCT x FROM unnest(${list}) x) o(id)
      CROSS JOIN LATERAL (SELECT a.id, a.at FROM entity_activities a
        WHERE a.${column} = o.id AND a.status = 'scheduled'${keyset}
        ORDER BY a.at, a.id LIMIT $3) w`;
  const rows = await db.query(
    `SELECT ${ACTIVITY_SELECT}, e.name AS entity_name
     FROM (${side('owner_id', users)}
       UNION ALL
       ${side('owner_team', '$2::text[]')}
       ORDER BY at, id LIMIT $3) p
     JOIN entity_activities a ON a.id = p.id
     JOIN entities e ON e.id = a.entity_id
     ORDER BY a.at, a.id`,
    params,
  );
  return { items: rows.slice(0, page.limit), more: rows.length > page.limit };
}

/**
 * The scheduled activities given to the user (not to their teams: as a task is in the feed only once it is
 * assigned), planned from `pastDays` ago on, soonest first, at most `limit`, with the entity's name.
 */
export function calendarActivities(
  db: Queryable,
  userId: string,
  pastDays: number,
  limit: number,
): Promise<Row[]> {
  return db.query(
    `SELECT ${ACTIVITY_SELECT}, e.name AS entity_name
     FROM entity_activities a JOIN entities e ON e.id = a.entity_id
     WHERE a.owner_id = $1 AND a.status = 'scheduled' AND a.at >= now() - make_interval(days => $2)
     ORDER BY a.at, a.id LIMIT $3`,
    [userId, pastDays, limit],
  );
}
