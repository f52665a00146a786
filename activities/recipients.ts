import type { Queryable } from '../db';
import { emailAddressProblem } from '../lib/email-address';

/** One person an email goes to. */
export interface Recipient {
  address: string;
  name: string;
  locale: string;
}

export interface ResolvedRecipients {
  to: Recipient[];
  cc: Recipient[];
  bcc: Recipient[];
  /** References that resolved to nobody, invalid addresses and opted-out addresses, with the reason. */
  skipped: string[];
  /** Addresses left out because they opted out (also listed in `skipped`). */
  optedOut: string[];
}

export interface RecipientRefs {
  to: string[];
  cc: string[];
  bcc: string[];
}

export interface RecipientScope {
  /** Null for emails that belong to no case (digests). */
  caseId: string | null;
  taskId?: string | undefined;
}

export interface ResolveOptions {
  /** Leave out addresses on the opt-out list (marketing emails always; service emails unless they bypass). */
  respectOptOuts: boolean;
}

type PersonRow = { name: string; email: string | null; locale: string | null };
type TaskRow = { assignee: string | null; candidate_teams: string[]; candidate_roles: string[] };

const UNDEFINED_TABLE = '42P01';

/** Looks things up once per resolution: several references often need the same task or case row. */
class Lookup {
  private taskRow?: Promise<TaskRow | undefined>;
  private caseRow?: Promise<{ owner_id: string | null; entity_id: string | null } | undefined>;

  constructor(
    readonly db: Queryable,
    readonly scope: RecipientScope,
  ) {}

  task(): Promise<TaskRow | undefined> {
    const { taskId } = this.scope;
    this.taskRow ??=
      taskId === undefined
        ? Promise.resolve(undefined)
        : this.db
            .query<TaskRow>('SELECT assignee, candidate_teams, candidate_roles FROM tasks WHERE id = $1', [
              taskId,
            ])
            .then((rows) => rows[0]);
    return this.taskRow;
  }

  case(): Promise<{ owner_id: string | null; entity_id: string | null } | undefined> {
    const { caseId } = this.scope;
    this.caseRow ??=
      caseId === null
        ? Promise.resolve(undefined)
        : this.db
            .query<{ owner_id: string | null; entity_id: string | null }>(
              `SELECT COALESCE(c.owner_id, e.agent_id) AS owner_id, c.entity_id
               FROM cases c LEFT JOIN entities e ON e.id = c.entity_id WHERE c.id = $1`,
              [caseId],
            )
            .then((rows) => rows[0]);
    return this.caseRow;
  }

  users(ids: string[]): Promise<PersonRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.query<PersonRow>(
      'SELECT name, email, locale FROM users WHERE id = ANY($1) AND active ORDER BY array_position($1, id)',
      [ids],
    );
  }

  /** Teams whose supervisor a case or task email means: the task's teams and its assignee's, else the case's. */
  async supervisedTeams(): Promise<string[]> {
    const task = await this.task();
    if (task) {
      const rows = await this.db.query<{ team_id: string }>(
        `SELECT unnest($1::text[]) AS team_id UNION SELECT team_id FROM team_members WHERE user_id = $2`,
        [task.candidate_teams, task.assignee],
      );
      if (rows.length > 0) return rows.map((r) => r.team_id);
    }
    if (this.scope.caseId === null) return [];
    const rows = await this.db.query<{ team_id: string }>(
      `SELECT DISTINCT unnest(candidate_teams) AS team_id FROM tasks WHERE case_id = $1
       UNION SELECT tm.team_id FROM team_members tm JOIN tasks t ON t.assignee = tm.user_id WHERE t.case_id = $1
       UNION SELECT tm.team_id FROM team_members tm JOIN cases c ON c.owner_id = tm.user_id WHERE c.id = $1`,
      [this.scope.caseId],
    );
    return rows.map((r) => r.team_id);
  }

  /** The entity's contacts (table `contacts` of the CRM core); none when that table does not exist yet. */
  async contacts(filter: { primary?: boolean; role?: string }): Promise<PersonRow[]> {
    const entityId = (await this.case())?.entity_id;
    if (!entityId) return [];
    try {
      return await this.db.query<PersonRow>(
        `SELECT name, email, locale FROM contacts
         WHERE entity_id = $1 AND email IS NOT NULL AND email <> ''
           AND ($2::boolean IS NULL OR is_primary = $2) AND ($3::text IS NULL OR $3 = ANY(roles))
         ORDER BY is_primary DESC, name, id`,
        [entityId, filter.primary ?? null, filter.role ?? null],
      );
    } catch (err) {
      if ((err as { code?: string }).code === UNDEFINED_TABLE) return [];
      throw err;
    }
  }
}

