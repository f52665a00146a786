/**
 * The CRM's record permissions (docs/permissions.md), in one place: who may do what to an entity, a contact, a
 * case, an email and the CRM's other resources, by role and by the caller's relation to the record. Every CRM
 * route asks this module before it reads or writes.
 *
 * Answers: a role that may never do the action gets 403 `forbidden` whatever the record (checked before the
 * record is looked up, so an unknown id answers the same); a record the caller may not read is 404
 * `not-found` (its existence is not disclosed); a record the caller reads but may not change is 403.
 */
import type { Queryable } from '../db';
import type { UserRole } from '../identity/users';
import { visibleCaseSql, type Principal } from '../identity/visibility';
import { ForbiddenError, InvalidInputError, NotFoundError } from '../lib/domain-errors';

/**
 * How the caller stands to a record. Entity (and its contacts): `own` when the caller looks after it (its
 * agent), `team` when its agent is a member of a team the caller belongs to or supervises, or it has no agent
 * (the shared pool: inbound email, ERP), `other` otherwise. Case (and its emails and attachments): `own` or
 * `team` when the caller may see it (they own it, or it holds a task they see: identity/visibility.ts), `other`
 * otherwise.
 */
export type Relation = 'own' | 'team' | 'other';

type Rule = Readonly<Record<UserRole, readonly Relation[]>>;

const ALL: readonly Relation[] = ['own', 'team', 'other'];
const MINE: readonly Relation[] = ['own', 'team'];
const NONE: readonly Relation[] = [];

/** Everyone but designers: they read no personal data. */
const WORKERS: Rule = { agent: ALL, supervisor: ALL, designer: NONE, admin: ALL };
/** Agents and supervisors on their own and their teams' records, administrators on all. */
const THEIRS: Rule = { agent: MINE, supervisor: MINE, designer: NONE, admin: ALL };
/** Supervisors on their own and their teams' records, administrators on all. */
const SUPERVISED: Rule = { agent: NONE, supervisor: MINE, designer: NONE, admin: ALL };
const MANAGERS: Rule = { agent: NONE, supervisor: ALL, designer: NONE, admin: ALL };
const ADMINS: Rule = { agent: NONE, supervisor: NONE, designer: NONE, admin: ALL };
const EVERYONE: Rule = { agent: ALL, supervisor: ALL, designer: ALL, admin: ALL };

/**
 * The policy table. For resources without a relation (lists, segments, campaigns, ...) only whether a role's
 * rule is empty matters. docs/permissions.md is this table in words; test/crm-access.int.test.ts checks it.
 */
export const CRM_POLICY = {
  entity: {
    list: WORKERS,
    create: WORKERS,
    read: WORKERS,
    edit: THEIRS,
    reassign: SUPERVISED,
    delete: SUPERVISED,
  },
  contact: { search: WORKERS, read: WORKERS, create: THEIRS, edit: THEIRS, delete: THEIRS },
  case: {
    start: WORKERS,
    read: { agent: MINE, supervisor: MINE, designer: MINE, admin: ALL },
    edit: THEIRS,
    // The interpreter refuses an agent's cancel too (engine/interpreter.ts); the policy says it first.
    cancel: SUPERVISED,
    // The audited correction of a closed deal's amount (crm/deal-corrections.ts).
    correctAmount: SUPERVISED,
  },
  email: { list: THEIRS, read: THEIRS, resend: SUPERVISED },
  attachment: { read: THEIRS },
  segment: { read: WORKERS, write: MANAGERS },
  campaign: { read: WORKERS, write: MANAGERS },
  report: { read: WORKERS },
  import: { read: MANAGERS, write: MANAGERS },
  integration: { read: MANAGERS, write: ADMINS },
  exchangeRate: { read: EVERYONE, write: ADMINS },
  schema: { read: EVERYONE },
  // Sales quotas and the quota report (crm/quotas.ts); relations as `quotaRelation` defines them.
  quota: {
    read: { agent: ['own'], supervisor: MINE, designer: NONE, admin: ALL },
    write: { agent: NONE, supervisor: ['team'], designer: NONE, admin: ALL },
  },
} as const satisfies Record<string, Record<string, Rule>>;

export type CrmResource = keyof typeof CRM_POLICY;
export type CrmAction<R extends CrmResource> = keyof (typeof CRM_POLICY)[R] & string;

function ruleOf<R extends CrmResource>(resource: R, action: CrmAction<R>): Rule {
  return (CRM_POLICY[resource] as Record<string, Rule>)[action] as Rule;
}

const NOUN: Record<CrmResource, string> = {
  entity: 'entities',
  contact: 'contacts',
  case: 'cases',
  email: 'emails',
  attachment: 'attachments',
  segment: 'segments',
  campaign: 'campaigns',
  report: 'reports',
  import: 'imports',
  integration: 'integrations',
  exchangeRate: 'exchange rates',
  schema: 'schemas',
  quota: 'quotas',
};

