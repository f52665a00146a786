import { DefinitionRuntimeError } from '../engine/errors';
import { applyEvent, startCase, type ChoiceOracle } from '../engine/interpreter';
import type { Actor, CaseEvent, CaseState, StepResult } from '../engine/state';
import type { CaseTypeDefinition, SoundnessCheck, StatusCategory } from '../engine/types';
import { issue, type DefinitionIssue } from './issues';

/**
 * The soundness check (definitions/README.md#soundness-check): explores every state a case of the
 * definition can reach, running the real interpreter, with the choices a case meets taken every way —
 * each outcome of each open task, each pending wait or case timer firing, each category a sub-case can end
 * in, and every transition a condition could select (the case data is abstracted: a condition may hold or
 * not). It reports what no designer wants, each with a path to paste into `simulate`.
 */

/** Exploration bounds: past them the check says it was not exhaustive and reports only what it saw. */
export interface SoundnessBounds {
  /** Distinct abstract states explored at most. */
  maxStates: number;
  /** A state with more live tokens than this is not expanded further (a fork inside a loop grows without bound). */
  maxTokens: number;
}

export const DEFAULT_BOUNDS: SoundnessBounds = { maxStates: 20_000, maxTokens: 24 };

export interface SoundnessFinding {
  check: SoundnessCheck;
  severity: 'error' | 'warning';
  /** The step it concerns, when there is one. */
  step?: string;
  pointer: string;
  message: string;
  hint: string;
  /** Choices (simulate's syntax) that lead there, and the oracle answers for conditions along the way. */
  choices: string[];
  picks: number[];
}

export interface SoundnessReport {
  findings: SoundnessFinding[];
  /** Findings the definition's `soundness.accept` list names. */
  accepted: SoundnessFinding[];
  states: number;
  transitions: number;
  exhaustive: boolean;
  /** Why the exploration stopped short, when it did. */
  truncated?: string;
}

const CATEGORIES: StatusCategory[] = ['open', 'won', 'lost', 'closed'];
const T0 = Date.UTC(2025, 0, 6, 9, 0, 0);
const CHECKER: Actor = { userId: '<checker>', role: 'system', teams: [] };

interface Node {
  key: string;
  state: CaseState;
  /** How this node was first reached: its parent, the choice and the oracle answers. */
  parent: Node | undefined;
  choice: string | undefined;
  picks: number[];
  successors: Node[];
  expanded: boolean;
}

/** Runs `step` once per combination of oracle answers, depth first, and returns each run with its answers. */
function everyAnswer(step: (oracle: ChoiceOracle) => StepResult): { result: StepResult; picks: number[] }[] {
  const runs: { result: StepResult; picks: number[] }[] = [];
  const scripts: number[][] = [[]];
  while (scripts.length > 0) {
    const script = scripts.pop() as number[];
    const taken: number[] = [];
    const oracle: ChoiceOracle = {
      choose(_site, options) {
        const k = taken.length;
        if (k >= script.length) for (let alt = options - 1; alt >= 1; alt -= 1) scripts.push([...taken, alt]);
        const answer = k < script.length ? (script[k] as number) : 0;
        taken.push(answer);
        return answer;
      },
    };
    runs.push({ result: step(oracle), picks: taken });
  }
  return runs;
}

/**
 * The abstract state: what decides the case's future. Data, ids, times and counters are left out; split
 * instances are renamed in a fixed order so that equal situations reached by different paths meet.
 */
