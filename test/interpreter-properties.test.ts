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

describe('interpreter properties over random definitions', () => {
  it('never throws, fires each join once, one task per token, no idle case left open', () => {
    fc.assert(
      fc.property(tapes(), fc.array(fc.nat(), { maxLength: 40 }), fc.boolean(), (tape, picks, flag) => {
        const def = buildDefinition(tape);
        const result = run(def, picks, { flag });
        expect(broken(result)).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
  });

  it('with random links added (not block structured) still only fails with a definition error', () => {
    fc.assert(
      fc.property(tapes(), fc.array(fc.nat(), { maxLength: 40 }), (tape, picks) => {
        const def = buildDefinition(tape, true);
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
        const def = buildDefinition(tape);
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
        const def = buildDefinition(tape);
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