/** Whether the caller's role may ever do `action` on `resource` (with some relation). */
export function roleMay<R extends CrmResource>(
  who: Pick<Principal, 'role'>,
  resource: R,
  action: CrmAction<R>,
): boolean {
  return ruleOf(resource, action)[who.role].length > 0;
}

/** Throws 403 when the caller's role may never do `action` on `resource`. */
export function permit<R extends CrmResource>(who: Principal, resource: R, action: CrmAction<R>): void {
  if (!roleMay(who, resource, action))
    throw new ForbiddenError(`A ${who.role} may not ${action} ${NOUN[resource]}`, { role: who.role });
}

/**
 * Throws for a record the caller stands to as `relation`: 404 (as `what` not found) when they may not read it,
 * 403 when they read it but may not do `action`. Call `permit` first (this assumes the role may act at all).
 */
export function permitRelation<R extends CrmResource>(
  who: Principal,
  resource: R,
  action: CrmAction<R>,
  relation: Relation,
  what: string,
): void {
  const read = (CRM_POLICY[resource] as Record<string, Rule>).read ?? ruleOf(resource, action);
  if (!read[who.role].includes(relation))
    throw new NotFoundError('not-found', 'Not found', `${what} was not found`);
  if (!ruleOf(resource, action)[who.role].includes(relation))
    throw new ForbiddenError(
      `A ${who.role} may not ${action} ${NOUN[resource]} of ${relationWords[relation]}`,
      {
        role: who.role,
        relation,
      },
    );
}

const relationWords: Record<Relation, string> = {
  own: 'their own',
  team: 'their teams',
  other: 'other teams',
};

/** The teams whose members' records count as the caller's team's: those they belong to and supervise. */
function teamsOf(who: Principal): string[] {
  return [...new Set([...who.teams, ...who.supervisedTeams])];
}

/**
 * SQL expression of the caller's relation (`'own' | 'team' | 'other'`) to the entity aliased `alias`.
 * Parameters are appended to `params`.
 */
export function entityRelationSql(who: Principal, params: unknown[], alias = 'e'): string {
  params.push(who.userId, teamsOf(who));
  const me = `$${params.length - 1}`;
  const teams = `$${params.length}`;
  return `CASE WHEN ${alias}.agent_id = ${me} THEN 'own'
    WHEN ${alias}.agent_id IS NULL OR EXISTS (SELECT 1 FROM team_members pm
      WHERE pm.user_id = ${alias}.agent_id AND pm.team_id = ANY(${teams}::text[])) THEN 'team'
    ELSE 'other' END`;
}

/**
 * Checks the caller may do `action` to entity `id` and answers its relation; 404 for an unknown entity. With
 * `lock`, the entity's row stays locked (FOR UPDATE) until the transaction `db` ends.
 */
export async function guardEntity(
  db: Queryable,
  who: Principal,
  id: string,
  action: CrmAction<'entity'>,
  options: { lock?: boolean } = {},
): Promise<Relation> {
  permit(who, 'entity', action);
  const params: unknown[] = [id];
  const relation = entityRelationSql(who, params);
  const [row] = await db.query<{ relation: Relation }>(
    `SELECT ${relation} AS relation FROM entities e WHERE e.id = $1${options.lock ? ' FOR UPDATE' : ''}`,
    params,
  );
  if (!row) throw new NotFoundError('not-found', 'Not found', `Entity ${id} was not found`);
  permitRelation(who, 'entity', action, row.relation, `Entity ${id}`);
  return row.relation;
}

/**
 * Checks the caller may do `action` to contact `id` (as they stand to its entity) and answers the entity's id;
 * 404 for an unknown contact. With `lock`, the contact's row stays locked until the transaction ends.
 */
export async function guardContact(
  db: Queryable,
  who: Principal,
  id: string,
  action: CrmAction<'contact'>,
  options: { lock?: boolean } = {},
): Promise<{ entityId: string; relation: Relation }> {
  permit(who, 'contact', action);
  const params: unknown[] = [id];
  const relation = entityRelationSql(who, params);
  const [row] = await db.query<{ entity_id: string; relation: Relation }>(
    `SELECT k.entity_id, ${relation} AS relation FROM contacts k JOIN entities e ON e.id = k.entity_id
     WHERE k.id = $1${options.lock ? ' FOR UPDATE OF k' : ''}`,
    params,
  );
  if (!row) throw new NotFoundError('not-found', 'Not found', `Contact ${id} was not found`);
  permitRelation(who, 'contact', action, row.relation, `Contact ${id}`);
  return { entityId: row.entity_id, relation: row.relation };
}

/**
 * Who may look after an entity the caller creates or reassigns: an active agent or supervisor (400 at
 * `pointer` otherwise: a designer or administrator does not work accounts); and, unless the caller is an
 * administrator, themselves or a member of a team they belong to or supervise (403 otherwise). An agent, who
 * may not reassign, may only name themselves.
 */
