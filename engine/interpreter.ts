import { evaluateCondition } from './conditions';
import { addDuration } from './duration';
import { DefinitionRuntimeError, type Rejection } from './errors';
import { getPath, renderText, setPath } from './paths';
import type {
  ActorEvent,
  CaseEvent,
  CaseState,
  Command,
  JoinState,
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
  BoundaryEvent,
  CaseTypeDefinition,
  DateSpec,
  EmailAction,
  EmailRule,
  EmailTrigger,
  HumanStep,
  JoinStep,
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
  /** Tokens entered and not yet run, in entry order (semantics 2). */
  agenda: string[];
  /** The case runs under semantics 1 (started before semantics 2). */
  legacy: boolean;
  oracle: ChoiceOracle | undefined;
  /** Who completed the task this event completes: a `chained` step opened now goes to them. */
  chainedFrom?: string;
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

/**
 * Resolves the abstract choices the case data would otherwise decide: the soundness checker explores every
 * answer, and `simulate --pick` replays one. `site` is the JSON pointer of the choice in the definition.
 */
export interface ChoiceOracle {
  /** Which of `options` alternatives to take at `site` (0-based). */
  choose(site: string, options: number): number;
}

/** The first transition whose condition holds, or, under an oracle, whichever the oracle picks. */
function pick(
  ctx: Ctx,
  transitions: Transitions | undefined,
  context: Record<string, unknown>,
  site: string,
): Transition | undefined {
  if (transitions === undefined) return undefined;
  const list = Array.isArray(transitions) ? transitions : [transitions];
  if (!ctx.oracle) return list.find((t) => evaluateCondition(t.if, context));
  // Every transition up to the first unconditional one may be the first to hold; if all are conditional,
  // none may hold.
  const open = list.findIndex((t) => t.if === undefined);
  const options = open === -1 ? list.length + 1 : open + 1;
  if (options === 1) return list[0];
  return list[ctx.oracle.choose(site, options)];
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
  status?: string,
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
  if (status !== undefined) command.status = status;
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
        eventStatus: ctx.state.status,
      };
      if (rule.ifStillInStatus) timer.status = ctx.state.status;
      if (taskId !== undefined) timer.taskId = taskId;
      ctx.state.timers.push(timer);
    } else {
      // The status right after the event: a later status change in the same event must not show in it.
      ctx.commands.push(emailCommand(rule.id, eventKey, rule, rule, taskId, ctx.state.status));
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

function endCase(ctx: Ctx, reason: string, step?: string): void {
  const { state } = ctx;
  if (state.ended) return;
  // Tokens still alive besides the one that ended the case (already removed): branches cut short.
  const cut = state.tokens.length;
  for (const task of Object.values(state.tasks)) {
    if (task.status !== 'open') continue;
    task.status = 'cancelled';
    touch(ctx, task);
    record(ctx, 'task.cancelled', { reason: 'case ended' }, task.id);
  }
  state.tokens = [];
  state.joins = {};
  ctx.agenda = [];
  // Only delayed emails outlive the case; waits, escalations and case timers die with it.
  state.timers = state.timers.filter((t) => t.kind === 'email' && t.status === undefined);
  state.ended = true;
  state.endedAt = ctx.now;
  // An ended case is on hold no more: the delayed emails that outlive it go out (their time left kept).
  delete state.suspended;
  delete state.heldMessages;
  const detail: Record<string, unknown> = { reason, status: state.status };
  if (!ctx.legacy) {
    detail.step = step ?? null;
    detail.withdrawnTokens = cut;
  }
  const seq = record(ctx, 'case.ended', detail);
  fireRules(ctx, { caseEnded: true }, seq);
}

// ---------------------------------------------------------------------------------------------
// Tokens and steps

/** Removes a token with the timers that wait on it (its wait, its boundary timers). */
function removeToken(ctx: Ctx, tokenId: string): void {
  ctx.state.tokens = ctx.state.tokens.filter((t) => t.id !== tokenId);
  ctx.state.timers = ctx.state.timers.filter((t) => t.tokenId !== tokenId);
}

/** Where a transition was taken, for the timeline and the soundness checker's counterexamples. */
interface Source {
  reason: string;
  /** The step whose transition it is; undefined for a case timer. */
  step?: string;
}

/**
 * Takes a transition for a token: the token leaves its step, fields and status are set, and the steps in
 * `next` get new tokens in the same groups. No transition (or one without `next` or `end`) withdraws the
 * token. Semantics 2 only enqueues the new tokens; `settle` runs them once the current step is done.
 */
function applyTransition(
  ctx: Ctx,
  token: Token | undefined,
  transition: Transition | undefined,
  source: Source,
): void {
  if (token) removeToken(ctx, token.id);
  if (!transition) {
    withdrawn(ctx, token);
    if (ctx.legacy) finishIfIdle(ctx);
    return;
  }
  // Regions cancelled here are gone: the new tokens no longer belong to their groups.
  const cancelled = transition.cancel ? cancelSteps(ctx, transition.cancel, source) : undefined;
  const groups = (token?.groups ?? []).filter((g) => !cancelled?.has(g));
  for (const [path, value] of Object.entries(transition.set ?? {})) {
    ctx.state.data = setPath(ctx.state.data, path, value);
    record(ctx, 'field.set', { path, value });
  }
  if (transition.status) setStatus(ctx, transition.status);
  if (transition.end) {
    endCase(ctx, source.reason, source.step);
    return;
  }
  const next =
    transition.next === undefined ? [] : Array.isArray(transition.next) ? transition.next : [transition.next];
  if (next.length === 0) withdrawn(ctx, token);
  for (const stepId of next) enterStep(ctx, stepId, groups);
  if (ctx.legacy) finishIfIdle(ctx);
}

/** Cancels an open task: it leaves every inbox, its reminders and escalations stop (delayed emails stay). */
function cancelOpenTask(ctx: Ctx, task: TaskState, reason: string): void {
  if (task.status !== 'open') return;
  task.status = 'cancelled';
  touch(ctx, task);
  ctx.state.timers = ctx.state.timers.filter((t) => t.taskId !== task.id || t.kind === 'email');
  record(ctx, 'task.cancelled', { reason }, task.id);
}

/** Withdraws a live token: its open task is cancelled and its timers stop; its path is over. */
function withdrawToken(ctx: Ctx, token: Token, reason: string): void {
  const task = token.taskId === undefined ? undefined : ctx.state.tasks[token.taskId];
  if (task) cancelOpenTask(ctx, task, reason);
  removeToken(ctx, token.id);
  ctx.agenda = ctx.agenda.filter((id) => id !== token.id);
  withdrawn(ctx, token);
}

/**
 * A transition's `cancel`: withdraws every live token on each named step and, for a parallel or
 * multi-instance step, every token inside its open regions (nested regions included), whose joins then never
 * fire. Returns the groups cancelled.
 */
function cancelSteps(ctx: Ctx, names: string[], source: Source): Set<string> {
  const { state } = ctx;
  const all = new Set<string>();
  for (const name of names) {
    const groups = new Set(
      Object.entries(state.joins)
        .filter(([, j]) => j.split === name)
        .map(([g]) => g),
    );
    // Regions opened inside a cancelled one go with it.
    for (let grown = true; grown;) {
      grown = false;
      for (const [g, j] of Object.entries(state.joins)) {
        if (!groups.has(g) && j.groups.some((outer) => groups.has(outer))) {
          groups.add(g);
          grown = true;
        }
      }
    }
    const doomed = state.tokens.filter((t) => t.step === name || t.groups.some((g) => groups.has(g)));
    const reason =
      source.step === undefined ? `cancelled by ${source.reason}` : `cancelled by step ${source.step}`;
    for (const token of doomed) withdrawToken(ctx, token, reason);
    for (const g of groups) delete state.joins[g];
    record(ctx, 'steps.cancelled', {
      step: name,
      by: source.step ?? null,
      tokens: doomed.length,
      regions: groups.size,
    });
    for (const g of groups) all.add(g);
  }
  return all;
}

/** A token inside a parallel region that ends its path without reaching the join: recorded, so the join can go on without it. */
function withdrawn(ctx: Ctx, token: Token | undefined): void {
  if (ctx.legacy || !token || token.groups.length === 0) return;
  record(ctx, 'token.withdrawn', { step: token.step });
}

/** A case with no token left and no open task has nothing more to do: it ends. */
function finishIfIdle(ctx: Ctx): void {
  const { state } = ctx;
  if (state.ended || state.tokens.length > 0) return;
  if (Object.values(state.tasks).some((t) => t.status === 'open')) return;
  endCase(ctx, 'no more work');
}

/** Puts a new token on a step. Semantics 2 runs it from the agenda; semantics 1 ran it at once. */
function enterStep(ctx: Ctx, stepId: string, groups: string[]): void {
  if (ctx.state.ended) return;
  ctx.entered += 1;
  if (ctx.entered > MAX_STEPS_PER_EVENT) {
    throw new DefinitionRuntimeError(
      `More than ${MAX_STEPS_PER_EVENT} steps entered for one event: loop without a wait at "${stepId}"`,
    );
  }
  if (!Object.hasOwn(ctx.def.steps, stepId)) throw new DefinitionRuntimeError(`Unknown step "${stepId}"`);
  ctx.state.visits[stepId] = (ctx.state.visits[stepId] ?? 0) + 1;
  const token: Token = { id: nextId(ctx, 'tok-'), step: stepId, groups: [...groups] };
  ctx.state.tokens.push(token);
  if (ctx.legacy) runToken(ctx, token);
  else ctx.agenda.push(token.id);
}

/**
 * Runs the agenda until nothing moves: every token entered is run in the order it was entered, and when
 * none is left, every split instance whose tokens have all arrived or been withdrawn is settled. Only then
 * is the case idle (and ends) if no token and no open task remain.
 */
function settle(ctx: Ctx): void {
  if (ctx.legacy) return;
  for (;;) {
    const id = ctx.agenda.shift();
    if (id !== undefined) {
      const token = ctx.state.tokens.find((t) => t.id === id);
      if (token && !ctx.state.ended) runToken(ctx, token);
      continue;
    }
    if (!settleJoins(ctx)) break;
  }
  finishIfIdle(ctx);
}

/**
 * Fires (or dissolves) the first split instance that can settle; false when there is none. A join fires once
 * no live token is left in its group, or, for a partial join, once `need` tokens have arrived (unless an
 * earlier instance of the same region is still absorbing). A fired absorbing join resets when its group is
 * empty.
 */
function settleJoins(ctx: Ctx): boolean {
  const { state } = ctx;
  if (state.ended) return false;
  const pending = Object.values(state.joins);
  for (const [group, join] of Object.entries(state.joins)) {
    // A multi-instance group settles when its instances complete (completeInstance).
    if (join.multi) continue;
    // Live while a token of the group is anywhere, or a split nested in it has not settled yet.
    const live =
      state.tokens.some((t) => t.groups.includes(group)) || pending.some((j) => j.groups.includes(group));
    const partial = join.partial;
    if (partial?.fired) {
      if (live) continue;
      delete state.joins[group];
      record(ctx, 'parallel.reset', { step: join.step, group, arrived: join.arrived });
      return true;
    }
    if (live && !(partial && join.arrived >= partial.need)) continue;
    if (join.arrived === 0) {
      delete state.joins[group];
      record(ctx, 'parallel.withdrawn', { step: join.split ?? null, join: join.step, group });
      return true;
    }
    if (partial && absorbingBefore(state.joins, group, join)) {
      if (!partial.blocked) {
        partial.blocked = true;
        record(ctx, 'parallel.blocked', { step: join.step, group });
      }
      continue;
    }
    let withdrawnTokens = 0;
    if (partial && live && partial.rest === 'absorb') {
      partial.fired = true;
      delete partial.blocked;
    } else {
      if (partial && live)
        withdrawnTokens = withdrawRest(ctx, group, `withdrawn: join ${join.step} completed`);
      delete state.joins[group];
    }
    record(ctx, 'parallel.joined', {
      step: join.step,
      group,
      arrived: join.arrived,
      ...(partial ? { need: partial.need, rest: partial.rest, withdrawn: withdrawnTokens } : {}),
    });
    const merged: Token = { id: nextId(ctx, 'tok-'), step: join.step, groups: join.groups };
    state.tokens.push(merged);
    const step = ctx.def.steps[join.step];
    const then = step?.type === 'join' ? step.then : undefined;
    applyTransition(ctx, merged, pick(ctx, then, evalContext(state), `/steps/${join.step}/then`), {
      reason: `join ${join.step}`,
      step: join.step,
    });
    return true;
  }
  return false;
}

/** Whether an earlier instance of the same region (same split, same enclosing groups) is still absorbing. */
function absorbingBefore(joins: Record<string, JoinState>, group: string, join: JoinState): boolean {
  return Object.entries(joins).some(
    ([g, j]) =>
      g !== group &&
      j.partial?.fired === true &&
      j.split === join.split &&
      j.groups.length === join.groups.length &&
      j.groups.every((outer, i) => outer === join.groups[i]),
  );
}

/**
 * A partial join that withdraws the rest: every live token of its group (nested regions included) is
 * withdrawn, its open task cancelled; nested joins never fire. Returns how many tokens were withdrawn.
 */
function withdrawRest(ctx: Ctx, group: string, reason: string): number {
  const { state } = ctx;
  const doomed = state.tokens.filter((t) => t.groups.includes(group));
  for (const token of doomed) {
    const task = token.taskId === undefined ? undefined : state.tasks[token.taskId];
    if (task) cancelOpenTask(ctx, task, reason);
    removeToken(ctx, token.id);
    ctx.agenda = ctx.agenda.filter((id) => id !== token.id);
  }
  for (const [g, j] of Object.entries(state.joins)) if (j.groups.includes(group)) delete state.joins[g];
  return doomed.length;
}

function runToken(ctx: Ctx, token: Token): void {
  const stepId = token.step;
  const step = ctx.def.steps[stepId] as Step;
  const groups = token.groups;
  const context = evalContext(ctx.state);
  const at = { reason: `step ${stepId}`, step: stepId };
  switch (step.type) {
    case 'human':
      if (step.forEach && token.instance === undefined) {
        startInstances(ctx, token, step);
        return;
      }
      createStepTask(ctx, token, step);
      armBoundary(ctx, token, step.boundary);
      takeBuffered(ctx, token);
      return;
    case 'wait': {
      if (step.message !== undefined) {
        record(ctx, 'wait.started', { step: stepId, message: step.message });
        armBoundary(ctx, token, step.boundary);
        takeBuffered(ctx, token);
        return;
      }
      const fireAt = waitUntil(ctx, step.until ?? 'PT0S', stepId);
      if (fireAt <= ctx.now) {
        applyTransition(ctx, token, pick(ctx, step.then, context, `/steps/${stepId}/then`), {
          reason: `wait ${stepId}`,
          step: stepId,
        });
        return;
      }
      ctx.state.timers.push({ id: nextId(ctx, 'timer-'), kind: 'wait', fireAt, tokenId: token.id });
      record(ctx, 'wait.started', { step: stepId, until: new Date(fireAt).toISOString() });
      armBoundary(ctx, token, step.boundary);
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
      applyTransition(ctx, token, pick(ctx, step.then, evalContext(ctx.state), `/steps/${stepId}/then`), at);
      return;
    case 'parallel': {
      removeToken(ctx, token.id);
      const chosen = step.branches.filter((branch) => {
        const condition = step.conditions?.[branch];
        if (condition === undefined) return true;
        if (ctx.oracle) return ctx.oracle.choose(`/steps/${stepId}/conditions/${branch}`, 2) === 0;
        return evaluateCondition(condition, context);
      });
      if (chosen.length === 0) {
        // An inclusive split that starts no branch goes straight on from its join.
        record(ctx, 'parallel.skipped', { step: stepId, join: step.join });
        const join = ctx.def.steps[step.join];
        const merged: Token = { id: nextId(ctx, 'tok-'), step: step.join, groups: [...groups] };
        ctx.state.tokens.push(merged);
        applyTransition(
          ctx,
          merged,
          pick(
            ctx,
            join?.type === 'join' ? join.then : undefined,
            evalContext(ctx.state),
            `/steps/${step.join}/then`,
          ),
          { reason: `join ${step.join}`, step: step.join },
        );
        return;
      }
      const group = nextId(ctx, 'grp-');
      const joinStep = ctx.def.steps[step.join];
      const partial =
        ctx.legacy || joinStep?.type !== 'join' ? undefined : partialJoin(joinStep, chosen.length);
      ctx.state.joins[group] = {
        step: step.join,
        expected: chosen.length,
        arrived: 0,
        groups: [...groups],
        ...(ctx.legacy ? {} : { split: stepId }),
        ...(partial ? { partial } : {}),
      };
      record(ctx, 'parallel.started', { step: stepId, branches: chosen });
      for (const branch of chosen) enterStep(ctx, branch, [...groups, group]);
      return;
    }
    case 'join': {
      const group = groups[groups.length - 1];
      const join = group === undefined ? undefined : ctx.state.joins[group];
      if (!join || join.step !== stepId) {
        // Reached outside its own split instance: only an unvalidated definition gets here (validate
        // rejects a join entered from outside its region); the token passes through.
        applyTransition(ctx, token, pick(ctx, step.then, context, `/steps/${stepId}/then`), {
          reason: `join ${stepId}`,
          step: stepId,
        });
        return;
      }
      removeToken(ctx, token.id);
      join.arrived += 1;
      if (join.partial?.fired) record(ctx, 'join.absorbed', { step: stepId, group, arrived: join.arrived });
      if (!ctx.legacy) return;
      if (join.arrived < join.expected) return;
      delete ctx.state.joins[group as string];
      record(ctx, 'parallel.joined', { step: stepId });
      const merged: Token = { id: nextId(ctx, 'tok-'), step: stepId, groups: join.groups };
      ctx.state.tokens.push(merged);
      applyTransition(ctx, merged, pick(ctx, step.then, evalContext(ctx.state), `/steps/${stepId}/then`), {
        reason: `join ${stepId}`,
        step: stepId,
      });
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
      const started = step.outcomes?.started === undefined ? 'then' : 'outcomes/started';
      applyTransition(
        ctx,
        token,
        pick(ctx, step.outcomes?.started ?? step.then, context, `/steps/${stepId}/${started}`),
        { reason: `subcase ${stepId}`, step: stepId },
      );
      return;
    }
    case 'service': {
      const render = (value: unknown): unknown =>
        typeof value === 'string'
          ? renderText(value, context)
          : Array.isArray(value)
            ? value.map(render)
            : value !== null && typeof value === 'object'
              ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, render(v)]))
              : value;
      token.service = true;
      ctx.commands.push({
        kind: 'callService',
        tokenId: token.id,
        step: stepId,
        method: step.request.method ?? 'POST',
        url: renderText(step.request.url, context),
        secretHeaders: step.request.secretHeaders ?? {},
        body: step.request.body === undefined ? undefined : render(step.request.body),
        idempotencyKey: `${ctx.state.caseId}:${token.id}`,
        maximumAttempts: step.retry?.maximumAttempts ?? 3,
        initialIntervalMs: addDuration(ctx.now, step.retry?.initialInterval ?? 'PT1S') - ctx.now,
      });
      record(ctx, 'service.called', { step: stepId, method: step.request.method ?? 'POST' });
      return;
    }
    default:
      assertUnreachable(step);
  }
}

