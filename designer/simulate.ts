import { DefinitionRuntimeError } from '../engine/errors';
import { applyEvent, checkEvent, nextTimer, startCase, type RunOptions } from '../engine/interpreter';
import type { Actor, CaseEvent, CaseState, EntitySnapshot, StepResult, TaskState } from '../engine/state';
import type { CaseTypeDefinition, StatusCategory } from '../engine/types';

/** Start of simulated time unless the caller gives one: a Monday, 09:00 UTC. */
const DEFAULT_NOW = Date.UTC(2025, 0, 6, 9, 0, 0);
const CATEGORIES: StatusCategory[] = ['open', 'won', 'lost', 'closed'];

export interface SimulationOptions {
  startData?: Record<string, unknown>;
  /** Simulated start time (epoch ms). */
  now?: number;
  entity?: EntitySnapshot | null;
  ownerId?: string | null;
  /**
   * Answers for the choices the case data would make (`--pick`): the n-th condition decision takes the
   * n-th answer (0 = the first transition that may hold, ...), as the soundness check prints them. Given,
   * conditions are not evaluated at all; decisions past the list take 0.
   */
  picks?: number[];
}

export interface SimulatedTask {
  id: string;
  step: string | null;
  action: string;
  title: string;
  /** The assignee; `<round-robin:team>` / `<least-busy:team>` where an assignment rule would pick one. */
  assignee: string | null;
  /** `team:<id>` and `role:<role>` entries of a task that candidates claim. */
  candidates: string[];
  priority: string;
  createdAt: string;
  due: string | null;
  followUp: string | null;
  status: TaskState['status'];
  outcome: string | null;
}

export interface SimulatedEmail {
  at: string;
  rule: string;
  template: string;
  to: string[];
  cc: string[];
  bcc: string[];
  taskId?: string;
}

export interface SimulatedEntry {
  at: string;
  kind: string;
  /** One readable line describing the entry. */
  text: string;
  taskId?: string;
  detail: Record<string, unknown>;
}

export interface SimulationResult {
  timeline: SimulatedEntry[];
  tasks: SimulatedTask[];
  statusChanges: { at: string; from: string; to: string }[];
  emails: SimulatedEmail[];
  subcases: { at: string; step: string; caseType: string; wait: boolean; data: Record<string, unknown> }[];
  finalStatus: string;
  finalCategory: StatusCategory;
  ended: boolean;
  /** Steps of the tasks still open at the end (the case's current steps). */
  currentSteps: string[];
  /** Every step entered, with how many times. */
  visits: Record<string, number>;
  /** Each (step, outcome) taken: human outcomes and sub-case results. */
  transitions: { step: string; outcome: string }[];
  /** Number of choices used before the simulation stopped. */
  choicesUsed: number;
  /** Why the simulation stopped early (a choice that does not apply, a definition error). */
  error?: string;
  state: CaseState | null;
}