function abstractKey(state: CaseState): string {
  if (state.ended) return 'ended';
  const names = new Map<string, string>();
  const name = (group: string): string => {
    const known = names.get(group);
    if (known) return known;
    const join = state.joins[group];
    const fresh = `${join?.split ?? '?'}#${names.size}`;
    names.set(group, fresh);
    return fresh;
  };
  const tokens = state.tokens
    .map((t) => ({
      step: t.step,
      groups: t.groups,
      wait: t.subcaseId !== undefined ? 's' : t.service ? 'h' : '',
    }))
    .sort((a, b) => (a.step < b.step ? -1 : a.step > b.step ? 1 : a.groups.length - b.groups.length))
    .map((t) => `${t.step}${t.wait}[${t.groups.map(name).join('/')}]`);
  const joins = Object.entries(state.joins)
    .map(([g, j]) => {
      // A partial join's count matters (it fires at `need`), and so does whether it already fired.
      const progress = j.multi
        ? `${j.arrived}/${j.multi.started}/${j.multi.need}`
        : j.partial
          ? `${Math.min(j.arrived, j.partial.need)}/${j.partial.need}${j.partial.fired ? 'f' : ''}`
          : j.arrived > 0
            ? 'a'
            : '-';
      return `${name(g)}>${j.step}:${progress}[${j.groups.map(name).join('/')}]`;
    })
    .sort();
  const timers = state.timers
    .flatMap((t) => {
      if (t.kind === 'case') return [t.ruleId ?? ''];
      const token = t.kind === 'boundary' ? state.tokens.find((k) => k.id === t.tokenId) : undefined;
      return token ? [`${token.step}@${t.index ?? 0}`] : [];
    })
    .sort();
  const pending = (state.pendingMessages ?? []).map((m) => m.name).sort();
  return `${state.status}|${tokens.join(',')}|${joins.join(',')}|${timers.join(',')}|${pending.join(',')}`;
}

/** Every event that moves the case on, with its choice in `simulate` syntax. */
function choicesIn(def: CaseTypeDefinition, state: CaseState): { choice: string; event: CaseEvent }[] {
  const out: { choice: string; event: CaseEvent }[] = [];
  const seenSteps = new Set<string>();
  for (const task of Object.values(state.tasks)) {
    if (task.status !== 'open' || task.step === undefined || seenSteps.has(task.step)) continue;
    seenSteps.add(task.step);
    const step = def.steps[task.step];
    if (step?.type !== 'human') continue;
    for (const outcome of Object.keys(step.outcomes)) {
      out.push({
        choice: `${task.step}=${outcome}`,
        // One stand-in per step, so four eyes (separateFrom) sees two people, as a real team would be.
        event: {
          type: 'complete',
          taskId: task.id,
          outcome,
          actor: { ...CHECKER, userId: `<checker:${task.step}>` },
        },
      });
    }
  }
  const seenWaits = new Set<string>();
  for (const timer of state.timers) {
    if (timer.kind === 'wait') {
      const token = state.tokens.find((t) => t.id === timer.tokenId);
      if (!token || seenWaits.has(token.step)) continue;
      seenWaits.add(token.step);
      out.push({ choice: `wait:${token.step}`, event: { type: 'timerFired', timerId: timer.id } });
    } else if (timer.kind === 'boundary') {
      const token = state.tokens.find((t) => t.id === timer.tokenId);
      if (token)
        out.push({
          choice: `boundary:${token.step}:${timer.index ?? 0}`,
          event: { type: 'timerFired', timerId: timer.id },
        });
    } else if (timer.kind === 'case' && timer.ruleId !== undefined) {
      out.push({ choice: `timer:${timer.ruleId}`, event: { type: 'timerFired', timerId: timer.id } });
    }
  }
  for (const message of def.messages ?? []) {
    const caught = state.tokens.some((t) => {
      const step = def.steps[t.step];
      if (t.subcaseId !== undefined || (step?.type !== 'wait' && step?.type !== 'human')) return false;
      return (
        (step.type === 'wait' && step.message === message.name) ||
        (step.boundary ?? []).some((e) => e.message === message.name)
      );
    });
    if (caught)
      out.push({
        choice: `message:${message.name}`,
        event: { type: 'message', name: message.name, actor: CHECKER },
      });
  }
  for (const token of state.tokens) {
    if (!token.service) continue;
    for (const ok of [true, false]) {
      out.push({
        choice: `service:${token.step}:${ok ? 'ok' : 'fail'}`,
        event: { type: 'serviceDone', tokenId: token.id, ok, status: ok ? 200 : null, response: {} },
      });
    }
  }
  const seenSubs = new Set<string>();
  for (const token of state.tokens) {
    if (token.subcaseId === undefined || seenSubs.has(token.step)) continue;
    seenSubs.add(token.step);
    for (const category of CATEGORIES) {
      out.push({
        choice: `sub:${token.step}:${category}`,
        event: { type: 'subcaseEnded', tokenId: token.id, status: category.toUpperCase(), category },
      });
    }
  }
  return out;
}