/** A join's `complete` and `rest` for a split that started `started` branches; undefined for `all`. */
function partialJoin(step: JoinStep, started: number): JoinState['partial'] {
  const complete = step.complete ?? 'all';
  if (complete === 'all') return undefined;
  const need = complete === 'any' ? 1 : Math.min(complete, started);
  return { need, rest: step.rest ?? 'withdraw' };
}

// ---------------------------------------------------------------------------------------------
// Multi-instance steps

/**
 * Enters a multi-instance step: a group of its own (like a split whose join is the step itself) and one
 * instance token per item (all at once, or the first of a sequence). An empty list takes the empty outcome.
 */
function startInstances(ctx: Ctx, token: Token, step: HumanStep): void {
  const forEach = step.forEach as NonNullable<HumanStep['forEach']>;
  const site = `/steps/${token.step}/forEach/items`;
  const raw = ctx.oracle ? ctx.oracle.choose(site, 3) : getPath(evalContext(ctx.state), forEach.items);
  const items: unknown[] = Array.isArray(raw)
    ? raw
    : typeof raw === 'number' && Number.isInteger(raw) && raw > 0
      ? Array.from({ length: Math.min(raw, 1000) }, (_, i) => i + 1)
      : [];
  removeToken(ctx, token.id);
  if (items.length === 0) {
    const outcome = forEach.emptyOutcome ?? Object.keys(step.outcomes)[0] ?? '';
    record(ctx, 'instances.none', { step: token.step, outcome });
    applyTransition(
      ctx,
      token,
      pick(ctx, step.outcomes[outcome], evalContext(ctx.state), `/steps/${token.step}/outcomes/${outcome}`),
      {
        reason: `step ${token.step} had no items`,
        step: token.step,
      },
    );
    return;
  }
  const complete = forEach.complete ?? 'all';
  const need = complete === 'all' ? items.length : complete === 'any' ? 1 : Math.min(complete, items.length);
  const sequential = forEach.mode === 'sequential';
  const group = nextId(ctx, 'grp-');
  ctx.state.joins[group] = {
    step: token.step,
    expected: need,
    arrived: 0,
    groups: [...token.groups],
    split: token.step,
    multi: { items, need, started: 0, sequential },
  };
  record(ctx, 'instances.started', { step: token.step, items: items.length, need, sequential });
  const first = sequential ? 1 : items.length;
  for (let i = 0; i < first; i += 1) startInstance(ctx, token.step, group);
}