class ChoiceError extends Error {
  override name = 'ChoiceError';
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function describe(
  kind: string,
  detail: Record<string, unknown>,
  tasks: Record<string, TaskState>,
  taskId?: string,
): string {
  const task = taskId === undefined ? undefined : tasks[taskId];
  const name = task ? `"${task.title}"${task.step ? ` [${task.step}]` : ''}` : (taskId ?? '');
  const s = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));
  switch (kind) {
    case 'case.started':
      return `case started in ${s(detail.status)}`;
    case 'status.changed':
      return `status ${s(detail.from)} -> ${s(detail.to)}`;
    case 'task.created': {
      const who =
        task?.assignee ??
        ([
          ...(task?.candidateTeams ?? []).map((t) => `team ${t}`),
          ...(task?.candidateRoles ?? []).map((r) => `role ${r}`),
        ].join(', ') ||
          'nobody');
      const due = task?.dueAt ? `, due ${iso(task.dueAt) ?? ''}` : '';
      return `task ${name} (${task?.action ?? '?'}) for ${who}${due}`;
    }
    case 'task.completed':
      return `task ${name} completed: ${s(detail.outcome)}`;
    case 'task.assigned':
      return `task ${name} assigned to ${s(detail.assignee)}`;
    case 'task.cancelled':
      return `task ${name} cancelled (${s(detail.reason)})`;
    case 'task.escalated':
      return `task ${name} escalated to level ${s(detail.level)}${detail.priority ? ` (priority ${s((detail.priority as { to: string }).to)})` : ''}${detail.reassignedFrom !== undefined ? ' (reassigned)' : ''}`;
    case 'task.overdue':
      return `task ${name} is overdue`;
    case 'task.due-soon':
      return `task ${name} is due soon`;
    case 'field.set':
      return `field ${s(detail.path)} = ${JSON.stringify(detail.value)}`;
    case 'wait.started':
      return `waiting at ${s(detail.step)} until ${s(detail.until)}`;
    case 'wait.ended':
      return `wait ${s(detail.step)} over`;
    case 'parallel.started':
      return `parallel ${s(detail.step)}: ${(detail.branches as string[]).join(', ')}`;
    case 'parallel.joined':
      if (detail.need === undefined) return `branches joined at ${s(detail.step)}`;
      return `join ${s(detail.step)} fired: ${s(detail.arrived)} arrived (needs ${s(detail.need)}); ${
        detail.rest === 'absorb'
          ? 'the other branches run on and are absorbed'
          : `${s(detail.withdrawn)} other branch token(s) withdrawn`
      }`;
    case 'join.absorbed':
      return `a late branch reaches ${s(detail.step)} and is absorbed (the join does not fire again)`;
    case 'parallel.reset':
      return `join ${s(detail.step)} resets: every branch has arrived or ended`;
    case 'parallel.blocked':
      return `join ${s(detail.step)} could fire but waits until its earlier instance resets`;
    case 'parallel.withdrawn':
      return `every branch of ${s(detail.step)} withdrawn: ${s(detail.join)} does not continue`;
    case 'token.withdrawn':
      return `branch at ${s(detail.step)} ends without reaching its join (withdrawn)`;
    case 'subcase.started':
      return `sub-case ${s(detail.caseType)} started${detail.wait ? ' (waiting for it)' : ''}`;
    case 'subcase.ended':
      return `sub-case ended ${s(detail.category)}`;
    case 'timer.fired':
      return `case timer ${s(detail.timer)} fired`;
    case 'email.skipped':
      return `email ${s(detail.rule)} not sent: ${s(detail.reason)}`;
    case 'step.email':
      return `automatic email from ${s(detail.step)}`;
    case 'case.ended':
      return `case ended in ${s(detail.status)} (${s(detail.reason)})`;
    case 'email':
      return `email ${s(detail.rule)} (${s(detail.template)}) to ${(detail.to as string[]).join(', ')}${(detail.cc as string[]).length ? ` cc ${(detail.cc as string[]).join(', ')}` : ''}`;
    default:
      return `${kind} ${JSON.stringify(detail)}`;
  }
}

/**
 * A stand-in for the user who completes a task: its assignee, or a member of its candidate team; under four
 * eyes, another person than the ones the task excludes (as a real team would have).
 */
function actorFor(task: TaskState): Actor {
  let userId = task.assignee ?? `<${task.candidateTeams[0] ?? task.candidateRoles[0] ?? 'user'}>`;
  while (task.excludedUsers?.includes(userId)) userId = `${userId}'`;
  return { userId, role: 'admin', teams: task.candidateTeams };
}

function openTasks(state: CaseState): TaskState[] {
  return Object.values(state.tasks).filter((t) => t.status === 'open');
}

