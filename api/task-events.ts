import type { Db } from '../db';
import { PgListener } from '../db/listener';
import { logger } from '../lib/logger';
import type { Caller } from './auth';

/** What the `task_changed` notification says about a task (migration 010, notify_task_changed). */
export interface TaskChange {
  id: string;
  status?: string;
  assignee?: string | null;
  previousAssignee?: string | null;
  delegatedBy?: string | null;
  completedBy?: string | null;
  candidateTeams?: string[];
  candidateRoles?: string[];
  truncated?: boolean;
}

/** A change, or `reset` when notifications may have been lost (the listener reconnected): refetch. */
export type HubMessage = { kind: 'change'; change: TaskChange } | { kind: 'reset' };

const CHANNEL = 'task_changed';

/** Whether a change may alter what the caller's inbox shows (the visibility rule of access.ts). */
export function concerns(caller: Caller, c: TaskChange): boolean {
  if (caller.role === 'admin') return true;
  const me = caller.userId;
  if (c.assignee === me || c.previousAssignee === me || c.delegatedBy === me || c.completedBy === me)
    return true;
  const teams = c.candidateTeams ?? [];
  if (teams.some((t) => caller.teams.includes(t) || caller.supervisedTeams.includes(t))) return true;
  if ((c.candidateRoles ?? []).includes(caller.role)) return true;
  return [c.assignee, c.previousAssignee].some(
    (u) => typeof u === 'string' && caller.supervisedUsers.includes(u),
  );
}

/**
 * One LISTEN connection per API process, fanned out to the open inbox streams. The connection is taken
 * from the pool when the first stream opens and given back when the last one closes, so an idle API
 * (and its shutdown) holds no extra connection.
 */
export class TaskEventHub {
  private readonly listener: PgListener;
  private readonly subscribers = new Set<(message: HubMessage) => void>();

  constructor(private readonly db: Db) {
    this.listener = new PgListener(db, CHANNEL, {
      notify: (payload) => void this.dispatch(payload),
      lost: (err) => {
        logger.warn({ err }, 'task change listener lost its connection; reconnecting');
        this.broadcast({ kind: 'reset' });
      },
      restored: () => this.broadcast({ kind: 'reset' }),
    });
  }

  /** Registers a listener; resolves once notifications flow. Returns the unsubscribe function. */
  async subscribe(listener: (message: HubMessage) => void): Promise<() => void> {
    this.subscribers.add(listener);
    const unsubscribe = () => {
      this.subscribers.delete(listener);
      if (this.subscribers.size === 0) void this.listener.stop();
    };
    try {
      await this.listener.start();
    } catch (err) {
      unsubscribe();
      throw err;
    }
    return unsubscribe;
  }

  get size(): number {
    return this.subscribers.size;
  }

  private async dispatch(payload: string): Promise<void> {
    if (!payload) return;
    let change: TaskChange;
    try {
      change = JSON.parse(payload) as TaskChange;
      if (change.truncated) change = await this.lookup(change.id);
    } catch (err) {
      logger.warn({ err }, 'unreadable task change notification');
      return;
    }
    this.broadcast({ kind: 'change', change });
  }

  /** The fields a truncated notification left out, from the read model. */
  private async lookup(id: string): Promise<TaskChange> {
    const [row] = await this.db.query<{
      status: string;
      assignee: string | null;
      delegated_by: string | null;
      completed_by: string | null;
      candidate_teams: string[];
      candidate_roles: string[];
    }>(
      'SELECT status, assignee, delegated_by, completed_by, candidate_teams, candidate_roles FROM tasks WHERE id = $1',
      [id],
    );
    if (!row) return { id };
    return {
      id,
      status: row.status,
      assignee: row.assignee,
      delegatedBy: row.delegated_by,
      completedBy: row.completed_by,
      candidateTeams: row.candidate_teams,
      candidateRoles: row.candidate_roles,
    };
  }

  private broadcast(message: HubMessage): void {
    for (const listener of this.subscribers) {
      try {
        listener(message);
      } catch (err) {
        logger.warn({ err }, 'inbox stream listener failed');
      }
    }
  }
}