function startInstance(ctx: Ctx, stepId: string, group: string): void {
  const join = ctx.state.joins[group];
  if (!join?.multi) return;
  const index = join.multi.started;
  join.multi.started += 1;
  const instance: Token = {
    id: nextId(ctx, 'tok-'),
    step: stepId,
    groups: [...join.groups, group],
    instance: index,
  };
  ctx.state.tokens.push(instance);
  ctx.state.visits[stepId] = (ctx.state.visits[stepId] ?? 0) + 1;
  ctx.agenda.push(instance.id);
}

/**
 * An instance's task is done. Once `need` instances are, the others are withdrawn and the step takes the
 * outcome of the instance that completed it; before, a sequential step starts its next instance.
 */
function completeInstance(ctx: Ctx, token: Token, outcome: string, evalCtx: Record<string, unknown>): void {
  const group = token.groups[token.groups.length - 1] ?? '';
  const join = ctx.state.joins[group];
  removeToken(ctx, token.id);
  if (!join?.multi) return;
  join.arrived += 1;
  const multi = join.multi;
  if (join.arrived < multi.need) {
    if (multi.sequential && multi.started < multi.items.length) startInstance(ctx, token.step, group);
    else if (!ctx.state.tokens.some((t) => t.groups.includes(group)))
      finishInstances(ctx, group, token.step, outcome, evalCtx);
    return;
  }
  finishInstances(ctx, group, token.step, outcome, evalCtx);
}