function pathOf(node: Node): { choices: string[]; picks: number[] } {
  const chain: Node[] = [];
  for (let n: Node | undefined = node; n; n = n.parent) chain.unshift(n);
  return {
    choices: chain.flatMap((n) => (n.choice === undefined ? [] : [n.choice])),
    picks: chain.flatMap((n) => n.picks),
  };
}

/** The `simulate` command that replays a finding's path. */
export function simulateCommand(file: string, finding: Pick<SoundnessFinding, 'choices' | 'picks'>): string {
  const choose = finding.choices.length > 0 ? ` --choose ${finding.choices.join(' ')}` : '';
  const pick = finding.picks.length > 0 ? ` --pick ${finding.picks.join(',')}` : '';
  return `npm run definitions -- simulate ${file}${choose}${pick}`;
}

/** Steps a token could ever be put on, read from the definition's links alone. */
function linkedSteps(def: CaseTypeDefinition): Set<string> {
  const refs = (t: unknown): string[] => {
    const list = Array.isArray(t) ? t : t === undefined ? [] : [t];
    return list.flatMap((x: { next?: string | string[] }) =>
      x.next === undefined ? [] : Array.isArray(x.next) ? x.next : [x.next],
    );
  };
  const roots = [
    ...(Array.isArray(def.start) ? def.start : [def.start]),
    ...(def.timers ?? []).flatMap((t) => refs(t.then)),
  ];
  const seen = new Set<string>();
  const queue = [...roots];
  while (queue.length > 0) {
    const id = queue.shift() as string;
    const step = def.steps[id];
    if (seen.has(id) || !step) continue;
    seen.add(id);
    switch (step.type) {
      case 'human':
        queue.push(...Object.values(step.outcomes).flatMap(refs));
        break;
      case 'parallel':
        queue.push(...step.branches, step.join);
        break;
      case 'subcase':
        queue.push(...Object.values(step.outcomes ?? {}).flatMap(refs), ...refs(step.then));
        break;
      default:
        queue.push(...refs(step.then));
    }
  }
  return seen;
}

