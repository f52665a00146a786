import type { Queryable } from './index';

/** Every user (id, active) and team id: what assignments in definitions may name. */
export async function readDirectory(
  db: Queryable,
): Promise<{ users: { id: string; active: boolean }[]; teams: string[] }> {
  const users = await db.query<{ id: string; active: boolean }>('SELECT id, active FROM users ORDER BY id');
  const teams = await db.query<{ id: string }>('SELECT id FROM teams ORDER BY id');
  return { users, teams: teams.map((t) => t.id) };
}

/** Of the given ids, the users that do not exist or are deactivated, and the teams that do not exist. */
export async function missingFromDirectory(
  db: Queryable,
  users: string[],
  teams: string[],
): Promise<{ users: string[]; teams: string[] }> {
  const [row] = await db.query<{ users: string[]; teams: string[] }>(
    `SELECT
       ARRAY(SELECT u FROM unnest($1::text[]) u WHERE NOT EXISTS (SELECT 1 FROM users WHERE id = u AND active)) AS users,
       ARRAY(SELECT t FROM unnest($2::text[]) t WHERE NOT EXISTS (SELECT 1 FROM teams WHERE id = t)) AS teams`,
    [users, teams],
  );
  return { users: row?.users ?? [], teams: row?.teams ?? [] };
}