function finishInstances(
  ctx: Ctx,
  group: string,
  stepId: string,
  outcome: string,
  evalCtx: Record<string, unknown>,
): void {
  const join = ctx.state.joins[group];
  if (!join) return;
  let withdrawn = 0;
  for (const other of ctx.state.tokens.filter((t) => t.groups.includes(group))) {
    const task = other.taskId === undefined ? undefined : ctx.state.tasks[other.taskId];
    if (task?.status === 'open') {
      task.status = 'cancelled';
      touch(ctx, task);
      ctx.state.timers = ctx.state.timers.filter((t) => t.taskId !== task.id || t.kind === 'email');
      record(ctx, 'task.cancelled', { reason: 'withdrawn: enough instances completed' }, task.id);
      withdrawn += 1;
    }
    removeToken(ctx, other.id);
  }
  delete ctx.state.joins[group];
  record(ctx, 'instances.completed', { step: stepId, completed: join.arrived, withdrawn, outcome });
  const step = ctx.def.steps[stepId];
  const merged: Token = { id: nextId(ctx, 'tok-'), step: stepId, groups: join.groups };
  ctx.state.tokens.push(merged);
  const transitions = step?.type === 'human' ? step.outcomes[outcome] : undefined;
  applyTransition(ctx, merged, pick(ctx, transitions, evalCtx, `/steps/${stepId}/outcomes/${outcome}`), {
    reason: `step ${stepId} ${outcome}`,
    step: stepId,
  });
}

// ---------------------------------------------------------------------------------------------
// Boundary events and messages

/** Arms a step's boundary timers; boundary messages need nothing armed (the token's step names them). */
function armBoundary(ctx: Ctx, token: Token, events: BoundaryEvent[] | undefined): void {
  (events ?? []).forEach((event, index) => {
    if (event.after === undefined) return;
    ctx.state.timers.push({
      id: nextId(ctx, 'timer-'),
      kind: 'boundary',
      fireAt: addDuration(ctx.now, event.after),
      tokenId: token.id,
      index,
    });
  });
}

/** What a live token catches: its wait step's message, and its step's boundary messages (by index). */
function catches(step: Step | undefined, name: string): 'wait' | number | undefined {
  if (step?.type === 'wait' && step.message === name) return 'wait';
  if (step?.type !== 'human' && step?.type !== 'wait') return undefined;
  const index = (step.boundary ?? []).findIndex((e) => e.message === name);
  return index === -1 ? undefined : index;
}

