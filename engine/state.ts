import type { Priority, StatusCategory } from './types';

/** Roles a user holds. `system` is the engine itself (timers, escalations). */
export type Role = 'agent' | 'supervisor' | 'designer' | 'admin' | 'system';

/** Who performs an action, as the API resolved it from the bearer token. */
export interface Actor {
  userId: string;
  role: Role;
  /** Teams the user belongs to. */
  teams: string[];
  /** Teams the user supervises (supervisors only). */
  supervisedTeams?: string[];
  /** Members of the supervised teams. */
  supervisedUsers?: string[];
}

/** A suspension (on hold): when, by whom, why. */
export interface Hold {
  at: number;
  by: string;
  reason?: string;
}

export type TaskStatus = 'open' | 'completed' | 'cancelled';

export interface Comment {
  at: number;
  by: string;
  text: string;
}

export interface TaskState {
  id: string;
  /** The step that created the task; undefined for ad-hoc tasks added by a supervisor. */
  step?: string;
  /** The item of a multi-instance step this task is for (its position and value). */
  instance?: { index: number; item: unknown };
  tokenId?: string;
  action: string;
  title: string;
  description?: string;
  status: TaskStatus;
  assignee: string | null;
  candidateTeams: string[];
  candidateRoles: string[];
  /** Four eyes: users who may not claim, be given or complete this task. */
  excludedUsers?: string[];
  priority: Priority;
  dueAt: number | null;
  followUpAt: number | null;
  createdAt: number;
  claimedAt: number | null;
  completedAt: number | null;
  completedBy: string | null;
  outcome: string | null;
  formData: Record<string, unknown> | null;
  notes: string | null;
  /** Set while a delegated task awaits its delegate: the user it returns to. */
  delegatedBy: string | null;
  comments: Comment[];
  escalationLevel: number;
  /** On hold by itself (`POST /api/tasks/:id/suspend`): it cannot be claimed or completed, its timers pause. */
  suspended?: Hold;
  /** Since when the task is on hold, by itself or with its case; on release its due date moves by the time held. */
  heldSince?: number;
  /** Increases on every change; projections keep the highest. */
  version: number;
}

export interface Token {
  id: string;
  step: string;
  /** A multi-instance step's instance: its position in the list. */
  instance?: number;
  /** Parallel groups this token belongs to, innermost last. */
  groups: string[];
  taskId?: string;
  subcaseId?: string;
  /** Waiting for a service step's call. */
  service?: true;
}

/**
 * One split instance (a `parallel` step entered once): its join, how many tokens have arrived there, and the
 * groups the split itself was in. Semantics 2 fires the join when no token of the group is left anywhere
 * else; semantics 1 (cases started before it) counted `arrived` up to `expected`.
 */
export interface JoinState {
  step: string;
  expected: number;
  arrived: number;
  groups: string[];
  /** The parallel step that opened the group (semantics 2). */
  split?: string;
  /** A multi-instance step's group: its items, how many must complete, how many have been started. */
  multi?: { items: unknown[]; need: number; started: number; sequential: boolean };
  /**
   * A partial join (`complete` any or N): the arrivals that fire it and what happens to the branches still
   * running. `fired`: it has fired and absorbs the remaining arrivals until the group is empty (then resets);
   * `blocked`: it could fire but waits for an earlier instance of the same region to reset.
   */
  partial?: { need: number; rest: 'withdraw' | 'absorb'; fired?: true; blocked?: true };
}

export type TimerKind = 'wait' | 'escalation' | 'case' | 'email' | 'overdue' | 'before-due' | 'boundary';

export interface TimerState {
  id: string;
  kind: TimerKind;
  fireAt: number;
  tokenId?: string;
  taskId?: string;
  index?: number;
  ruleId?: string;
  eventKey?: string;
  /** The status the timer is bound to (case timers, delayed emails sent only if still there). */
  status?: string;
  /** Delayed emails: the case's status right after the triggering event, which the email renders. */
  eventStatus?: string;
  /** Paused while its case or task is on hold: the time that was left; `fireAt` is set again on release. */
  pausedLeft?: number;
}

export interface EntitySnapshot {
  id: string;
  name: string;
  agentId?: string | null;
}

export interface CaseState {
  caseId: string;
  caseType: string;
  definitionVersion: number;
  parentCaseId: string | null;
  title: string;
  status: string;
  statusCategory: StatusCategory;
  statusEnteredAt: number;
  data: Record<string, unknown>;
  lines: Record<string, unknown>[];
  entity: EntitySnapshot | null;
  ownerId: string | null;
  createdAt: number;
  tokens: Token[];
  joins: Record<string, JoinState>;
  tasks: Record<string, TaskState>;
  timers: TimerState[];
  visits: Record<string, number>;
  /** Counter for ids of tasks, tokens, timers and groups. */
  seq: number;
  /** Number of timeline entries written so far; the next entry gets `timelineSeq + 1`. */
  timelineSeq: number;
  version: number;
  ended: boolean;
  endedAt: number | null;
  /**
   * The token semantics the case runs under (definitions/README.md#how-a-case-runs). Absent: 1, the rules
   * cases started before semantics 2 keep, so that no running case changes behaviour.
   */
  semantics?: 2;
  /** Messages that arrived before a step caught them, kept because their definition says `buffer`. */
  pendingMessages?: { name: string; payload: Record<string, unknown>; at: number }[];
  /** On hold (`POST /api/cases/:id/suspend`): its tasks cannot be claimed or completed, its timers pause. */
  suspended?: Hold;
  /** Messages that arrived while the case was on hold, delivered in order when it resumes. */
  heldMessages?: { name: string; payload: Record<string, unknown>; at: number }[];
  /** Something is or was on hold and not yet released (the case, a task, a paused timer). */
  onHold?: true;
}

