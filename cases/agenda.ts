/** The open tasks of a user's agenda, as the iCalendar feed (api/routes/calendar.ts) shows them. */
import type { Queryable } from '../db';

/** An open task with a due time, and the definition version of its case (which says whether it is dated). */
export type AgendaTask = {
  id: string;
  title: string;
  description: string | null;
  action: string;
  due_at: string;
  created_at: string;
  version: number;
  case_id: string;
  case_title: string;
  case_type: string;
  entity_name: string | null;
  definition_version: number;
  priority: string;
};

/** The user's open tasks due from `pastDays` ago on, by due time, at most `limit`. */
export function agendaTasks(
  db: Queryable,
  userId: string,
  pastDays: number,
  limit: number,
): Promise<AgendaTask[]> {
  return db.query<AgendaTask>(
    `SELECT t.id, t.title, t.description, t.action, t.due_at, t.created_at, t.version, t.case_id, t.case_title,
         t.case_type, t.entity_name, t.priority, c.definition_version
       FROM tasks t JOIN cases c ON c.id = t.case_id
       WHERE t.assignee = $1 AND t.status = 'open' AND t.due_at >= now() - make_interval(days => $2)
       ORDER BY t.due_at, t.id LIMIT $3`,
    [userId, pastDays, limit],
  );
}