/** Delivers a message to the first live token that catches it; false when none does. */
function deliverMessage(ctx: Ctx, name: string, payload: Record<string, unknown>): boolean {
  for (const token of ctx.state.tokens) {
    if (token.subcaseId !== undefined) continue;
    const step = ctx.def.steps[token.step];
    const caught = catches(step, name);
    if (caught === undefined || !step) continue;
    record(ctx, 'message.received', { name, step: token.step });
    if (caught === 'wait' && step.type === 'wait') {
      applyTransition(
        ctx,
        token,
        pick(ctx, step.then, evalContext(ctx.state, { message: payload }), `/steps/${token.step}/then`),
        {
          reason: `message ${name}`,
          step: token.step,
        },
      );
    } else if (typeof caught === 'number') {
      fireBoundary(ctx, token, caught, { message: payload });
    }
    return true;
  }
  return false;
}

/** A token entering a catch takes a buffered message meant for it at once. */
function takeBuffered(ctx: Ctx, token: Token): void {
  const pending = ctx.state.pendingMessages ?? [];
  const step = ctx.def.steps[token.step];
  const index = pending.findIndex((m) => catches(step, m.name) !== undefined);
  const message = pending[index];
  if (!message) return;
  ctx.state.pendingMessages = pending.filter((_, i) => i !== index);
  deliverMessage(ctx, message.name, message.payload);
}

/**
 * A boundary event of the token's step happens. Interrupting: the step's task is withdrawn (cancelled, out
 * of every inbox) and the token takes the event's transition. Non-interrupting: the step stays, and the
 * transition's steps are entered beside it in the same groups.
 */
function fireBoundary(ctx: Ctx, token: Token, index: number, extra: Record<string, unknown> = {}): void {
  const step = ctx.def.steps[token.step];
  const event = step?.type === 'human' || step?.type === 'wait' ? step.boundary?.[index] : undefined;
  if (!event) return;
  const label = event.message !== undefined ? `message ${event.message}` : `timer after ${event.after ?? ''}`;
  const interrupting = event.interrupting !== false;
  record(ctx, 'boundary.fired', { step: token.step, event: label, interrupting });
  const transition = pick(
    ctx,
    event.then,
    evalContext(ctx.state, extra),
    `/steps/${token.step}/boundary/${index}/then`,
  );
  const source = { reason: `${label} at ${token.step}`, step: token.step };
  if (interrupting) {
    const task = token.taskId === undefined ? undefined : ctx.state.tasks[token.taskId];
    if (task?.status === 'open') {
      task.status = 'cancelled';
      touch(ctx, task);
      ctx.state.timers = ctx.state.timers.filter((t) => t.taskId !== task.id || t.kind === 'email');
      record(ctx, 'task.cancelled', { reason: `withdrawn: ${label}` }, task.id);
    }
    applyTransition(ctx, token, transition, source);
    return;
  }
  if (!transition) return;
  const beside: Token = { id: nextId(ctx, 'tok-'), step: token.step, groups: token.groups };
  applyTransition(ctx, beside, transition, source);
}

/** When a wait step's timer fires. Under an oracle a date taken from case data may be past or future. */
function waitUntil(ctx: Ctx, until: DateSpec, stepId: string): number {
  if (ctx.oracle && typeof until !== 'string') {
    return ctx.oracle.choose(`/steps/${stepId}/until`, 2) === 0 ? ctx.now : ctx.now + 1;
  }
  return resolveDate(until, ctx.state, ctx.now) ?? ctx.now;
}

function assignTask(
  ctx: Ctx,
  task: TaskState,
  assignment: Assignment,
  extra: Record<string, unknown> = {},
  step?: HumanStep,
): void {
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
  else if ('supervisorOf' in assignment) {
    // Supervisors see the task until the team's supervisor is looked up (and keep it if the team has none).
    task.candidateRoles = ['supervisor'];
    ctx.commands.push({
      kind: 'resolveAssignee',
      taskId: task.id,
      team: assignment.supervisorOf,
      strategy: 'supervisor',
    });
  } else if ('field' in assignment) {
    const value = getPath(evalContext(ctx.state, extra), assignment.field);
    task.assignee = typeof value === 'string' && value !== '' ? value : null;
    if (task.assignee === null) {
      // An empty field names nobody: as for the other rules, supervisors see the task and assign it.
      task.candidateRoles = ['supervisor'];
      record(ctx, 'task.assignment-unresolved', { assign: assignment }, task.id);
    }
  } else {
    const who = 'owner' in assignment ? ctx.state.ownerId : performerOf(ctx.state, assignment.performerOf);
    if (who) task.assignee = who;
    else {
      // Nobody to give it to (no owner, the step not done yet): supervisors see it and assign it.
      task.candidateRoles = ['supervisor'];
      record(ctx, 'task.assignment-unresolved', { assign: assignment }, task.id);
    }
  }
  const excluded = step?.separateFrom ?? [];
  if (excluded.length > 0) {
    task.excludedUsers = [...new Set(excluded.flatMap((s) => performersOf(ctx.state, s)))];
    if (task.assignee !== null && task.excludedUsers.includes(task.assignee)) {
      record(
        ctx,
        'task.assignment-refused',
        { assignee: task.assignee, reason: 'separation of duties' },
        task.id,
      );
      task.assignee = null;
      if (task.candidateTeams.length === 0 && task.candidateRoles.length === 0)
        task.candidateRoles = ['supervisor'];
    }
  }
}

/** Everyone who completed a task of `step` in the case, oldest first. */
function performersOf(state: CaseState, step: string): string[] {
  return Object.values(state.tasks)
    .filter((t) => t.step === step && t.status === 'completed' && t.completedBy !== null)
    .sort((a, b) => (a.completedAt ?? 0) - (b.completedAt ?? 0))
    .map((t) => t.completedBy as string);
}

/** Retain familiar: who last completed a task of `step`, if anyone. */
function performerOf(state: CaseState, step: string): string | undefined {
  return performersOf(state, step).at(-1);
}