/** Turns one choice into the event it stands for, or explains why it does not apply. */
function eventFor(
  def: CaseTypeDefinition,
  state: CaseState,
  choice: string,
): { event: CaseEvent; taken?: { step: string; outcome: string } } {
  if (choice === 'wait' || choice === 'timer') {
    const timer = nextTimer(state);
    if (!timer) throw new ChoiceError(`"${choice}": no timer is pending`);
    return { event: { type: 'timerFired', timerId: timer.id } };
  }
  if (choice.startsWith('wait:')) {
    const step = choice.slice(5);
    const token = state.tokens.find((t) => t.step === step);
    const timer = token && state.timers.find((t) => t.kind === 'wait' && t.tokenId === token.id);
    if (!timer) throw new ChoiceError(`"${choice}": no wait is pending at step "${step}"`);
    return { event: { type: 'timerFired', timerId: timer.id } };
  }
  if (choice.startsWith('boundary:')) {
    const [step, index] = choice.slice(9).split(':');
    const token = state.tokens.find((t) => t.step === step);
    const timer =
      token &&
      state.timers.find((t) => t.kind === 'boundary' && t.tokenId === token.id && String(t.index) === index);
    if (!timer)
      throw new ChoiceError(
        `"${choice}": no boundary timer ${index ?? '?'} is armed at step "${step ?? ''}"`,
      );
    return { event: { type: 'timerFired', timerId: timer.id } };
  }
  if (choice.startsWith('service:')) {
    const [step, result] = choice.slice(8).split(':');
    if (result !== 'ok' && result !== 'fail')
      throw new ChoiceError(`"${choice}": use service:<step>:ok or service:<step>:fail`);
    const token = state.tokens.find((t) => t.service && t.step === step);
    if (!token) throw new ChoiceError(`"${choice}": step "${step ?? ''}" is not calling a service`);
    return {
      event: {
        type: 'serviceDone',
        tokenId: token.id,
        ok: result === 'ok',
        status: result === 'ok' ? 200 : null,
        response: {},
      },
      taken: { step: token.step, outcome: result },
    };
  }
  if (choice.startsWith('cancel:')) {
    // A supervisor cancels the open task of a step (POST /api/tasks/:id/cancel).
    const step = choice.slice(7);
    const task = Object.values(state.tasks).find((t) => t.step === step && t.status === 'open');
    if (!task) throw new ChoiceError(`"${choice}": step "${step}" has no open task`);
    const event: CaseEvent = {
      type: 'cancelTask',
      taskId: task.id,
      reason: 'simulated',
      actor: { userId: 'simulator', role: 'system', teams: [] },
    };
    const rejection = checkEvent(def, state, event);
    if (rejection) throw new ChoiceError(`"${choice}": ${rejection.message}`);
    return { event };
  }
  if (choice.startsWith('message:')) {
    const name = choice.slice(8);
    const event: CaseEvent = {
      type: 'message',
      name,
      actor: { userId: 'simulator', role: 'system', teams: [] },
    };
    const rejection = checkEvent(def, state, event);
    if (rejection) throw new ChoiceError(`"${choice}": ${rejection.message}`);
    return { event };
  }
  if (choice.startsWith('timer:')) {
    const rule = choice.slice(6);
    const timer = state.timers.find((t) => t.kind === 'case' && t.ruleId === rule);
    if (!timer)
      throw new ChoiceError(`"${choice}": case timer "${rule}" is not armed in status ${state.status}`);
    return { event: { type: 'timerFired', timerId: timer.id } };
  }
  if (choice.startsWith('sub:')) {
    const parts = choice.slice(4).split(':');
    const category = parts[parts.length - 1] as StatusCategory;
    const stepId = parts.length > 1 ? parts.slice(0, -1).join(':') : undefined;
    if (!CATEGORIES.includes(category)) {
      throw new ChoiceError(
        `"${choice}": use sub:won, sub:lost, sub:closed or sub:open (or sub:<step>:<category>)`,
      );
    }
    const token = state.tokens.find(
      (t) => t.subcaseId !== undefined && (stepId === undefined || t.step === stepId),
    );
    if (!token) {
      throw new ChoiceError(
        `"${choice}": no step${stepId === undefined ? '' : ` "${stepId}"`} is waiting for a sub-case`,
      );
    }
    return {
      event: { type: 'subcaseEnded', tokenId: token.id, status: category.toUpperCase(), category },
      taken: { step: token.step, outcome: category },
    };
  }
  const [stepPart, outcomePart] = choice.includes('=') ? choice.split('=', 2) : [undefined, choice];
  const open = openTasks(state);
  const task = stepPart === undefined ? open[0] : open.find((t) => t.step === stepPart);
  if (!task) {
    const waiting = state.timers.length > 0 ? '; use "wait" to let the next timer fire' : '';
    throw new ChoiceError(
      stepPart === undefined
        ? `"${choice}": no open task${waiting}`
        : `"${choice}": no open task of step "${stepPart}" (open: ${open.map((t) => t.step ?? t.id).join(', ') || 'none'})`,
    );
  }
  const outcome = outcomePart ?? '';
  const event: CaseEvent = { type: 'complete', taskId: task.id, outcome, actor: actorFor(task) };
  const rejection = checkEvent(def, state, event);
  if (rejection)
    throw new ChoiceError(`"${choice}" for task [${task.step ?? task.id}]: ${rejection.message}`);
  return task.step === undefined ? { event } : { event, taken: { step: task.step, outcome } };
}

/**
 * Runs a definition through the pure interpreter with no side effects: starts a case, then applies each
 * choice (`outcome`, `step=outcome`, `wait`/`timer`, `sub:<category>`) in turn.
 */
