import type { Queryable } from '../db';

/** A person a task can be handed to, as the delegate picker shows them. */
export type Delegate = {
  id: string;
  name: string;
  email: string;
};

export interface DelegateSearch {
  /** The person delegating; never listed. */
  userId: string;
  /** Teams the person belongs to or supervises; null: every team (administrators). */
  teamIds: string[] | null;
  /** Matched against the name and the email, case-insensitively, anywhere in them. */
  text?: string;
  limit: number;
}

/** Escapes LIKE's wildcards so the search text matches literally. */
const likeLiteral = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * The people `userId` may hand a task to: active agents and supervisors who are members or the supervisor
 * of a team the person belongs to or supervises (with `teamIds` null, of any team), by name. At most `limit`;
 * `more` says whether others matched.
 */
export async function searchDelegates(
  db: Queryable,
  search: DelegateSearch,
): Promise<{ items: Delegate[]; more: boolean }> {
  const rows = await db.query<Delegate>(
    `SELECT u.id, u.name, u.email FROM users u
     WHERE u.active AND u.role IN ('agent', 'supervisor') AND u.id <> $1
       AND ($2::text[] IS NULL
         OR EXISTS (SELECT 1 FROM team_members m WHERE m.user_id = u.id AND m.team_id = ANY($2::text[]))
         OR EXISTS (SELECT 1 FROM teams t WHERE t.supervisor_id = u.id AND t.id = ANY($2::text[])))
       AND ($3::text IS NULL OR u.name ILIKE $3 OR u.email ILIKE $3)
     ORDER BY lower(u.name), u.id LIMIT $4`,
    [
      search.userId,
      search.teamIds,
      search.text === undefined || search.text.trim() === '' ? null : likeLiteral(search.text.trim()),
      search.limit + 1,
    ],
  );
  return { items: rows.slice(0, search.limit), more: rows.length > search.limit };
}