function createStepTask(ctx: Ctx, token: Token, step: HumanStep): void {
  const join =
    token.instance === undefined ? undefined : ctx.state.joins[token.groups[token.groups.length - 1] ?? ''];
  const item = token.instance === undefined ? undefined : join?.multi?.items[token.instance];
  const extra = token.instance === undefined ? {} : { item, index: token.instance };
  const context = evalContext(ctx.state, extra);
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
  if (token.instance !== undefined) task.instance = { index: token.instance, item: item ?? null };
  token.taskId = task.id;
  assignTask(ctx, task, step.assign, extra, step);
  const chained = step.chained === true ? ctx.chainedFrom : undefined;
  if (chained !== undefined && !(task.excludedUsers ?? []).includes(chained)) {
    task.assignee = chained;
    record(ctx, 'task.assigned', { assignee: chained, by: 'chained execution' }, task.id);
  }
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
  armDueTimers(ctx, task);
}

/** Arms the overdue and due-soon email timers of a task with a due date. */
function armDueTimers(ctx: Ctx, task: TaskState): void {
  const stepKey = task.step ?? 'adhoc';
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

/** Case-wide actions (add a task, cancel, suspend, resume): supervisors and administrators. */
function supervisesCase(actor: Actor): boolean {
  return actor.role === 'admin' || actor.role === 'supervisor' || actor.role === 'system';
}

const isoOf = (ms: number): string => new Date(ms).toISOString();

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
  if (
    event.type !== 'editClosed' &&
    event.type !== 'comment' &&
    event.type !== 'relinkEntity' &&
    state.ended
  ) {
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
    case 'relinkEntity':
      return null;
    case 'message':
      return (def.messages ?? []).some((m) => m.name === event.name)
        ? null
        : reject('UNKNOWN_MESSAGE', `Case type ${def.id} receives no message "${event.name}"`);
    case 'addTask':
    case 'cancel':
      return supervisesCase(actor)
        ? null
        : reject('FORBIDDEN', 'Only supervisors and administrators may do this');
    case 'suspend':
      if (!supervisesCase(actor))
        return reject('FORBIDDEN', 'Only supervisors and administrators may do this');
      return state.suspended
        ? reject(
            'CASE_SUSPENDED',
            `Case ${state.caseId} is already on hold (since ${isoOf(state.suspended.at)})`,
          )
        : null;
    case 'resume':
      if (!supervisesCase(actor))
        return reject('FORBIDDEN', 'Only supervisors and administrators may do this');
      return state.suspended ? null : reject('NOT_SUSPENDED', `Case ${state.caseId} is not on hold`);
    default:
      break;
  }
  const found = findTask(state, event.taskId);
  if ('code' in found) return found;
  const task = found;
  const excluded = task.excludedUsers ?? [];
  const who =
    event.type === 'claim' || event.type === 'complete'
      ? actor.userId
      : event.type === 'assign'
        ? event.assignee
        : event.type === 'delegate'
          ? event.to
          : undefined;
  if (who !== undefined && excluded.includes(who) && task.status === 'open') {
    return reject(
      'SEPARATION_OF_DUTIES',
      `${who === actor.userId ? 'You' : who} completed an earlier step of this case that task ${task.id} must be checked apart from (four eyes)`,
    );
  }
  if (
    (event.type === 'claim' || event.type === 'complete' || event.type === 'resolve') &&
    task.status === 'open'
  ) {
    if (state.suspended) {
      return reject(
        'CASE_SUSPENDED',
        `Case ${state.caseId} is on hold since ${isoOf(state.suspended.at)}: its tasks cannot be claimed or completed until a supervisor resumes it`,
      );
    }
    if (task.suspended) {
      return reject(
        'TASK_SUSPENDED',
        `Task ${task.id} is on hold since ${isoOf(task.suspended.at)}: it cannot be claimed or completed until a supervisor resumes it`,
      );
    }
  }
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
    case 'cancelTask':
      // An instance alone cannot go: the step would wait for it forever. Cancel the step's region instead.
      if (task.instance !== undefined)
        return reject('INVALID_ACTION', `Task ${task.id} is one instance of a multi-instance step`);
      return (
        requireOpen(task) ??
        (supervises(task, actor) ? null : reject('FORBIDDEN', 'Only a supervisor of the task may cancel it'))
      );
    case 'suspendTask':
      return (
        requireOpen(task) ??
        (!supervises(task, actor)
          ? reject('FORBIDDEN', 'Only a supervisor of the task may put it on hold')
          : task.suspended
            ? reject(
                'TASK_SUSPENDED',
                `Task ${task.id} is already on hold (since ${isoOf(task.suspended.at)})`,
              )
            : null)
      );
    case 'resumeTask':
      return (
        requireOpen(task) ??
        (!supervises(task, actor)
          ? reject('FORBIDDEN', 'Only a supervisor of the task may resume it')
          : task.suspended
            ? null
            : reject('NOT_SUSPENDED', `Task ${task.id} is not on hold by itself`))
      );
    case 'reschedule':
      return (
        requireOpen(task) ??
        (supervises(task, actor)
          ? null
          : reject('FORBIDDEN', 'Only a supervisor of the task may change its dates or priority'))
      );
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

/** What an entry point may add to a plain run: an oracle for abstract choices (checker, `simulate --pick`). */
export interface RunOptions {
  oracle?: ChoiceOracle;
}

function context(
  def: CaseTypeDefinition,
  state: CaseState,
  now: number,
  actor: string,
  opts: RunOptions,
): Ctx {
  return {
    def,
    state,
    now,
    actor,
    commands: [],
    timeline: [],
    changed: new Set(),
    entered: 0,
    agenda: [],
    legacy: state.semantics !== 2,
    oracle: opts.oracle,
  };
}

function result(ctx: Ctx): StepResult {
  sweepHolds(ctx);
  ctx.state.version += 1;
  return { state: ctx.state, commands: ctx.commands, timeline: ctx.timeline, changedTasks: [...ctx.changed] };
}

/** Starts a case: the initial status, then the start step(s). */
export function startCase(
  def: CaseTypeDefinition,
  input: StartInput,
  now: number,
  opts: RunOptions = {},
): StepResult {
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
  if (input.semantics !== 1) state.semantics = 2;
  state.title = input.title ?? renderText(def.title ?? def.name, evalContext(state));
  const ctx = context(def, state, now, input.actor ?? 'system', opts);
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
  settle(ctx);
  return result(ctx);
}

/** The earliest pending timer, if any. */
export function nextTimer(state: CaseState): TimerState | undefined {
  let earliest: TimerState | undefined;
  for (const timer of state.timers) {
    if (timer.pausedLeft !== undefined) continue;
    if (!earliest || timer.fireAt < earliest.fireAt) earliest = timer;
  }
  return earliest;
}

/** Applies one event. Actor events must have passed `checkEvent`; this throws if they have not. */
export function applyEvent(
  def: CaseTypeDefinition,
  current: CaseState,
  event: CaseEvent,
  now: number,
  opts: RunOptions = {},
): StepResult {
  const state = clone(current);
  const actorId = 'actor' in event ? event.actor.userId : 'system';
  const ctx = context(def, state, now, actorId, opts);
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
      if (event.actor.role !== 'system') ctx.chainedFrom = event.actor.userId;
      touch(ctx, task);
      state.timers = state.timers.filter((t) => t.taskId !== task.id || t.kind === 'email');
      const seq = record(ctx, 'task.completed', { outcome: event.outcome, by: event.actor.userId }, task.id);
      fireRules(ctx, { taskCompleted: task.step ?? 'adhoc' }, seq, task.id);
      const step = task.step === undefined ? undefined : def.steps[task.step];
      const token = state.tokens.find((t) => t.id === task.tokenId);
      if (step?.type === 'human' && token?.instance !== undefined) {
        const evalCtx = evalContext(state, { outcome: event.outcome, form: event.data ?? {} });
        completeInstance(ctx, token, event.outcome, evalCtx);
      } else if (step?.type === 'human' && token) {
        const transitions = step.outcomes[event.outcome];
        const evalCtx = evalContext(state, { outcome: event.outcome, form: event.data ?? {} });
        applyTransition(
          ctx,
          token,
          pick(ctx, transitions, evalCtx, `/steps/${task.step}/outcomes/${event.outcome}`),
          {
            reason: `task ${task.id} ${event.outcome}`,
            step: task.step,
          },
        );
      } else {
        finishIfIdle(ctx);
      }
      break;
    }
    case 'reschedule': {
      const task = state.tasks[event.taskId] as TaskState;
      const before = { dueAt: task.dueAt, followUpAt: task.followUpAt, priority: task.priority };
      if (event.dueAt !== undefined) task.dueAt = event.dueAt;
      if (event.followUpAt !== undefined) task.followUpAt = event.followUpAt;
      if (event.priority !== undefined) task.priority = event.priority;
      touch(ctx, task);
      const iso = (v: number | null): string | null => (v === null ? null : new Date(v).toISOString());
      record(
        ctx,
        'task.rescheduled',
        {
          before: { ...before, dueAt: iso(before.dueAt), followUpAt: iso(before.followUpAt) },
          after: { dueAt: iso(task.dueAt), followUpAt: iso(task.followUpAt), priority: task.priority },
        },
        task.id,
      );
      if (event.dueAt !== undefined) {
        // The overdue and due-soon reminders follow the new due date.
        state.timers = state.timers.filter(
          (t) => !(t.taskId === task.id && (t.kind === 'overdue' || t.kind === 'before-due')),
        );
        armDueTimers(ctx, task);
        // A due date set on hold is the date meant: the time held counts from now.
        if (task.heldSince !== undefined) task.heldSince = now;
      }
      break;
    }
    case 'cancelTask': {
      const task = state.tasks[event.taskId] as TaskState;
      const reason = `cancelled by ${event.actor.userId}: ${event.reason}`;
      const token = state.tokens.find((t) => t.taskId === task.id);
      // The task's path is over (as a dead end): a join goes on without it, and an idle case ends.
      if (token) withdrawToken(ctx, token, reason);
      else cancelOpenTask(ctx, task, reason);
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
    case 'relinkEntity': {
      const before = state.entity;
      if (before?.id === event.entity.id && before.name === event.entity.name) break;
      state.entity = clone(event.entity);
      record(ctx, 'entity.merged', {
        from: event.from ?? before?.id ?? null,
        fromName: before?.name ?? null,
        to: event.entity.id,
        toName: event.entity.name,
      });
      break;
    }
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
    case 'suspend':
      state.suspended = {
        at: now,
        by: event.actor.userId,
        ...(event.reason ? { reason: event.reason } : {}),
      };
      state.onHold = true;
      record(ctx, 'case.suspended', { reason: event.reason ?? null });
      break;
    case 'resume': {
      const since = (state.suspended as NonNullable<CaseState['suspended']>).at;
      delete state.suspended;
      record(ctx, 'case.resumed', { heldMs: now - since });
      // Messages that arrived on hold reach the case now, in the order they came.
      const held = state.heldMessages ?? [];
      delete state.heldMessages;
      for (const m of held) receiveMessage(ctx, m.name, m.payload);
      settle(ctx);
      break;
    }
    case 'suspendTask': {
      const task = state.tasks[event.taskId] as TaskState;
      task.suspended = { at: now, by: event.actor.userId, ...(event.reason ? { reason: event.reason } : {}) };
      state.onHold = true;
      touch(ctx, task);
      record(ctx, 'task.suspended', { reason: event.reason ?? null }, task.id);
      break;
    }
    case 'resumeTask': {
      const task = state.tasks[event.taskId] as TaskState;
      const since = (task.suspended as NonNullable<TaskState['suspended']>).at;
      delete task.suspended;
      touch(ctx, task);
      record(ctx, 'task.resumed', { heldMs: now - since }, task.id);
      break;
    }
    case 'message': {
      const payload = event.payload ?? {};
      if (state.suspended) {
        state.heldMessages = [...(state.heldMessages ?? []), { name: event.name, payload, at: now }];
        record(ctx, 'message.held', { name: event.name, reason: 'the case is on hold' });
        break;
      }
      receiveMessage(ctx, event.name, payload);
      break;
    }
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
        pick(
          ctx,
          step.outcomes?.[event.category] ?? step.then,
          evalContext(state, { subcase: event }),
          step.outcomes?.[event.category] === undefined
            ? `/steps/${token.step}/then`
            : `/steps/${token.step}/outcomes/${event.category}`,
        ),
        { reason: `subcase ${token.step}`, step: token.step },
      );
      break;
    }
    case 'subcaseRefused': {
      // The step fails visibly: a waiting step stays where it is (nothing will end the child it waits for)
      // until someone migrates, sets a status or cancels the case; one that did not wait has gone on.
      const token = state.tokens.find((t) => t.id === event.tokenId);
      record(ctx, 'subcase.refused', {
        step: token?.step ?? null,
        childCaseId: event.childCaseId,
        caseType: event.caseType,
        errors: event.errors,
      });
      break;
    }
    case 'assignmentUnavailable': {
      const task = state.tasks[event.taskId];
      if (!task || task.status !== 'open') break;
      const gone = new Set(event.missing);
      const missing = [
        ...(task.assignee !== null && gone.has(`user:${task.assignee}`) ? [`user:${task.assignee}`] : []),
        ...task.candidateTeams.filter((t) => gone.has(`team:${t}`)).map((t) => `team:${t}`),
      ];
      if (missing.length === 0) break; // Reassigned since.
      if (task.assignee !== null && gone.has(`user:${task.assignee}`)) task.assignee = null;
      task.candidateTeams = task.candidateTeams.filter((t) => !gone.has(`team:${t}`));
      // Nobody left to see it: it goes to the supervisors rather than vanishing.
      if (task.assignee === null && task.candidateTeams.length === 0 && task.candidateRoles.length === 0)
        task.candidateRoles = [...UNASSIGNABLE_FALLBACK];
      touch(ctx, task);
      record(ctx, 'task.unassignable', { missing, candidateRoles: task.candidateRoles }, task.id);
      break;
    }
    case 'serviceDone': {
      const token = state.tokens.find((t) => t.id === event.tokenId && t.service);
      const step = token ? def.steps[token.step] : undefined;
      if (!token || step?.type !== 'service') break;
      if (event.ok) {
        if (step.saveAs) state.data = setPath(state.data, step.saveAs, event.response);
        record(ctx, 'service.succeeded', {
          step: token.step,
          status: event.status,
          saved: step.saveAs ?? null,
        });
        applyTransition(
          ctx,
          token,
          pick(ctx, step.then, evalContext(state, { response: event.response }), `/steps/${token.step}/then`),
          { reason: `step ${token.step}`, step: token.step },
        );
      } else {
        record(ctx, 'service.failed', { step: token.step, status: event.status, error: event.error ?? null });
        applyTransition(ctx, token, step.onFailure, {
          reason: `step ${token.step} failed`,
          step: token.step,
        });
      }
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
  settle(ctx);
  return result(ctx);
}

