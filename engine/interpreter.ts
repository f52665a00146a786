import { evaluateCondition } from './conditions';
import { addDuration } from './duration';
import { DefinitionRuntimeError, type Rejection } from './errors';
import { getPath, renderText, setPath } from './paths';
import type {
  ActorEvent,
  CaseEvent,
  CaseState,
  Command,
  StartInput,
  StepResult,
  TaskState,
  TimelineEntry,
  TimerState,
  Token,
  Actor,
} from './state';
import type {
  Assignment,
  CaseTypeDefinition,
  DateSpec,
  EmailAction,
  EmailRule,
  EmailTrigger,
  HumanStep,
  Priority,
  Step,
  Transition,
  Transitions,
} from './types';

/** Upper bound on steps entered while handling one event: an automatic loop without a wait is a definition bug. */
const MAX_STEPS_PER_EVENT = 1000;

interface Ctx {
  def: CaseTypeDefinition;
  state: CaseState;
  now: number;
  actor: string;
  commands: Command[];
  timeline: TimelineEntry[];
  changed: Set<string>;
  entered: number;
}

function assertUnreachable(value: never): never {
  throw new DefinitionRuntimeError(`Unhandled variant: ${JSON.stringify(value)}`);
}

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function nextId(ctx: Ctx, prefix: string): string {
  ctx.state.seq += 1;
  return `${prefix}${ctx.state.seq}`;
}

function record(ctx: Ctx, kind: string, detail: Record<string, unknown>, taskId?: string): number {
  ctx.state.timelineSeq += 1;
  const entry: TimelineEntry = { seq: ctx.state.timelineSeq, at: ctx.now, kind, actor: ctx.actor, detail };
  if (taskId !== undefined) entry.taskId = taskId;
  ctx.timeline.push(entry);
  return entry.seq;
}

function touch(ctx: Ctx, task: TaskState): void {
  task.version += 1;
  ctx.changed.add(task.id);
}

/** The context conditions and templates see. */
export function evalContext(state: CaseState, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    data: state.data,
    lines: state.lines,
    status: state.status,
    entity: state.entity,
    case: { id: state.caseId, title: state.title, type: state.caseType },
    ...extra,
  };
}

function statusDef(def: CaseTypeDefinition, code: string) {
  return def.statuses.find((s) => s.code === code);
}

/** Resolves a date spec to epoch ms; null when it refers to an empty or invalid field. */
export function resolveDate(spec: DateSpec | undefined, state: CaseState, now: number): number | null {
  if (spec === undefined) return null;
  if (typeof spec === 'string') return addDuration(now, spec);
  const raw = getPath(evalContext(state), spec.field);
  if (typeof raw !== 'string' && typeof raw !== 'number') return null;
  const base = new Date(raw).getTime();
  if (Number.isNaN(base)) return null;
  return spec.offset ? addDuration(base, spec.offset) : base;
}

function pickTransition(
  transitions: Transitions | undefined,
  context: Record<string, unknown>,
): Transition | undefined {
  if (transitions === undefined) return undefined;
  const list = Array.isArray(transitions) ? transitions : [transitions];
  return list.find((t) => evaluateCondition(t.if, context));
}

// ---------------------------------------------------------------------------------------------
// Email rules

function matchesTrigger(on: EmailTrigger, event: EmailTrigger): boolean {
  const [kind] = Object.keys(on) as (keyof EmailTrigger)[];
  const [eventKind] = Object.keys(event) as (keyof EmailTrigger)[];
  if (kind !== eventKind || kind === undefined) return false;
  const want = (on as Record<string, unknown>)[kind];
  const got = (event as Record<string, unknown>)[kind];
  return want === '*' || want === got || kind === 'caseEnded';
}

function emailCommand(
  ruleId: string,
  eventKey: string,
  action: EmailAction,
  rule?: EmailRule,
  taskId?: string,
): Command {
  const command: Command = {
    kind: 'email',
    ruleId,
    eventKey,
    template: action.template,
    to: action.to,
    cc: action.cc ?? [],
    bcc: action.bcc ?? [],
  };
  if (taskId !== undefined) command.taskId = taskId;
  if (rule?.marketing) command.marketing = true;
  if (rule?.bypassOptOut) command.bypassOptOut = true;
  if (rule?.attachInvite) command.attachInvite = true;
  return command;
}