/** Explores the definition's state space within `bounds` and reports its findings. */
export function checkSoundness(
  def: CaseTypeDefinition,
  opts: { bounds?: Partial<SoundnessBounds>; definitions?: ReadonlyMap<string, CaseTypeDefinition> } = {},
): SoundnessReport {
  const bounds = { ...DEFAULT_BOUNDS, ...opts.bounds };
  const findings: SoundnessFinding[] = [];
  const once = new Set<string>();
  const report = (finding: SoundnessFinding): void => {
    const id = `${finding.check}\u0000${finding.step ?? ''}`;
    if (once.has(id)) return;
    once.add(id);
    findings.push(finding);
  };
  const nodes = new Map<string, Node>();
  const queue: Node[] = [];
  let transitions = 0;
  let truncated: string | undefined;
  const visited = new Set<string>();

  /** Looks at one step of a run: what it entered, whether a join fired twice, how the case ended. */
  const inspect = (
    from: Node | undefined,
    result: StepResult,
    choice: string | undefined,
    picks: number[],
  ) => {
    for (const [step, n] of Object.entries(result.state.visits)) if (n > 0) visited.add(step);
    const path = (): { choices: string[]; picks: number[] } => {
      const base = from ? pathOf(from) : { choices: [], picks: [] };
      return {
        choices: choice === undefined ? base.choices : [...base.choices, choice],
        picks: [...base.picks, ...picks],
      };
    };
    const joined = result.timeline
      .filter((e) => e.kind === 'parallel.joined')
      .map((e) => String(e.detail.group));
    // A fired absorbing join keeps its group until the rest have arrived; it must not fire again.
    const twice = joined.find(
      (g, i) =>
        joined.indexOf(g) !== i ||
        (g in result.state.joins && result.state.joins[g]?.partial?.fired !== true),
    );
    if (twice !== undefined) {
      const entry = result.timeline.find((e) => e.kind === 'parallel.joined' && e.detail.group === twice);
      const step = String(entry?.detail.step ?? '');
      report({
        check: 'join-fires-twice',
        severity: 'error',
        step,
        pointer: `/steps/${step}`,
        message: `the join "${step}" fires twice for one split`,
        hint: 'this is an engine fault: please report it with the definition',
        ...path(),
      });
    }
    const ended = result.timeline.find((e) => e.kind === 'case.ended');
    if (!ended) return;
    const step = typeof ended.detail.step === 'string' ? ended.detail.step : undefined;
    const cut = Number(ended.detail.withdrawnTokens ?? 0);
    if (cut > 0 && step !== undefined) {
      report({
        check: 'ends-with-live-work',
        severity: 'error',
        step,
        pointer: `/steps/${step}`,
        message: `a transition of "${step}" ends the case while ${cut} other branch${cut === 1 ? ' is' : 'es are'} still running; their work is withdrawn`,
        hint: `lead the branch to its join instead; if stopping everything is intended, accept it: "soundness": {"accept": [{"check": "ends-with-live-work", "step": "${step}", "because": "..."}]}`,
        ...path(),
      });
    }
    const category = def.statuses.find((s) => s.code === result.state.status)?.category;
    if (ended.detail.reason === 'no more work' && category === 'open') {
      report({
        check: 'ends-open',
        severity: 'warning',
        pointer: '',
        message: `the case can run out of work and end while still in the open status "${result.state.status}"`,
        hint: 'give the last transition a won, lost or closed status, or an "end": true with one',
        ...path(),
      });
    }
  };

  const add = (
    from: Node | undefined,
    result: StepResult,
    choice: string | undefined,
    picks: number[],
  ): Node => {
    inspect(from, result, choice, picks);
    const key = abstractKey(result.state);
    const known = nodes.get(key);
    if (known) return known;
    const node: Node = {
      key,
      state: result.state,
      parent: from,
      choice,
      picks,
      successors: [],
      expanded: false,
    };
    nodes.set(key, node);
    queue.push(node);
    return node;
  };

  const fault = (from: Node | undefined, choice: string | undefined, e: unknown): void => {
    if (!(e instanceof DefinitionRuntimeError)) throw e;
    const base = from ? pathOf(from) : { choices: [], picks: [] };
    report({
      check: 'deadlock',
      severity: 'error',
      pointer: '',
      message: `the engine stops the case: ${e.message}`,
      hint: 'fix the step the message names; a case that hits this is stuck',
      choices: choice === undefined ? base.choices : [...base.choices, choice],
      picks: base.picks,
    });
  };

  const roots: Node[] = [];
  try {
    for (const run of everyAnswer((oracle) =>
      startCase(def, { caseId: 'CHECK', caseType: def.id, definitionVersion: 1 }, T0, { oracle }),
    )) {
      roots.push(add(undefined, run.result, undefined, run.picks));
    }
  } catch (e) {
    fault(undefined, undefined, e);
  }

  while (queue.length > 0) {
    if (nodes.size > bounds.maxStates) {
      truncated = `more than ${bounds.maxStates} states`;
      break;
    }
    const node = queue.shift() as Node;
    if (node.state.ended) {
      node.expanded = true;
      continue;
    }
    if (node.state.tokens.length > bounds.maxTokens) {
      truncated = `a state with more than ${bounds.maxTokens} live tokens (a fork inside a loop)`;
      continue;
    }
    node.expanded = true;
    for (const { choice, event } of choicesIn(def, node.state)) {
      try {
        for (const run of everyAnswer((oracle) => applyEvent(def, node.state, event, T0, { oracle }))) {
          transitions += 1;
          node.successors.push(add(node, run.result, choice, run.picks));
        }
      } catch (e) {
        fault(node, choice, e);
      }
    }
  }

  // Deadlock: a state explored to its end from which no path leads to an ended case. States left
  // unexpanded by the bounds count as able to end (nothing is claimed about them).
  const canEnd = new Set<Node>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const node of nodes.values()) {
      if (canEnd.has(node)) continue;
      if (node.state.ended || !node.expanded || node.successors.some((s) => canEnd.has(s))) {
        canEnd.add(node);
        grew = true;
      }
    }
  }
  const stuck = [...nodes.values()].filter((n) => !canEnd.has(n));
  stuck.sort((a, b) => pathOf(a).choices.length - pathOf(b).choices.length);
  const first = stuck[0];
  if (first) {
    const at = first.state.tokens.map((t) => t.step);
    const step = at[0];
    report({
      check: 'deadlock',
      severity: 'error',
      ...(step === undefined ? {} : { step }),
      pointer: step === undefined ? '' : `/steps/${step}`,
      message: `from here the case can never end: work is at ${at.map((s) => `"${s}"`).join(', ') || 'no step'}, and no choice leads to an end`,
      hint: 'give the steps named a way out: an outcome to a step that reaches an end, or one with "end": true',
      ...pathOf(first),
    });
  }

  const exhaustive = truncated === undefined;
  if (exhaustive) {
    const linked = linkedSteps(def);
    for (const id of Object.keys(def.steps)) {
      if (visited.has(id) || !linked.has(id)) continue;
      const join = def.steps[id]?.type === 'join';
      report({
        check: 'dead-step',
        // A join that never fires strands its branches' work: the steps after it never run.
        severity: join ? 'error' : 'warning',
        step: id,
        pointer: `/steps/${id}`,
        message: join
          ? `the join "${id}" never fires: in no run does any branch of its parallel arrive`
          : `step "${id}" is linked but no run of the case ever reaches it`,
        hint: join
          ? `lead at least one branch to "next": "${id}"`
          : 'it can only be reached through a join or branch that never fires; check the parallel around it',
        choices: [],
        picks: [],
      });
    }
  }

  spawnCycles(def, opts.definitions, roots).forEach(report);

  const accept = def.soundness?.accept ?? [];
  const isAccepted = (f: SoundnessFinding): boolean =>
    accept.some((a) => a.check === f.check && (a.step === undefined || a.step === f.step));
  return {
    findings: findings.filter((f) => !isAccepted(f)),
    accepted: findings.filter(isAccepted),
    states: nodes.size,
    transitions,
    exhaustive,
    ...(truncated === undefined ? {} : { truncated }),
  };
}