const PRIORITY_ORDER: Priority[] = ['low', 'normal', 'high', 'urgent'];
/** Who may take a task whose assignee and teams are not in the directory (administrators act on any task). */
const UNASSIGNABLE_FALLBACK = ['supervisor'];

// ---------------------------------------------------------------------------------------------
// On hold (suspend / resume)

/** A message for the case: the first step waiting catches it, else it is buffered or dropped per its definition. */
function receiveMessage(ctx: Ctx, name: string, payload: Record<string, unknown>): void {
  const { state, def } = ctx;
  if (deliverMessage(ctx, name, payload)) return;
  if ((def.messages ?? []).find((m) => m.name === name)?.buffer) {
    state.pendingMessages = [...(state.pendingMessages ?? []), { name, payload, at: ctx.now }];
    record(ctx, 'message.buffered', { name });
  } else {
    record(ctx, 'message.dropped', { name, reason: 'no step waits for it' });
  }
}

/** An open task is held while it or its case is on hold. */
function isHeld(state: CaseState, task: TaskState): boolean {
  return task.status === 'open' && (task.suspended !== undefined || state.suspended !== undefined);
}

/** A timer pauses while its case is on hold, or the task it belongs to (its own, or its token's) is. */
function timerHeld(state: CaseState, timer: TimerState): boolean {
  if (state.suspended) return true;
  const taskId =
    timer.taskId ??
    (timer.tokenId === undefined ? undefined : state.tokens.find((t) => t.id === timer.tokenId)?.taskId);
  const task = taskId === undefined ? undefined : state.tasks[taskId];
  return task !== undefined && task.status === 'open' && task.suspended !== undefined;
}

