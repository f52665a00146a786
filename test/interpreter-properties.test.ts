import path from 'node:path';
import fc from 'fast-check';
import { DefinitionRuntimeError } from '../engine/errors';
import { applyEvent, startCase } from '../engine/interpreter';
import type { CaseState, StepResult } from '../engine/state';
import type { CaseTypeDefinition } from '../engine/types';
import { checkSoundness } from '../designer/soundness';
import { validateDefinition } from '../designer/validate';
import { buildDefinition, possibleEvents, tapes } from './support/random-definitions';

/**
 * Properties of the interpreter over random definitions and random event sequences
 * (definitions/README.md#how-a-case-runs states them).
 */

const T0 = Date.UTC(2025, 0, 6, 9, 0, 0);
const RUNS = Number(process.env.PROPERTY_RUNS ?? 300);
const TEMPLATES = path.join(__dirname, '..', 'definitions', 'templates');

interface Run {
  results: StepResult[];
  final: CaseState;
}

/** Starts a case and applies up to 40 events chosen by `picks` among those possible at each point. */
function run(def: CaseTypeDefinition, picks: number[], data: Record<string, unknown>): Run {
  let now = T0;
  const first = startCase(def, { caseId: 'P', caseType: def.id, definitionVersion: 1, data }, now);
  const results = [first];
  let state = first.state;
  for (const pick of picks) {
    const events = possibleEvents(def, state);
    if (events.length === 0) break;
    const event = events[pick % events.length];
    if (!event) break;
    now += 60_000;
    const result = applyEvent(def, state, event, now);
    results.push(result);
    state = result.state;
  }
  return { results, final: state };
}

/** Checks the invariants on every state of a run; returns the first broken one, or undefined. */
function broken({ results }: Run): string | undefined {
  const joined = new Set<string>();
  const tokensWithTasks = new Map<string, string>();
  for (const { state, timeline } of results) {
    for (const entry of timeline) {
      if (entry.kind !== 'parallel.joined') continue;
      const group = String(entry.detail.group);
      if (joined.has(group)) return `join ${String(entry.detail.step)} fired twice for ${group}`;
      joined.add(group);
    }
    for (const task of Object.values(state.tasks)) {
      if (task.tokenId === undefined) continue;
      const other = tokensWithTasks.get(task.tokenId);
      if (other !== undefined && other !== task.id)
        return `token ${task.tokenId} has tasks ${other} and ${task.id}`;
      tokensWithTasks.set(task.tokenId, task.id);
    }
    const open = Object.values(state.tasks).filter((t) => t.status === 'open');
    if (state.ended) {
      if (state.tokens.length > 0 || Object.keys(state.joins).length > 0)
        return 'an ended case has live tokens';
      if (open.length > 0) return 'an ended case has open tasks';
      continue;
    }
    if (state.tokens.length === 0 && open.length === 0) return 'an idle case did not end';
    for (const token of state.tokens) {
      const step = token.step;
      const task = token.taskId === undefined ? undefined : state.tasks[token.taskId];
      const waiting = state.timers.some((t) => t.tokenId === token.id);
      if (!(task?.status === 'open' || waiting || token.subcaseId !== undefined))
        return `token at ${step} is neither at an open task, a wait nor a sub-case`;
      for (const group of token.groups)
        if (!(group in state.joins)) return `token at ${step} in a settled group`;
    }
  }
  return undefined;
}