export interface TimelineEntry {
  seq: number;
  at: number;
  kind: string;
  actor: string;
  taskId?: string;
  detail: Record<string, unknown>;
}

export interface EmailCommand {
  kind: 'email';
  ruleId: string;
  /** Identifies the triggering event within the case: with the case id and rule id, the idempotency key. */
  eventKey: string;
  template: string;
  to: string[];
  cc: string[];
  bcc: string[];
  taskId?: string;
  /**
   * The case's status right after the triggering event (for `statusEntered`, the status entered): the email
   * renders it, not the status at send time. Absent on commands from before it was recorded.
   */
  status?: string;
  marketing?: boolean;
  bypassOptOut?: boolean;
  attachInvite?: boolean;
}

export type Command =
  | EmailCommand
  | {
      kind: 'resolveAssignee';
      taskId: string;
      team: string;
      strategy: 'round-robin' | 'least-busy' | 'supervisor';
    }
  | {
      kind: 'callService';
      tokenId: string;
      step: string;
      method: string;
      url: string;
      secretHeaders: Record<string, string>;
      body: unknown;
      /** Stable for this call of the step: the server can deduplicate retries. */
      idempotencyKey: string;
      maximumAttempts: number;
      /** Milliseconds before the first retry (doubling after). */
      initialIntervalMs: number;
    }
  | {
      kind: 'startSubcase';
      tokenId: string;
      childCaseId: string;
      caseType: string;
      data: Record<string, unknown>;
      wait: boolean;
    };

export interface StartInput {
  caseId: string;
  caseType: string;
  definitionVersion: number;
  data?: Record<string, unknown>;
  lines?: Record<string, unknown>[];
  entity?: EntitySnapshot | null;
  ownerId?: string | null;
  title?: string;
  parentCaseId?: string | null;
  actor?: string;
  /** 1 only for a case whose history began before semantics 2 (the workflow's `patched` marker says). */
  semantics?: 1 | 2;
}

export type CaseEvent =
  | { type: 'claim'; taskId: string; actor: Actor }
  | { type: 'unclaim'; taskId: string; actor: Actor }
  | { type: 'assign'; taskId: string; assignee: string; actor: Actor }
  | { type: 'delegate'; taskId: string; to: string; actor: Actor }
  | { type: 'resolve'; taskId: string; actor: Actor }
  | {
      type: 'complete';
      taskId: string;
      outcome: string;
      data?: Record<string, unknown>;
      notes?: string;
      actor: Actor;
    }
  | { type: 'comment'; taskId: string; text: string; actor: Actor }
  | {
      type: 'reschedule';
      taskId: string;
      dueAt?: number | null;
      followUpAt?: number | null;
      priority?: Priority;
      actor: Actor;
    }
  | { type: 'editClosed'; taskId: string; data?: Record<string, unknown>; notes?: string; actor: Actor }
  | { type: 'setStatus'; status: string; actor: Actor }
  | { type: 'updateData'; data: Record<string, unknown>; lines?: Record<string, unknown>[]; actor: Actor }
  | {
      type: 'addTask';
      title: string;
      action: string;
      assignee?: string;
      team?: string;
      dueAt?: number;
      priority?: Priority;
      description?: string;
      actor: Actor;
    }
  | { type: 'cancel'; reason: string; actor: Actor }
  | { type: 'cancelTask'; taskId: string; reason: string; actor: Actor }
  | { type: 'suspend'; reason?: string; actor: Actor }
  | { type: 'resume'; actor: Actor }
  | { type: 'suspendTask'; taskId: string; reason?: string; actor: Actor }
  | { type: 'resumeTask'; taskId: string; actor: Actor }
  | { type: 'message'; name: string; payload?: Record<string, unknown>; actor: Actor }
  /**
   * The case's entity was merged into another (crm/merge.ts): the case now belongs to `entity`. Also applied
   * to an ended case whose workflow still runs (delayed emails); a case already on `entity` changes nothing.
   */
  | { type: 'relinkEntity'; entity: EntitySnapshot; from: string | null; actor: Actor }
  | { type: 'timerFired'; timerId: string }
  | { type: 'subcaseEnded'; tokenId: string; status: string; category: StatusCategory }
  /** The child's type refused the sub-case's data (as `POST /api/cases` would): no child was started. */
  | {
      type: 'subcaseRefused';
      tokenId: string;
      childCaseId: string;
      caseType: string;
      errors: { pointer: string; message: string }[];
    }
  | { type: 'assigneeResolved'; taskId: string; assignee: string | null }
  /** The task's assignee or candidate teams are not in the directory (`user:<id>`, `team:<id>`). */
  | { type: 'assignmentUnavailable'; taskId: string; missing: string[] }
  | {
      type: 'serviceDone';
      tokenId: string;
      ok: boolean;
      status: number | null;
      response: unknown;
      error?: string;
    };

export type ActorEvent = Extract<CaseEvent, { actor: Actor }>;

export interface StepResult {
  state: CaseState;
  commands: Command[];
  timeline: TimelineEntry[];
  /** Ids of tasks created or changed by the event. */
  changedTasks: string[];
}