/**
 * Brings tasks and timers in line with what is on hold, after every event: a timer that becomes held keeps
 * the time it had left, one released fires that much later; a task released has its due date moved by the
 * time it was held. Timers armed while on hold (a status's timers, a new task's) pause at once.
 */
function sweepHolds(ctx: Ctx): void {
  const { state, now } = ctx;
  if (!state.onHold) return;
  let holding = state.suspended !== undefined;
  for (const task of Object.values(state.tasks)) {
    const held = isHeld(state, task);
    if (held && task.heldSince === undefined) {
      task.heldSince = now;
      touch(ctx, task);
    } else if (!held && task.heldSince !== undefined) {
      if (task.status === 'open' && task.dueAt !== null) task.dueAt += now - task.heldSince;
      delete task.heldSince;
      touch(ctx, task);
    }
    if (held) holding = true;
  }
  for (const timer of state.timers) {
    const held = timerHeld(state, timer);
    if (held && timer.pausedLeft === undefined) timer.pausedLeft = Math.max(0, timer.fireAt - now);
    else if (!held && timer.pausedLeft !== undefined) {
      timer.fireAt = now + timer.pausedLeft;
      delete timer.pausedLeft;
    }
    if (held) holding = true;
  }
  if (!holding) delete state.onHold;
}

function fireTimer(ctx: Ctx, timerId: string): void {
  const { state, def } = ctx;
  const timer = state.timers.find((t) => t.id === timerId);
  // A paused timer (its case or task on hold) does not fire, even if its firing was already on the way.
  if (!timer || timer.pausedLeft !== undefined) return;
  state.timers = state.timers.filter((t) => t.id !== timerId);
  const task = timer.taskId === undefined ? undefined : state.tasks[timer.taskId];
  switch (timer.kind) {
    case 'wait': {
      const token = state.tokens.find((t) => t.id === timer.tokenId);
      const step = token ? def.steps[token.step] : undefined;
      if (!token || step?.type !== 'wait') return;
      record(ctx, 'wait.ended', { step: token.step });
      applyTransition(ctx, token, pick(ctx, step.then, evalContext(state), `/steps/${token.step}/then`), {
        reason: `wait ${token.step}`,
        step: token.step,
      });
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
        const index = (def.timers ?? []).indexOf(rule);
        const holds =
          rule.then.if === undefined
            ? true
            : ctx.oracle
              ? ctx.oracle.choose(`/timers/${index}/then/if`, 2) === 0
              : evaluateCondition(rule.then.if, evalContext(state));
        applyTransition(ctx, undefined, holds ? rule.then : undefined, { reason: `timer ${rule.id}` });
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
      ctx.commands.push(
        emailCommand(rule.id, timer.eventKey ?? timer.id, rule, rule, timer.taskId, timer.eventStatus),
      );
      return;
    }
    case 'boundary': {
      const token = state.tokens.find((t) => t.id === timer.tokenId);
      if (token) fireBoundary(ctx, token, timer.index ?? 0);
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
