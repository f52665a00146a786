import fc from 'fast-check';
import type { Actor, CaseEvent, CaseState } from '../../engine/state';
import type { CaseTypeDefinition, Step, Transition } from '../../engine/types';

/**
 * Random case-type definitions built from the language's constructs (human steps with several outcomes,
 * loops, automatic steps with conditions, waits, parallels with joins, nested, start lists), and random
 * event sequences over them, for the interpreter's property tests. A definition is built from a tape of
 * numbers, so fast-check shrinks a failure to a small definition.
 */

const STATUSES = ['OPEN', 'WORKING', 'WON', 'LOST'] as const;

class Tape {
  private i = 0;
  constructor(private readonly values: number[]) {}
  /** A number in [0, n). */
  draw(n: number): number {
    if (n <= 1) return 0;
    const v = this.values[this.i] ?? 0;
    this.i += 1;
    return v % n;
  }
}

/**
 * Builds a definition from a tape; `unstructured` adds random links that may break the block structure;
 * `partialJoins` gives joins a random `complete` (all, any, N of the branches) and `rest`.
 */
export function buildDefinition(
  values: number[],
  unstructured = false,
  partialJoins = false,
): CaseTypeDefinition {
  const tape = new Tape(values);
  const steps: Record<string, Step> = {};
  let count = 0;
  const id = (prefix: string): string => `${prefix}${(count += 1)}`;
  const human = (outcomes: Record<string, Transition | Transition[]>): Step => ({
    type: 'human',
    action: 'call',
    title: 'Call',
    assign: { team: 'sales' },
    outcomes,
  });

  /** A block that ends by taking `cont`; returns its entry step. */
  const block = (depth: number, cont: Transition): string => {
    const kind = count > 40 ? 0 : tape.draw(depth >= 3 ? 3 : 8);
    switch (kind) {
      case 0: {
        const step = id('h');
        const outcomes: Record<string, Transition> = {};
        const n = 1 + tape.draw(3);
        for (let i = 0; i < n; i += 1) {
          const variant = tape.draw(8);
          outcomes[`o${i}`] =
            variant === 0
              ? {}
              : variant === 1
                ? { status: 'LOST', end: true }
                : { ...cont, status: 'WORKING' };
        }
        steps[step] = human(outcomes);
        return step;
      }
      case 1: {
        const step = id('a');
        steps[step] = { type: 'automatic', do: [{ setStatus: 'WORKING' }], then: cont };
        return step;
      }
      case 2: {
        const step = id('w');
        steps[step] = { type: 'wait', until: tape.draw(2) === 0 ? 'PT0S' : 'P1D', then: cont };
        return step;
      }
      case 3: {
        const second = block(depth + 1, cont);
        return block(depth + 1, { next: second });
      }
      case 4:
      case 5: {
        const split = id('p');
        const join = id('j');
        steps[join] = { type: 'join', then: cont };
        const branches = Array.from({ length: 2 + tape.draw(2) }, () => block(depth + 1, { next: join }));
        steps[split] = { type: 'parallel', branches, join };
        if (partialJoins) {
          const kind = tape.draw(3);
          const complete = kind === 0 ? 'all' : kind === 1 ? 'any' : 1 + tape.draw(branches.length);
          const rest = tape.draw(2) === 0 ? 'withdraw' : 'absorb';
          if (complete !== 'all') steps[join] = { type: 'join', complete, rest, then: cont };
        }
        return split;
      }
      case 6: {
        const step = id('c');
        const yes = block(depth + 1, cont);
        const no = block(depth + 1, cont);
        steps[step] = { type: 'automatic', then: [{ if: { var: 'data.flag' }, next: yes }, { next: no }] };
        return step;
      }
      default: {
        const step = id('l');
        steps[step] = human({ again: { next: step }, done: cont, fork: { next: [block(depth + 1, cont)] } });
        return step;
      }
    }
  };

  const final: Transition = tape.draw(2) === 0 ? { status: 'WON', end: true } : { status: 'WON' };
  const start =
    tape.draw(4) === 0 ? [block(1, { status: 'WON' }), block(1, { status: 'WON' })] : block(0, final);
  if (unstructured) {
    const ids = Object.keys(steps);
    for (let i = tape.draw(3); i > 0; i -= 1) {
      const from = steps[ids[tape.draw(ids.length)] as string];
      const to = ids[tape.draw(ids.length)] as string;
      if (from?.type === 'human') from.outcomes[`x${i}`] = { next: to };
    }
  }
  return {
    dslVersion: '1',
    id: 'generated',
    version: '1',
    name: 'Generated',
    statuses: STATUSES.map((code) => ({
      code,
      name: code,
      category: code === 'WON' ? 'won' : code === 'LOST' ? 'lost' : 'open',
    })),
    initialStatus: 'OPEN',
    start,
    steps,
  };
}

export const tapes = (max = 120): fc.Arbitrary<number[]> =>
  fc.array(fc.nat({ max: 1000 }), { minLength: 12, maxLength: max });

const ACTOR: Actor = { userId: 'root', role: 'admin', teams: ['sales'] };

/** The events that can happen next: complete an open task with one of its outcomes, or fire a timer. */
export function possibleEvents(def: CaseTypeDefinition, state: CaseState): CaseEvent[] {
  if (state.ended) return [];
  const events: CaseEvent[] = [];
  for (const task of Object.values(state.tasks)) {
    if (task.status !== 'open' || task.step === undefined) continue;
    const step = def.steps[task.step];
    if (step?.type !== 'human') continue;
    for (const outcome of Object.keys(step.outcomes)) {
      events.push({ type: 'complete', taskId: task.id, outcome, actor: ACTOR });
    }
  }
  for (const timer of state.timers) {
    if (timer.kind === 'wait' || timer.kind === 'case')
      events.push({ type: 'timerFired', timerId: timer.id });
  }
  return events;
}
