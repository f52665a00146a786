import type { Queryable } from '../db';
import { isValidEmailAddress } from '../lib/email-address';

export interface Recipient {
  address: string;
  name: string;
  locale: string;
}

export interface ResolvedRecipients {
  to: Recipient[];
  cc: Recipient[];
  bcc: Recipient[];
  /** Addresses or references that resolved to nobody, or were invalid. */
  skipped: string[];
}

interface Scope {
  caseId: string;
  taskId?: string;
}

type UserRow = { name: string; email: string; locale: string };

async function usersByIds(db: Queryable, ids: string[]): Promise<UserRow[]> {
  if (ids.length === 0) return [];
  return db.query<UserRow>('SELECT name, email, locale FROM users WHERE id = ANY($1) AND active', [ids]);
}

/** Resolves one recipient reference (see definitions/README.md#recipients) to people. */
async function resolveOne(db: Queryable, ref: string, scope: Scope): Promise<Recipient[]> {
  const toRecipients = (rows: UserRow[]): Recipient[] =>
    rows.map((r) => ({ address: r.email, name: r.name, locale: r.locale }));
  const task = async () =>
    scope.taskId === undefined
      ? undefined
      : (
          await db.query<{ assignee: string | null; candidate_teams: string[] }>(
            'SELECT assignee, candidate_teams FROM tasks WHERE id = $1',
            [scope.taskId],
          )
        )[0];
  const caseTeams = async (): Promise<string[]> => {
    const t = await task();
    if (t && t.candidate_teams.length > 0) return t.candidate_teams;
    const rows = await db.query<{ team_id: string }>(
      `SELECT DISTINCT unnest(candidate_teams) AS team_id FROM tasks WHERE case_id = $1
       UNION SELECT tm.team_id FROM team_members tm JOIN cases c ON c.owner_id = tm.user_id WHERE c.id = $1`,
      [scope.caseId],
    );
    return rows.map((r) => r.team_id);
  };
  if (ref.includes('@') && !ref.startsWith('user:')) return [{ address: ref, name: ref, locale: 'en' }];
  if (ref.startsWith('user:')) return toRecipients(await usersByIds(db, [ref.slice(5)]));
  switch (ref) {
    case 'owner': {
      const rows = await db.query<{ owner_id: string | null }>('SELECT owner_id FROM cases WHERE id = $1', [
        scope.caseId,
      ]);
      return toRecipients(
        await usersByIds(
          db,
          rows.flatMap((r) => (r.owner_id ? [r.owner_id] : [])),
        ),
      );
    }
    case 'assignee': {
      const t = await task();
      return toRecipients(await usersByIds(db, t?.assignee ? [t.assignee] : []));
    }
    case 'candidates': {
      const t = await task();
      if (!t) return [];
      return toRecipients(
        await db.query<UserRow>(
          `SELECT DISTINCT u.name, u.email, u.locale FROM users u JOIN team_members tm ON tm.user_id = u.id
           WHERE tm.team_id = ANY($1) AND u.active`,
          [t.candidate_teams],
        ),
      );
    }
    case 'supervisor': {
      const teams = await caseTeams();
      return toRecipients(
        await db.query<UserRow>(
          `SELECT DISTINCT u.name, u.email, u.locale FROM users u JOIN teams t ON t.supervisor_id = u.id
           WHERE t.id = ANY($1) AND u.active`,
          [teams],
        ),
      );
    }
    default:
      return [];
  }
}

async function resolveList(
  db: Queryable,
  refs: string[],
  scope: Scope,
  skipped: string[],
): Promise<Recipient[]> {
  const out: Recipient[] = [];
  for (const ref of refs) {
    const people = await resolveOne(db, ref, scope);
    if (people.length === 0) skipped.push(ref);
    for (const person of people) {
      if (isValidEmailAddress(person.address)) out.push(person);
      else skipped.push(person.address);
    }
  }
  return out;
}

/** Resolves to/cc/bcc references, validates every address and removes duplicates (to wins over cc over bcc). */
export async function resolveRecipients(
  db: Queryable,
  refs: { to: string[]; cc: string[]; bcc: string[] },
  scope: Scope,
): Promise<ResolvedRecipients> {
  const skipped: string[] = [];
  const seen = new Set<string>();
  const unique = (list: Recipient[]): Recipient[] =>
    list.filter((r) => {
      const key = r.address.toLowerCase();
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  const to = unique(await resolveList(db, refs.to, scope, skipped));
  const cc = unique(await resolveList(db, refs.cc, scope, skipped));
  const bcc = unique(await resolveList(db, refs.bcc, scope, skipped));
  return { to, cc, bcc, skipped };
}