describe.each([
  ['', false],
  [' with partial joins', true],
])('interpreter properties over random definitions%s', (_label, partial) => {
  it('never throws, fires each join once, one task per token, no idle case left open', () => {
    fc.assert(
      fc.property(tapes(), fc.array(fc.nat(), { maxLength: 40 }), fc.boolean(), (tape, picks, flag) => {
        const def = buildDefinition(tape, false, partial);
        const result = run(def, picks, { flag });
        expect(broken(result)).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
  });

  it('with random links added (not block structured) still only fails with a definition error', () => {
    fc.assert(
      fc.property(tapes(), fc.array(fc.nat(), { maxLength: 40 }), (tape, picks) => {
        const def = buildDefinition(tape, true, partial);
        try {
          run(def, picks, {});
        } catch (e) {
          expect(e).toBeInstanceOf(DefinitionRuntimeError);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('validate accepts every generated definition the soundness check calls sound', () => {
    fc.assert(
      fc.property(tapes(), (tape) => {
        const def = buildDefinition(tape, false, partial);
        const sound = checkSoundness(def).findings.every((f) => f.severity !== 'error');
        fc.pre(sound);
        const errors = validateDefinition(def, 'generated.json', {
          templatesDir: TEMPLATES,
          skipSoundness: true,
        }).filter((i) => i.severity === 'error');
        expect(errors).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it('what the soundness check calls sound never leaves work behind when a case ends', () => {
    fc.assert(
      fc.property(tapes(), fc.array(fc.nat(), { maxLength: 40 }), (tape, picks) => {
        const def = buildDefinition(tape, false, partial);
        fc.pre(checkSoundness(def).findings.every((f) => f.severity !== 'error'));
        const { results } = run(def, picks, {});
        for (const { timeline } of results) {
          const ended = timeline.find((e) => e.kind === 'case.ended');
          if (ended) expect(ended.detail.withdrawnTokens).toBe(0);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

/**
 * One parallel of M branches (each a task that arrives or drops out) meeting at a join of `complete` N and a
 * random `rest`; after the join a task that loops back into the region or stops. The expected figures come
 * from the tasks alone: which region entry each task belongs to, and how each was completed.
 */
function nOfM(m: number, complete: 'any' | number, rest: 'withdraw' | 'absorb'): CaseTypeDefinition {
  const branches = Array.from({ length: m }, (_, i) => `b${i}`);
  const steps: CaseTypeDefinition['steps'] = {
    split: { type: 'parallel', branches, join: 'meet' },
    meet: { type: 'join', complete, rest, then: { next: 'after' } },
    after: {
      type: 'human',
      action: 'call',
      title: 'After',
      assign: { team: 'sales' },
      outcomes: { again: { next: 'split' }, stop: { status: 'WON' } },
    },
  };
  for (const b of branches)
    steps[b] = {
      type: 'human',
      action: 'call',
      title: b,
      assign: { team: 'sales' },
      outcomes: { ok: { next: 'meet' }, drop: {} },
    };
  return {
    dslVersion: '1',
    id: 'n-of-m',
    version: '1',
    name: 'N of M',
    statuses: [
      { code: 'OPEN', name: 'Open', category: 'open' },
      { code: 'WON', name: 'Won', category: 'won' },
    ],
    initialStatus: 'OPEN',
    start: 'split',
    steps,
  };
}

describe('N-of-M joins over random event sequences', () => {
  it('the step after the join is created exactly once per region entry that fires, and withdrawn branches leave nothing live', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 5 }),
        fc.nat(),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 40 }),
        (m, n, absorb, picks) => {
          const complete = n % (m + 1) === 0 ? ('any' as const) : n % (m + 1);
          const need = complete === 'any' ? 1 : complete;
          const rest = absorb ? ('absorb' as const) : ('withdraw' as const);
          const def = nOfM(m, complete, rest);
          const { results, final } = run(def, picks, {});
          // Each branch task's region entry (its token's innermost group while it was open), in order.
          const entryOf = new Map<string, string>();
          const entries: string[] = [];
          for (const { state } of results)
            for (const token of state.tokens) {
              const group = token.groups[token.groups.length - 1];
              if (token.taskId === undefined || group === undefined) continue;
              entryOf.set(token.taskId, group);
              if (!entries.includes(group)) entries.push(group);
            }
          const branchTasks = Object.values(final.tasks).filter((t) => t.step !== 'after');
          expect(branchTasks.every((t) => entryOf.has(t.id))).toBe(true);
          expect(branchTasks).toHaveLength(entries.length * m);
          // By hand: an entry fires when N of its tasks arrived, or when all its tasks are over with at least
          // one arrival; an absorbing entry waits while an earlier one that fired still has open tasks.
          const fired: string[] = [];
          for (const entry of entries) {
            const mine = branchTasks.filter((t) => entryOf.get(t.id) === entry);
            const arrived = mine.filter((t) => t.status === 'completed' && t.outcome === 'ok').length;
            const over = mine.every((t) => t.status !== 'open');
            const blocked = fired.some(
              (older) =>
                rest === 'absorb' &&
                branchTasks.some((t) => entryOf.get(t.id) === older && t.status === 'open'),
            );
            if ((arrived >= need || (over && arrived > 0)) && !blocked) fired.push(entry);
          }
          const afterTasks = Object.values(final.tasks).filter((t) => t.step === 'after');
          expect(afterTasks).toHaveLength(fired.length);
          const joined = results.flatMap((r) => r.timeline).filter((e) => e.kind === 'parallel.joined');
          expect(joined.map((e) => String(e.detail.group))).toEqual(fired);
          // Withdrawn: no branch task of a fired entry is cancelled unless the join withdrew it, and with
          // withdraw nothing of a fired entry is left live.
          for (const entry of fired) {
            const mine = branchTasks.filter((t) => entryOf.get(t.id) === entry);
            if (rest === 'withdraw') {
              expect(mine.filter((t) => t.status === 'open')).toEqual([]);
              expect(final.tokens.filter((t) => t.groups.includes(entry))).toEqual([]);
            } else {
              expect(mine.filter((t) => t.status === 'cancelled')).toEqual([]);
            }
          }
          const cancelled = branchTasks.filter((t) => t.status === 'cancelled');
          if (rest === 'absorb') expect(cancelled).toEqual([]);
          for (const t of cancelled) expect(fired).toContain(entryOf.get(t.id));
        },
      ),
      { numRuns: RUNS },
    );
  });
});