function fireRules(ctx: Ctx, event: EmailTrigger, eventSeq: number, taskId?: string): void {
  for (const rule of ctx.def.emailRules ?? []) {
    if ('beforeDue' in rule.on || !matchesTrigger(rule.on, event)) continue;
    const eventKey = String(eventSeq);
    if (rule.delay) {
      const timer: TimerState = {
        id: nextId(ctx, 'timer-'),
        kind: 'email',
        fireAt: addDuration(ctx.now, rule.delay),
        ruleId: rule.id,
        eventKey,
      };
      if (rule.ifStillInStatus) timer.status = ctx.state.status;
      if (taskId !== undefined) timer.taskId = taskId;
      ctx.state.timers.push(timer);
    } else {
      ctx.commands.push(emailCommand(rule.id, eventKey, rule, rule, taskId));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Statuses and the end of a case

function setStatus(ctx: Ctx, code: string): void {
  const { state, def } = ctx;
  if (state.status === code) return;
  const target = statusDef(def, code);
  if (!target) throw new DefinitionRuntimeError(`Unknown status "${code}"`);
  const previous = state.status;
  const seq = record(ctx, 'status.changed', { from: previous, to: code });
  // Timers bound to the status we leave are void: case timers and "if still there" emails.
  state.timers = state.timers.filter(
    (t) => !(t.status === previous && (t.kind === 'case' || t.kind === 'email')),
  );
  state.status = code;
  state.statusCategory = target.category;
  state.statusEnteredAt = ctx.now;
  for (const timer of def.timers ?? []) {
    if (timer.inStatus !== code) continue;
    state.timers.push({
      id: nextId(ctx, 'timer-'),
      kind: 'case',
      fireAt: addDuration(ctx.now, timer.after),
      ruleId: timer.id,
      status: code,
    });
  }
  // Status-left rules fire once the case is in its new status: a delayed "if still there" email is bound to it.
  fireRules(ctx, { statusLeft: previous }, seq);
  fireRules(ctx, { statusEntered: code }, seq);
}

function endCase(ctx: Ctx, reason: string): void {
  const { state } = ctx;
  if (state.ended) return;
  for (const task of Object.values(state.tasks)) {
    if (task.status !== 'open') continue;
    task.status = 'cancelled';
    touch(ctx, task);
    record(ctx, 'task.cancelled', { reason: 'case ended' }, task.id);
  }
  state.tokens = [];
  state.joins = {};
  // Only delayed emails outlive the case; waits, escalations and case timers die with it.
  state.timers = state.timers.filter((t) => t.kind === 'email' && t.status === undefined);
  state.ended = true;
  state.endedAt = ctx.now;
  const seq = record(ctx, 'case.ended', { reason, status: state.status });
  fireRules(ctx, { caseEnded: true }, seq);
}

// ---------------------------------------------------------------------------------------------
// Tokens and steps

function removeToken(ctx: Ctx, tokenId: string): void {
  ctx.state.tokens = ctx.state.tokens.filter((t) => t.id !== tokenId);
}

function applyTransition(
  ctx: Ctx,
  token: Token | undefined,
  transition: Transition | undefined,
  reason: string,
): void {
  if (token) removeToken(ctx, token.id);
  if (!transition) {
    finishIfIdle(ctx);
    return;
  }
  for (const [path, value] of Object.entries(transition.set ?? {})) {
    ctx.state.data = setPath(ctx.state.data, path, value);
    record(ctx, 'field.set', { path, value });
  }
  if (transition.status) setStatus(ctx, transition.status);
  if (transition.end) {
    endCase(ctx, reason);
    return;
  }
  const next =
    transition.next === undefined ? [] : Array.isArray(transition.next) ? transition.next : [transition.next];
  for (const stepId of next) enterStep(ctx, stepId, token?.groups ?? []);
  finishIfIdle(ctx);
}

/** A case with no token left and no open task has nothing more to do: it ends. */
function finishIfIdle(ctx: Ctx): void {
  const { state } = ctx;
  if (state.ended || state.tokens.length > 0) return;
  if (Object.values(state.tasks).some((t) => t.status === 'open')) return;
  endCase(ctx, 'no more work');
}

function enterStep(ctx: Ctx, stepId: string, groups: string[]): void {
  if (ctx.state.ended) return;
  ctx.entered += 1;
  if (ctx.entered > MAX_STEPS_PER_EVENT) {
    throw new DefinitionRuntimeError(
      `More than ${MAX_STEPS_PER_EVENT} steps entered for one event: loop without a wait at "${stepId}"`,
    );
  }
  const step: Step | undefined = ctx.def.steps[stepId];
  if (!step) throw new DefinitionRuntimeError(`Unknown step "${stepId}"`);
  ctx.state.visits[stepId] = (ctx.state.visits[stepId] ?? 0) + 1;
  const token: Token = { id: nextId(ctx, 'tok-'), step: stepId, groups: [...groups] };
  ctx.state.tokens.push(token);
  const context = evalContext(ctx.state);
  switch (step.type) {
    case 'human':
      createStepTask(ctx, token, step);
      return;
    case 'wait': {
      const fireAt = resolveDate(step.until, ctx.state, ctx.now) ?? ctx.now;
      if (fireAt <= ctx.now) {
        applyTransition(ctx, token, pickTransition(step.then, context), `wait ${stepId}`);
        return;
      }
      ctx.state.timers.push({ id: nextId(ctx, 'timer-'), kind: 'wait', fireAt, tokenId: token.id });
      record(ctx, 'wait.started', { step: stepId, until: new Date(fireAt).toISOString() });
      return;
    }
    case 'automatic':
      for (const [i, action] of (step.do ?? []).entries()) {
        if ('setStatus' in action) setStatus(ctx, action.setStatus);
        else if ('setField' in action) {
          ctx.state.data = setPath(ctx.state.data, action.setField.path, action.setField.value);
          record(ctx, 'field.set', { path: action.setField.path, value: action.setField.value });
        } else {
          const seq = record(ctx, 'step.email', { step: stepId, template: action.email.template });
          ctx.commands.push(emailCommand(`step:${stepId}:${i}`, String(seq), action.email));
        }
      }
      applyTransition(ctx, token, pickTransition(step.then, evalContext(ctx.state)), `step ${stepId}`);
      return;
    case 'parallel': {
      removeToken(ctx, token.id);
      const group = nextId(ctx, 'grp-');
      ctx.state.joins[group] = {
        step: step.join,
        expected: step.branches.length,
        arrived: 0,
        groups: [...groups],
      };
      record(ctx, 'parallel.started', { step: stepId, branches: step.branches });
      for (const branch of step.branches) enterStep(ctx, branch, [...groups, group]);
      return;
    }
    case 'join': {
      const group = groups[groups.length - 1];
      const join = group === undefined ? undefined : ctx.state.joins[group];
      if (!join || join.step !== stepId) {
        applyTransition(ctx, token, pickTransition(step.then, context), `join ${stepId}`);
        return;
      }
      removeToken(ctx, token.id);
      join.arrived += 1;
      if (join.arrived < join.expected) return;
      delete ctx.state.joins[group as string];
      record(ctx, 'parallel.joined', { step: stepId });
      const merged: Token = { id: nextId(ctx, 'tok-'), step: stepId, groups: join.groups };
      ctx.state.tokens.push(merged);
      applyTransition(ctx, merged, pickTransition(step.then, evalContext(ctx.state)), `join ${stepId}`);
      return;
    }
    case 'subcase': {
      const childCaseId = `${ctx.state.caseId}-S${nextId(ctx, '')}`;
      const data: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(step.data ?? {})) {
        const ref =
          value !== null && typeof value === 'object' && 'var' in value
            ? (value as { var: string }).var
            : undefined;
        data[key] = ref === undefined ? value : getPath(context, ref);
      }
      const wait = step.wait ?? false;
      ctx.commands.push({
        kind: 'startSubcase',
        tokenId: token.id,
        childCaseId,
        caseType: step.caseType,
        data,
        wait,
      });
      record(ctx, 'subcase.started', { step: stepId, childCaseId, caseType: step.caseType, wait });
      if (wait) {
        token.subcaseId = childCaseId;
        return;
      }
      applyTransition(
        ctx,
        token,
        pickTransition(step.outcomes?.started ?? step.then, context),
        `subcase ${stepId}`,
      );
      return;
    }
    default:
      assertUnreachable(step);
  }
}

function assignTask(ctx: Ctx, task: TaskState, assignment: Assignment): void {
  task.candidateTeams = [];
  task.candidateRoles = [];
  task.assignee = null;
  if ('user' in assignment) task.assignee = assignment.user;
  else if ('team' in assignment) {
    task.candidateTeams = [assignment.team];
    const strategy = assignment.strategy ?? 'candidates';
    if (strategy !== 'candidates') {
      ctx.commands.push({ kind: 'resolveAssignee', taskId: task.id, team: assignment.team, strategy });
    }
  } else if ('role' in assignment) task.candidateRoles = [assignment.role];
  else {
    const value = getPath(evalContext(ctx.state), assignment.field);
    task.assignee = typeof value === 'string' && value !== '' ? value : null;
  }
}

function createStepTask(ctx: Ctx, token: Token, step: HumanStep): void {
  const context = evalContext(ctx.state);
  const task = newTask(ctx, {
    step: token.step,
    tokenId: token.id,
    action: step.action,
    title: renderText(step.title, context),
    description: step.description === undefined ? undefined : renderText(step.description, context),
    priority: step.priority ?? 'normal',
    dueAt: resolveDate(step.due, ctx.state, ctx.now),
    followUpAt: resolveDate(step.followUp, ctx.state, ctx.now),
  });
  token.taskId = task.id;
  assignTask(ctx, task, step.assign);
  (step.escalations ?? []).forEach((escalation, index) => {
    ctx.state.timers.push({
      id: nextId(ctx, 'timer-'),
      kind: 'escalation',
      fireAt: addDuration(ctx.now, escalation.after),
      taskId: task.id,
      index,
    });
  });
  announceTask(ctx, task);
}

function newTask(
  ctx: Ctx,
  fields: Pick<TaskState, 'action' | 'title' | 'priority' | 'dueAt' | 'followUpAt'> & {
    step?: string;
    tokenId?: string;
    description?: string | undefined;
  },
): TaskState {
  const id = `${ctx.state.caseId}-T${nextId(ctx, '')}`;
  const task: TaskState = {
    id,
    action: fields.action,
    title: fields.title,
    status: 'open',
    assignee: null,
    candidateTeams: [],
    candidateRoles: [],
    priority: fields.priority,
    dueAt: fields.dueAt,
    followUpAt: fields.followUpAt,
    createdAt: ctx.now,
    claimedAt: null,
    completedAt: null,
    completedBy: null,
    outcome: null,
    formData: null,
    notes: null,
    delegatedBy: null,
    comments: [],
    escalationLevel: 0,
    version: 0,
  };
  if (fields.step !== undefined) task.step = fields.step;
  if (fields.tokenId !== undefined) task.tokenId = fields.tokenId;
  if (fields.description !== undefined) task.description = fields.description;
  ctx.state.tasks[id] = task;
  touch(ctx, task);
  return task;
}

/** Records a new task, arms its due-date timers and fires the task-created (and -assigned) rules. */
function announceTask(ctx: Ctx, task: TaskState): void {
  const seq = record(
    ctx,
    'task.created',
    {
      step: task.step ?? null,
      title: task.title,
      assignee: task.assignee,
      candidateTeams: task.candidateTeams,
    },
    task.id,
  );
  const stepKey = task.step ?? 'adhoc';
  fireRules(ctx, { taskCreated: stepKey }, seq, task.id);
  if (task.assignee) fireRules(ctx, { taskAssigned: stepKey }, seq, task.id);
  if (task.dueAt === null) return;
  for (const rule of ctx.def.emailRules ?? []) {
    if ('taskOverdue' in rule.on && (rule.on.taskOverdue === '*' || rule.on.taskOverdue === stepKey)) {
      ctx.state.timers.push({
        id: nextId(ctx, 'timer-'),
        kind: 'overdue',
        fireAt: task.dueAt,
        taskId: task.id,
        ruleId: rule.id,
      });
    }
    if ('beforeDue' in rule.on && (rule.on.step === '*' || rule.on.step === stepKey)) {
      const fireAt = addDuration(task.dueAt, `-${rule.on.beforeDue}`);
      if (fireAt > ctx.now) {
        ctx.state.timers.push({
          id: nextId(ctx, 'timer-'),
          kind: 'before-due',
          fireAt,
          taskId: task.id,
          ruleId: rule.id,
        });
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Access rules for actor events

function supervises(task: TaskState, actor: Actor): boolean {
  if (actor.role === 'admin' || actor.role === 'system') return true;
  if (actor.role !== 'supervisor') return false;
  const teams = actor.supervisedTeams ?? [];
  if (task.candidateTeams.some((t) => teams.includes(t))) return true;
  return task.assignee !== null && (actor.supervisedUsers ?? []).includes(task.assignee);
}

function isCandidate(task: TaskState, actor: Actor): boolean {
  return task.candidateTeams.some((t) => actor.teams.includes(t)) || task.candidateRoles.includes(actor.role);
}

/** Whether the actor may see the task at all (used for comments and edits). */
export function canSeeTask(task: TaskState, actor: Actor): boolean {
  return (
    task.assignee === actor.userId ||
    task.delegatedBy === actor.userId ||
    task.completedBy === actor.userId ||
    (task.assignee === null && isCandidate(task, actor)) ||
    supervises(task, actor)
  );
}

function reject(code: Rejection['code'], message: string): Rejection {
  return { code, message };
}

function findTask(state: CaseState, taskId: string): TaskState | Rejection {
  // Own properties only: a task id such as "constructor" must not find Object's prototype.
  const task = Object.hasOwn(state.tasks, taskId) ? state.tasks[taskId] : undefined;
  return task ?? reject('TASK_NOT_FOUND', `Task ${taskId} does not exist in case ${state.caseId}`);
}

function requireOpen(task: TaskState): Rejection | null {
  return task.status === 'open' ? null : reject('TASK_NOT_OPEN', `Task ${task.id} is ${task.status}`);
}

/**
 * Checks whether an actor event may be applied, without changing anything.
 * Used by the workflow's update validators, so a rejected action never enters the history.
 */
export function checkEvent(def: CaseTypeDefinition, state: CaseState, event: ActorEvent): Rejection | null {
  const { actor } = event;
  if (event.type !== 'editClosed' && event.type !== 'comment' && state.ended) {
    return reject('CASE_ENDED', `Case ${state.caseId} has ended`);
  }
  switch (event.type) {
    case 'setStatus': {
      const target = statusDef(def, event.status);
      if (!target) return reject('UNKNOWN_STATUS', `Status "${event.status}" is not defined for ${def.id}`);
      if (!target.manual && actor.role !== 'admin') {
        return reject('STATUS_NOT_MANUAL', `Status "${event.status}" cannot be set by hand`);
      }
      return null;
    }
    case 'updateData': {
      const editable = def.editableFields ?? [];
      if (editable.includes('*')) return null;
      const locked = Object.keys(event.data).filter((k) => !editable.includes(k));
      if (locked.length > 0 || (event.lines !== undefined && !editable.includes('lines'))) {
        return reject(
          'FIELD_NOT_EDITABLE',
          `Fields not editable in ${def.id}: ${[...locked, ...(event.lines ? ['lines'] : [])].join(', ')}`,
        );
      }
      return null;
    }
    case 'addTask':
    case 'cancel':
      return actor.role === 'admin' || actor.role === 'supervisor' || actor.role === 'system'
        ? null
        : reject('FORBIDDEN', 'Only supervisors and administrators may do this');
    default:
      break;
  }
  const found = findTask(state, event.taskId);
  if ('code' in found) return found;
  const task = found;
  switch (event.type) {
    case 'claim':
      return (
        requireOpen(task) ??
        (task.assignee !== null
          ? reject('TASK_ALREADY_CLAIMED', `Task ${task.id} is already assigned to ${task.assignee}`)
          : isCandidate(task, actor) || supervises(task, actor)
            ? null
            : reject('NOT_A_CANDIDATE', `You are not a candidate for task ${task.id}`))
      );
    case 'unclaim':
      return (
        requireOpen(task) ??
        (task.assignee === null
          ? reject('TASK_NOT_CLAIMED', `Task ${task.id} is not claimed`)
          : task.assignee === actor.userId || supervises(task, actor)
            ? null
            : reject('TASK_CLAIMED_BY_OTHER', `Task ${task.id} is assigned to someone else`))
      );
    case 'assign':
      return (
        requireOpen(task) ??
        (supervises(task, actor) ? null : reject('FORBIDDEN', 'Only a supervisor of the task may assign it'))
      );
    case 'delegate':
      return (
        requireOpen(task) ??
        (task.assignee !== actor.userId
          ? reject('TASK_CLAIMED_BY_OTHER', `Only the assignee may delegate task ${task.id}`)
          : task.delegatedBy !== null
            ? reject('DELEGATION_PENDING', `Task ${task.id} is already delegated`)
            : event.to === actor.userId
              ? reject('INVALID_ACTION', 'A task cannot be delegated to its assignee')
              : null)
      );
    case 'resolve':
      return (
        requireOpen(task) ??
        (task.delegatedBy === null
          ? reject('NOT_DELEGATED', `Task ${task.id} is not delegated`)
          : task.assignee === actor.userId
            ? null
            : reject('TASK_CLAIMED_BY_OTHER', `Only the delegate may resolve task ${task.id}`))
      );
    case 'complete': {
      const open = requireOpen(task);
      if (open) return open;
      if (task.delegatedBy !== null)
        return reject('DELEGATION_PENDING', `Task ${task.id} is delegated and must be resolved first`);
      if (task.assignee !== null && task.assignee !== actor.userId && !supervises(task, actor)) {
        return reject('TASK_CLAIMED_BY_OTHER', `Task ${task.id} is assigned to someone else`);
      }
      if (task.assignee === null && !isCandidate(task, actor) && !supervises(task, actor)) {
        return reject('NOT_A_CANDIDATE', `You are not a candidate for task ${task.id}`);
      }
      if (task.step === undefined) return null;
      const step = def.steps[task.step];
      if (step?.type === 'human' && !Object.hasOwn(step.outcomes, event.outcome)) {
        return reject(
          'UNKNOWN_OUTCOME',
          `Outcome "${event.outcome}" is not one of: ${Object.keys(step.outcomes).join(', ')}`,
        );
      }
      return null;
    }
    case 'comment':
      return canSeeTask(task, actor) ? null : reject('FORBIDDEN', `You cannot comment on task ${task.id}`);
    case 'editClosed':
      if (task.status !== 'completed')
        return reject('TASK_NOT_CLOSED', `Task ${task.id} is ${task.status}, not completed`);
      return canSeeTask(task, actor) ? null : reject('FORBIDDEN', `You cannot edit task ${task.id}`);
    default:
      return assertUnreachable(event);
  }
}

// ---------------------------------------------------------------------------------------------
// Entry points

function context(def: CaseTypeDefinition, state: CaseState, now: number, actor: string): Ctx {
  return { def, state, now, actor, commands: [], timeline: [], changed: new Set(), entered: 0 };
}

function result(ctx: Ctx): StepResult {
  ctx.state.version += 1;
  return { state: ctx.state, commands: ctx.commands, timeline: ctx.timeline, changedTasks: [...ctx.changed] };
}

/** Starts a case: the initial status, then the start step(s). */
export function startCase(def: CaseTypeDefinition, input: StartInput, now: number): StepResult {
  const initial = statusDef(def, def.initialStatus);
  if (!initial) throw new DefinitionRuntimeError(`Unknown initial status "${def.initialStatus}"`);
  const state: CaseState = {
    caseId: input.caseId,
    caseType: input.caseType,
    definitionVersion: input.definitionVersion,
    parentCaseId: input.parentCaseId ?? null,
    title: '',
    status: initial.code,
    statusCategory: initial.category,
    statusEnteredAt: now,
    data: clone(input.data ?? {}),
    lines: clone(input.lines ?? []),
    entity: input.entity ?? null,
    ownerId: input.ownerId ?? null,
    createdAt: now,
    tokens: [],
    joins: {},
    tasks: {},
    timers: [],
    visits: {},
    seq: 0,
    timelineSeq: 0,
    version: 0,
    ended: false,
    endedAt: null,
  };
  state.title = input.title ?? renderText(def.title ?? def.name, evalContext(state));
  const ctx = context(def, state, now, input.actor ?? 'system');
  const seq = record(ctx, 'case.started', { caseType: def.id, version: def.version, status: initial.code });
  for (const timer of def.timers ?? []) {
    if (timer.inStatus === initial.code) {
      state.timers.push({
        id: nextId(ctx, 'timer-'),
        kind: 'case',
        fireAt: addDuration(now, timer.after),
        ruleId: timer.id,
        status: initial.code,
      });
    }
  }
  fireRules(ctx, { statusEntered: initial.code }, seq);
  const starts = Array.isArray(def.start) ? def.start : [def.start];
  for (const stepId of starts) enterStep(ctx, stepId, []);
  return result(ctx);
}

/** The earliest pending timer, if any. */
export function nextTimer(state: CaseState): TimerState | undefined {
  let earliest: TimerState | undefined;
  for (const timer of state.timers) if (!earliest || timer.fireAt < earliest.fireAt) earliest = timer;
  return earliest;
}

/** Applies one event. Actor events must have passed `checkEvent`; this throws if they have not. */
export function applyEvent(
  def: CaseTypeDefinition,
  current: CaseState,
  event: CaseEvent,
  now: number,
): StepResult {
  const state = clone(current);
  const actorId = 'actor' in event ? event.actor.userId : 'system';
  const ctx = context(def, state, now, actorId);
  if ('actor' in event) {
    const rejection = checkEvent(def, state, event);
    if (rejection) throw new DefinitionRuntimeError(`${rejection.code}: ${rejection.message}`);
  }
  switch (event.type) {
    case 'claim': {
      const task = state.tasks[event.taskId] as TaskState;
      task.assignee = event.actor.userId;
      task.claimedAt = now;
      touch(ctx, task);
      const seq = record(ctx, 'task.claimed', { assignee: task.assignee }, task.id);
      fireRules(ctx, { taskAssigned: task.step ?? 'adhoc' }, seq, task.id);
      break;
    }
    case 'unclaim': {
      const task = state.tasks[event.taskId] as TaskState;
      const previous = task.assignee;
      task.assignee = null;
      task.claimedAt = null;
      touch(ctx, task);
      record(ctx, 'task.unclaimed', { previous }, task.id);
      break;
    }
    case 'assign': {
      const task = state.tasks[event.taskId] as TaskState;
      const previous = task.assignee;
      task.assignee = event.assignee;
      task.claimedAt = now;
      task.delegatedBy = null;
      touch(ctx, task);
      const outside =
        task.candidateTeams.length > 0 && !(event.actor.supervisedUsers ?? []).includes(event.assignee);
      const seq = record(
        ctx,
        'task.assigned',
        { previous, assignee: event.assignee, outsideCandidates: outside },
        task.id,
      );
      fireRules(ctx, { taskAssigned: task.step ?? 'adhoc' }, seq, task.id);
      break;
    }
    case 'delegate': {
      const task = state.tasks[event.taskId] as TaskState;
      task.delegatedBy = event.actor.userId;
      task.assignee = event.to;
      touch(ctx, task);
      const seq = record(ctx, 'task.delegated', { from: event.actor.userId, to: event.to }, task.id);
      fireRules(ctx, { taskAssigned: task.step ?? 'adhoc' }, seq, task.id);
      break;
    }
    case 'resolve': {
      const task = state.tasks[event.taskId] as TaskState;
      task.assignee = task.delegatedBy;
      task.delegatedBy = null;
      touch(ctx, task);
      record(ctx, 'task.resolved', { backTo: task.assignee }, task.id);
      break;
    }
    case 'complete': {
      const task = state.tasks[event.taskId] as TaskState;
      task.status = 'completed';
      task.assignee = task.assignee ?? event.actor.userId;
      task.outcome = event.outcome;
      task.formData = event.data ?? null;
      task.notes = event.notes ?? null;
      task.completedAt = now;
      task.completedBy = event.actor.userId;
      touch(ctx, task);
      state.timers = state.timers.filter((t) => t.taskId !== task.id || t.kind === 'email');
      const seq = record(ctx, 'task.completed', { outcome: event.outcome, by: event.actor.userId }, task.id);
      fireRules(ctx, { taskCompleted: task.step ?? 'adhoc' }, seq, task.id);
      const step = task.step === undefined ? undefined : def.steps[task.step];
      const token = state.tokens.find((t) => t.id === task.tokenId);
      if (step?.type === 'human' && token) {
        const transitions = step.outcomes[event.outcome];
        const evalCtx = evalContext(state, { outcome: event.outcome, form: event.data ?? {} });
        applyTransition(ctx, token, pickTransition(transitions, evalCtx), `task ${task.id} ${event.outcome}`);
      } else {
        finishIfIdle(ctx);
      }
      break;
    }
    case 'comment': {
      const task = state.tasks[event.taskId] as TaskState;
      task.comments.push({ at: now, by: event.actor.userId, text: event.text });
      touch(ctx, task);
      record(ctx, 'task.commented', { text: event.text }, task.id);
      break;
    }
    case 'editClosed': {
      const task = state.tasks[event.taskId] as TaskState;
      const before = { formData: task.formData, notes: task.notes };
      if (event.data !== undefined) task.formData = event.data;
      if (event.notes !== undefined) task.notes = event.notes;
      touch(ctx, task);
      record(ctx, 'task.edited', { before, after: { formData: task.formData, notes: task.notes } }, task.id);
      break;
    }
    case 'setStatus':
      setStatus(ctx, event.status);
      // A won, lost or closed status set by hand closes the case: its open tasks are cancelled (an
      // opportunity marked lost leaves no calls in anyone's inbox). An open status only moves the case.
      if (state.statusCategory !== 'open') endCase(ctx, 'status set by hand');
      break;
    case 'updateData': {
      const before: Record<string, unknown> = {};
      for (const key of Object.keys(event.data)) before[key] = state.data[key] ?? null;
      state.data = { ...state.data, ...event.data };
      if (event.lines !== undefined) state.lines = clone(event.lines);
      record(ctx, 'case.updated', { before, after: event.data, lines: event.lines !== undefined });
      break;
    }
    case 'addTask': {
      const task = newTask(ctx, {
        action: event.action,
        title: event.title,
        description: event.description,
        priority: event.priority ?? 'normal',
        dueAt: event.dueAt ?? null,
        followUpAt: null,
      });
      if (event.assignee) task.assignee = event.assignee;
      if (event.team) task.candidateTeams = [event.team];
      announceTask(ctx, task);
      break;
    }
    case 'cancel':
      endCase(ctx, `cancelled: ${event.reason}`);
      break;
    case 'timerFired':
      fireTimer(ctx, event.timerId);
      break;
    case 'subcaseEnded': {
      const token = state.tokens.find((t) => t.id === event.tokenId);
      const step = token ? def.steps[token.step] : undefined;
      if (!token || step?.type !== 'subcase') break;
      record(ctx, 'subcase.ended', {
        childCaseId: token.subcaseId,
        status: event.status,
        category: event.category,
      });
      applyTransition(
        ctx,
        token,
        pickTransition(step.outcomes?.[event.category] ?? step.then, evalContext(state, { subcase: event })),
        `subcase ${token.step}`,
      );
      break;
    }
    case 'assigneeResolved': {
      const task = state.tasks[event.taskId];
      if (!task || task.status !== 'open' || task.assignee !== null || event.assignee === null) break;
      task.assignee = event.assignee;
      touch(ctx, task);
      const seq = record(ctx, 'task.assigned', { assignee: event.assignee, by: 'assignment rule' }, task.id);
      fireRules(ctx, { taskAssigned: task.step ?? 'adhoc' }, seq, task.id);
      break;
    }
    default:
      assertUnreachable(event);
  }
  return result(ctx);
}

const PRIORITY_ORDER: Priority[] = ['low', 'normal', 'high', 'urgent'];

function fireTimer(ctx: Ctx, timerId: string): void {
  const { state, def } = ctx;
  const timer = state.timers.find((t) => t.id === timerId);
  if (!timer) return;
  state.timers = state.timers.filter((t) => t.id !== timerId);
  const task = timer.taskId === undefined ? undefined : state.tasks[timer.taskId];
  switch (timer.kind) {
    case 'wait': {
      const token = state.tokens.find((t) => t.id === timer.tokenId);
      const step = token ? def.steps[token.step] : undefined;
      if (!token || step?.type !== 'wait') return;
      record(ctx, 'wait.ended', { step: token.step });
      applyTransition(ctx, token, pickTransition(step.then, evalContext(state)), `wait ${token.step}`);
      return;
    }
    case 'escalation': {
      if (!task || task.status !== 'open' || task.step === undefined) return;
      const step = def.steps[task.step];
      const escalation = step?.type === 'human' ? step.escalations?.[timer.index ?? 0] : undefined;
      if (!escalation) return;
      task.escalationLevel += 1;
      const detail: Record<string, unknown> = { level: task.escalationLevel };
      if (escalation.priority) {
        const raised = PRIORITY_ORDER.indexOf(escalation.priority) > PRIORITY_ORDER.indexOf(task.priority);
        if (raised) detail.priority = { from: task.priority, to: escalation.priority };
        if (raised) task.priority = escalation.priority;
      }
      if (escalation.reassign) {
        detail.reassignedFrom = task.assignee;
        assignTask(ctx, task, escalation.reassign);
        task.delegatedBy = null;
      }
      touch(ctx, task);
      const seq = record(ctx, 'task.escalated', detail, task.id);
      if (escalation.notify)
        ctx.commands.push(
          emailCommand(
            `escalation:${task.step}:${timer.index ?? 0}`,
            String(seq),
            escalation.notify,
            undefined,
            task.id,
          ),
        );
      if (escalation.reassign && task.assignee) fireRules(ctx, { taskAssigned: task.step }, seq, task.id);
      return;
    }
    case 'case': {
      const rule = (def.timers ?? []).find((t) => t.id === timer.ruleId);
      if (!rule || state.status !== timer.status) return;
      record(ctx, 'timer.fired', { timer: rule.id, status: timer.status });
      if (rule.then.end || rule.then.status || rule.then.next || rule.then.set) {
        // A case timer preempts the work in progress when it ends the case; otherwise it only adds to it.
        applyTransition(
          ctx,
          undefined,
          evaluateCondition(rule.then.if, evalContext(state)) ? rule.then : undefined,
          `timer ${rule.id}`,
        );
      }
      return;
    }
    case 'email': {
      const rule = (def.emailRules ?? []).find((r) => r.id === timer.ruleId);
      if (!rule) return;
      if (timer.status !== undefined && state.status !== timer.status) {
        record(ctx, 'email.skipped', { rule: rule.id, reason: `case left ${timer.status}` });
        return;
      }
      ctx.commands.push(emailCommand(rule.id, timer.eventKey ?? timer.id, rule, rule, timer.taskId));
      return;
    }
    case 'overdue':
    case 'before-due': {
      if (!task || task.status !== 'open') return;
      const rule = (def.emailRules ?? []).find((r) => r.id === timer.ruleId);
      const seq = record(ctx, timer.kind === 'overdue' ? 'task.overdue' : 'task.due-soon', {}, task.id);
      if (rule) ctx.commands.push(emailCommand(rule.id, String(seq), rule, rule, task.id));
      return;
    }
    default:
      assertUnreachable(timer.kind);
  }
}