const people = (rows: PersonRow[]): Recipient[] =>
  rows.flatMap((r) => (r.email ? [{ address: r.email.trim(), name: r.name, locale: r.locale || 'en' }] : []));

/** Resolves one recipient reference (see definitions/README.md#recipients) to people. */
async function resolveOne(lookup: Lookup, ref: string): Promise<Recipient[]> {
  if (ref.startsWith('user:')) return people(await lookup.users([ref.slice(5)]));
  if (ref.startsWith('contact:role:'))
    return people(await lookup.contacts({ role: ref.slice('contact:role:'.length) }));
  if (ref.includes('@')) return [{ address: ref.trim(), name: '', locale: 'en' }];
  switch (ref) {
    case 'owner': {
      const owner = (await lookup.case())?.owner_id;
      return people(await lookup.users(owner ? [owner] : []));
    }
    case 'assignee': {
      const assignee = (await lookup.task())?.assignee;
      return people(await lookup.users(assignee ? [assignee] : []));
    }
    case 'candidates': {
      const task = await lookup.task();
      if (!task) return [];
      return people(
        await lookup.db.query<PersonRow>(
          `SELECT DISTINCT u.id, u.name, u.email, u.locale FROM users u
           LEFT JOIN team_members tm ON tm.user_id = u.id
           WHERE u.active AND (tm.team_id = ANY($1) OR u.role = ANY($2)) ORDER BY u.id`,
          [task.candidate_teams, task.candidate_roles],
        ),
      );
    }
    case 'supervisor': {
      const teams = await lookup.supervisedTeams();
      if (teams.length === 0) return [];
      return people(
        await lookup.db.query<PersonRow>(
          `SELECT DISTINCT u.id, u.name, u.email, u.locale FROM users u JOIN teams t ON t.supervisor_id = u.id
           WHERE t.id = ANY($1) AND u.active ORDER BY u.id`,
          [teams],
        ),
      );
    }
    case 'contact:primary':
      return people(await lookup.contacts({ primary: true }));
    case 'contact:all':
      return people(await lookup.contacts({}));
    default:
      return [];
  }
}

/** Addresses (lower-cased) among `addresses` that are on the opt-out list. */
export async function optedOutAddresses(db: Queryable, addresses: string[]): Promise<Set<string>> {
  if (addresses.length === 0) return new Set();
  const rows = await db.query<{ address: string }>(
    'SELECT address FROM email_opt_outs WHERE address = ANY($1)',
    [addresses.map((a) => a.toLowerCase())],
  );
  return new Set(rows.map((r) => r.address));
}

/**
 * Resolves to/cc/bcc references, validates every address (RFC 3696), removes duplicates (to wins over cc
 * over bcc, compared case-insensitively) and, when asked, leaves out opted-out addresses.
 */
export async function resolveRecipients(
  db: Queryable,
  refs: RecipientRefs,
  scope: RecipientScope,
  options: ResolveOptions,
): Promise<ResolvedRecipients> {
  const lookup = new Lookup(db, scope);
  const skipped: string[] = [];
  const seen = new Set<string>();
  const lists: Record<keyof RecipientRefs, Recipient[]> = { to: [], cc: [], bcc: [] };
  for (const field of ['to', 'cc', 'bcc'] as const) {
    for (const ref of refs[field]) {
      const found = await resolveOne(lookup, ref);
      if (found.length === 0) skipped.push(`${ref}: nobody`);
      for (const person of found) {
        const problem = emailAddressProblem(person.address);
        if (problem !== null) {
          skipped.push(`${person.address}: invalid (${problem})`);
          continue;
        }
        const key = person.address.toLowerCase();
        if (seen.has(key)) continue;
        seen.add(key);
        lists[field].push(person);
      }
    }
  }
  const optedOut: string[] = [];
  if (options.respectOptOuts) {
    const out = await optedOutAddresses(db, [...seen]);
    for (const field of ['to', 'cc', 'bcc'] as const) {
      lists[field] = lists[field].filter((r) => {
        if (!out.has(r.address.toLowerCase())) return true;
        optedOut.push(r.address);
        skipped.push(`${r.address}: opted out`);
        return false;
      });
    }
  }
  return { ...lists, skipped, optedOut };
}