export async function checkEntityAgent(
  db: Queryable,
  who: Principal,
  agentId: string,
  pointer: string,
): Promise<void> {
  const [row] = await db.query<{ role: UserRole; active: boolean; near: boolean }>(
    `SELECT u.role, u.active, EXISTS (SELECT 1 FROM team_members m
       WHERE m.user_id = u.id AND m.team_id = ANY($2::text[])) AS near
     FROM users u WHERE u.id = $1`,
    [agentId, teamsOf(who)],
  );
  if (!row || !row.active)
    throw new InvalidInputError(`No active user ${agentId}`, [{ pointer, message: 'is not an active user' }]);
  if (row.role !== 'agent' && row.role !== 'supervisor')
    throw new InvalidInputError(`${agentId} is a ${row.role}, who does not look after accounts`, [
      { pointer, message: 'must be an agent or a supervisor' },
    ]);
  if (agentId === who.userId || who.role === 'admin') return;
  if (who.role === 'agent')
    throw new ForbiddenError('An agent may only give accounts to themselves; ask a supervisor to reassign', {
      role: who.role,
    });
  if (!row.near)
    throw new ForbiddenError(`${agentId} is not a member of a team you belong to or supervise`, {
      role: who.role,
    });
}

/**
 * Which team may be given a scheduled activity, as an entity is given to a person (checkEntityAgent): an
 * existing team (400 at `pointer` otherwise); an agent may only name a team they belong to (their own queue),
 * a supervisor one they belong to or supervise, an administrator any (403 otherwise).
 */
export async function checkActivityTeam(
  db: Queryable,
  who: Principal,
  teamId: string,
  pointer: string,
): Promise<void> {
  const [row] = await db.query<{ id: string }>('SELECT id FROM teams WHERE id = $1', [teamId]);
  if (!row) throw new InvalidInputError(`No team ${teamId}`, [{ pointer, message: 'is not a team' }]);
  if (who.role === 'admin') return;
  const near = who.role === 'agent' ? who.teams : teamsOf(who);
  if (!near.includes(teamId))
    throw new ForbiddenError(
      who.role === 'agent'
        ? `An agent may only give activities to a team they belong to; ${teamId} is not one`
        : `${teamId} is not a team you belong to or supervise`,
      { role: who.role },
    );
}

/**
 * Throws 403 unless the caller may mark a scheduled activity done: whoever may edit its entity (`relation`), or
 * whom it was given to (its person, a member of its team). Call `guardEntity(..., 'read')` first.
 */
export function permitActivityDone(
  who: Principal,
  relation: Relation,
  owner: { ownerId: string | null; ownerTeam: string | null },
): void {
  if (CRM_POLICY.entity.edit[who.role].includes(relation)) return;
  if (owner.ownerId === who.userId) return;
  if (owner.ownerTeam !== null && who.teams.includes(owner.ownerTeam)) return;
  permitRelation(who, 'entity', 'edit', relation, 'The entity');
}

/**
 * SQL predicate over `email_outbox o` LEFT JOIN `cases c` for the emails the caller may read: every one for
 * administrators; otherwise the emails of cases they may see, and scheduled emails (no case) addressed to them.
 */
export function visibleEmailSql(who: Principal, params: unknown[]): string {
  if (who.role === 'admin') return 'true';
  const cases = visibleCaseSql(who, params, 'c');
  params.push(JSON.stringify([{ address: who.email }]));
  return `((c.id IS NOT NULL AND ${cases}) OR (o.case_id IS NULL AND o.recipients->'to' @> $${params.length}::jsonb))`;
}

/** Whose target a quota is: an agent's (a user) or a team's. */
export type QuotaSubject = { kind: 'agent'; id: string } | { kind: 'team'; id: string };

/**
 * How the caller stands to a quota's subject: `own` for their own target; `team` for a member of a team they
 * supervise or a team they supervise; `other` otherwise (for an agent, a teammate's or their team's target).
 */
export function quotaRelation(who: Principal, subject: QuotaSubject): Relation {
  if (subject.kind === 'agent') {
    if (subject.id === who.userId) return 'own';
    return who.supervisedUsers.includes(subject.id) ? 'team' : 'other';
  }
  return who.supervisedTeams.includes(subject.id) ? 'team' : 'other';
}

/** Whether the caller may do `action` to the quotas of `subject`. */
export function mayQuota(who: Principal, action: CrmAction<'quota'>, subject: QuotaSubject): boolean {
  return ruleOf('quota', action)[who.role].includes(quotaRelation(who, subject));
}

/**
 * Throws 403 unless the caller may do `action` to the quotas of `subject`. Quotas are named by their subject,
 * not by an id of their own, so a subject the caller may not see is a 403 (as a report filter is), not a 404.
 */
export function permitQuota(who: Principal, action: CrmAction<'quota'>, subject: QuotaSubject): void {
  permit(who, 'quota', action);
  const relation = quotaRelation(who, subject);
  if (!mayQuota(who, action, subject))
    throw new ForbiddenError(
      `A ${who.role} may not ${action} the quotas of ${subject.kind === 'agent' ? 'agent' : 'team'} ${subject.id}`,
      { role: who.role, relation },
    );
}