export function simulate(
  def: CaseTypeDefinition,
  choices: string[],
  opts: SimulationOptions = {},
): SimulationResult {
  let now = opts.now ?? DEFAULT_NOW;
  const result: SimulationResult = {
    timeline: [],
    tasks: [],
    statusChanges: [],
    emails: [],
    subcases: [],
    finalStatus: def.initialStatus,
    finalCategory: 'open',
    ended: false,
    currentSteps: [],
    visits: {},
    transitions: [],
    choicesUsed: 0,
    state: null,
  };
  let state: CaseState | null = null;
  const picks = opts.picks;
  let picked = 0;
  const run: RunOptions =
    picks === undefined
      ? {}
      : {
          oracle: {
            choose(_site, options) {
              const answer = picks[picked] ?? 0;
              picked += 1;
              if (answer < 0 || answer >= options) {
                throw new ChoiceError(
                  `--pick ${answer} (decision ${picked}): there are ${options} choices there`,
                );
              }
              return answer;
            },
          },
        };

  const absorb = (step: StepResult): void => {
    state = step.state;
    for (const entry of step.timeline) {
      result.timeline.push({
        at: iso(entry.at) ?? '',
        kind: entry.kind,
        text: describe(entry.kind, entry.detail, step.state.tasks, entry.taskId),
        ...(entry.taskId === undefined ? {} : { taskId: entry.taskId }),
        detail: entry.detail,
      });
      if (entry.kind === 'status.changed') {
        result.statusChanges.push({
          at: iso(entry.at) ?? '',
          from: String(entry.detail.from),
          to: String(entry.detail.to),
        });
      }
    }
    for (const command of step.commands) {
      switch (command.kind) {
        case 'email': {
          const email: SimulatedEmail = {
            at: iso(now) ?? '',
            rule: command.ruleId,
            template: command.template,
            to: command.to,
            cc: command.cc,
            bcc: command.bcc,
            ...(command.taskId === undefined ? {} : { taskId: command.taskId }),
          };
          result.emails.push(email);
          const detail = { rule: email.rule, template: email.template, to: email.to, cc: email.cc };
          result.timeline.push({ at: email.at, kind: 'email', text: describe('email', detail, {}), detail });
          break;
        }
        case 'resolveAssignee':
          absorb(
            applyEvent(
              def,
              step.state,
              {
                type: 'assigneeResolved',
                taskId: command.taskId,
                assignee: `<${command.strategy}:${command.team}>`,
              },
              now,
            ),
          );
          break;
        case 'startSubcase': {
          const started = step.timeline.find(
            (e) => e.kind === 'subcase.started' && e.detail.childCaseId === command.childCaseId,
          );
          result.subcases.push({
            at: iso(now) ?? '',
            step: String(started?.detail.step ?? ''),
            caseType: command.caseType,
            wait: command.wait,
            data: command.data,
          });
          break;
        }
        case 'callService':
          // Nothing is called: the choice service:<step>:ok (or :fail) says how the call ends.
          break;
        default: {
          const unexpected: never = command;
          throw new DefinitionRuntimeError(`Unhandled command ${JSON.stringify(unexpected)}`);
        }
      }
    }
  };

  try {
    absorb(
      startCase(
        def,
        {
          caseId: 'SIM',
          caseType: def.id,
          definitionVersion: 1,
          data: opts.startData ?? {},
          entity:
            opts.entity === undefined
              ? { id: 'E-1', name: 'ACME Corp', agentId: '<entity agent>' }
              : opts.entity,
          ownerId: opts.ownerId === undefined ? '<owner>' : opts.ownerId,
          actor: 'simulator',
        },
        now,
        run,
      ),
    );
    for (const choice of choices) {
      const current = state as CaseState | null;
      if (!current) break;
      if (current.ended) throw new ChoiceError(`"${choice}": the case has already ended`);
      const { event, taken } = eventFor(def, current, choice.trim());
      if (event.type === 'timerFired') {
        now = Math.max(now, current.timers.find((t) => t.id === event.timerId)?.fireAt ?? now);
      }
      absorb(applyEvent(def, current, event, now, run));
      if (taken) result.transitions.push(taken);
      result.choicesUsed += 1;
    }
  } catch (e) {
    if (!(e instanceof ChoiceError) && !(e instanceof DefinitionRuntimeError)) throw e;
    result.error = e.message;
  }

  const final = state as CaseState | null;
  if (final) {
    result.state = final;
    result.finalStatus = final.status;
    result.finalCategory = final.statusCategory;
    result.ended = final.ended;
    result.visits = { ...final.visits };
    result.tasks = Object.values(final.tasks).map((t) => ({
      id: t.id,
      step: t.step ?? null,
      action: t.action,
      title: t.title,
      assignee: t.assignee,
      candidates: [...t.candidateTeams.map((x) => `team:${x}`), ...t.candidateRoles.map((x) => `role:${x}`)],
      priority: t.priority,
      createdAt: iso(t.createdAt) ?? '',
      due: iso(t.dueAt),
      followUp: iso(t.followUpAt),
      status: t.status,
      outcome: t.outcome,
    }));
    result.currentSteps = openTasks(final).flatMap((t) => (t.step === undefined ? [] : [t.step]));
  }
  return result;
}