/**
 * Sub-cases that start, directly or through other case types, a case of this same type. Every run spawning
 * it at once (in the start event, whatever the conditions) is unbounded: an error. Otherwise the data
 * decides and the check cannot: a warning.
 */
function spawnCycles(
  def: CaseTypeDefinition,
  definitions: ReadonlyMap<string, CaseTypeDefinition> | undefined,
  roots: Node[],
): SoundnessFinding[] {
  const childTypes = (d: CaseTypeDefinition): { step: string; caseType: string }[] =>
    Object.entries(d.steps).flatMap(([id, s]) =>
      s.type === 'subcase' ? [{ step: id, caseType: s.caseType }] : [],
    );
  const leadsBack = (start: string): boolean => {
    const seen = new Set<string>();
    const queue = [start];
    while (queue.length > 0) {
      const id = queue.shift() as string;
      if (id === def.id) return true;
      if (seen.has(id)) continue;
      seen.add(id);
      const other = definitions?.get(id);
      if (other) queue.push(...childTypes(other).map((c) => c.caseType));
    }
    return false;
  };
  return childTypes(def)
    .filter((c) => leadsBack(c.caseType))
    .map((c) => {
      const always = roots.length > 0 && roots.every((r) => (r.state.visits[c.step] ?? 0) > 0);
      return {
        check: 'unbounded-subcases' as const,
        severity: always ? ('error' as const) : ('warning' as const),
        step: c.step,
        pointer: `/steps/${c.step}/caseType`,
        message: always
          ? `every case of "${def.id}" starts a "${c.caseType}" sub-case at once, which starts "${def.id}" again: without end`
          : `"${c.step}" starts "${c.caseType}", which can start "${def.id}" again: the case data must stop the recursion`,
        hint: 'put a human step or a condition before the sub-case so that some case stops spawning',
        choices: [],
        picks: [],
      };
    });
}

/** The findings as definition issues: errors block publishing, warnings are shown. */
export function soundnessIssues(
  def: CaseTypeDefinition,
  file: string,
  definitions?: ReadonlyMap<string, CaseTypeDefinition>,
): DefinitionIssue[] {
  const result = checkSoundness(def, definitions ? { definitions } : {});
  const issues = result.findings.map((f) =>
    issue(file, f.pointer, f.message, `${f.hint}; to see it: ${simulateCommand(file, f)}`, f.severity),
  );
  if (!result.exhaustive) {
    issues.push(
      issue(
        file,
        '',
        `the soundness check was not exhaustive: it stopped at ${result.truncated ?? 'its bound'}`,
        'what it reports holds; parts of the state space beyond the bound were not checked',
        'warning',
      ),
    );
  }
  return issues;
}