/** A readable, multi-line account of a simulation. */
export function formatSimulation(result: SimulationResult): string {
  const lines = result.timeline.map((e) => `${e.at.replace('T', ' ').slice(0, 16)}  ${e.text}`);
  lines.push('');
  lines.push(
    `final status: ${result.finalStatus} (${result.finalCategory})${result.ended ? ', case ended' : ', case still running'}`,
  );
  if (result.currentSteps.length > 0) lines.push(`open tasks at: ${result.currentSteps.join(', ')}`);
  lines.push(
    `tasks: ${result.tasks.length}, emails: ${result.emails.length}, choices used: ${result.choicesUsed}`,
  );
  if (result.error) lines.push(`stopped: ${result.error}`);
  return lines.join('\n');
}

export interface CoverageReport {
  steps: { covered: string[]; uncovered: string[] };
  transitions: {
    covered: { step: string; outcome: string }[];
    uncovered: { step: string; outcome: string }[];
  };
  /** Per path: the error that stopped it, if any. */
  paths: { choices: string[]; finalStatus: string; ended: boolean; error?: string }[];
}

/** Which steps and (step, outcome) transitions a set of simulated paths exercises, and which not. */
export function coverage(
  def: CaseTypeDefinition,
  paths: string[][],
  opts: SimulationOptions = {},
): CoverageReport {
  const visited = new Set<string>();
  const taken = new Set<string>();
  const report: CoverageReport = {
    steps: { covered: [], uncovered: [] },
    transitions: { covered: [], uncovered: [] },
    paths: [],
  };
  for (const choices of paths) {
    const run = simulate(def, choices, opts);
    for (const step of Object.keys(run.visits)) visited.add(step);
    for (const t of run.transitions) taken.add(`${t.step}\u0000${t.outcome}`);
    report.paths.push({
      choices,
      finalStatus: run.finalStatus,
      ended: run.ended,
      ...(run.error === undefined ? {} : { error: run.error }),
    });
  }
  for (const [id, step] of Object.entries(def.steps)) {
    (visited.has(id) ? report.steps.covered : report.steps.uncovered).push(id);
    const outcomes =
      step.type === 'human'
        ? Object.keys(step.outcomes)
        : step.type === 'subcase' && step.wait
          ? Object.keys(step.outcomes ?? {}).filter((o) => o !== 'started')
          : [];
    for (const outcome of outcomes) {
      (taken.has(`${id}\u0000${outcome}`) ? report.transitions.covered : report.transitions.uncovered).push({
        step: id,
        outcome,
      });
    }
  }
  return report;
}

/** A readable coverage summary. */
export function formatCoverage(report: CoverageReport): string {
  const pct = (a: number, b: number): string => (b === 0 ? '100%' : `${Math.round((100 * a) / b)}%`);
  const s = report.steps;
  const t = report.transitions;
  const lines = [
    `steps: ${s.covered.length}/${s.covered.length + s.uncovered.length} (${pct(s.covered.length, s.covered.length + s.uncovered.length)})`,
    ...s.uncovered.map((id) => `  not covered: ${id}`),
    `transitions: ${t.covered.length}/${t.covered.length + t.uncovered.length} (${pct(t.covered.length, t.covered.length + t.uncovered.length)})`,
    ...t.uncovered.map((x) => `  not covered: ${x.step} -> ${x.outcome}`),
    ...report.paths.map(
      (p, i) =>
        `path ${i + 1} [${p.choices.join(', ')}]: ${p.finalStatus}${p.ended ? ' (ended)' : ''}${p.error ? ` - stopped: ${p.error}` : ''}`,
    ),
  ];
  return lines.join('\n');
}
