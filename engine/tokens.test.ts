import { applyEvent, startCase } from './interpreter';
import type { Actor, CaseState, StepResult, TaskState } from './state';
import type { CaseTypeDefinition, Step } from './types';

/**
 * The token semantics of definitions/README.md#how-a-case-runs, one defect of issue 12 per block.
 * Expected task lists and statuses are written out by hand from the definition.
 */

const T0 = Date.UTC(2025, 0, 6, 9, 0, 0);
const boss: Actor = { userId: 'boss', role: 'admin', teams: ['sales'] };

function define(steps: Record<string, Step>, start: string | string[]): CaseTypeDefinition {
  return {
    dslVersion: '1',
    id: 'tokens',
    version: '1',
    name: 'Tokens',
    statuses: [
      { code: 'OPEN', name: 'Open', category: 'open' },
      { code: 'READY', name: 'Ready', category: 'open' },
      { code: 'WON', name: 'Won', category: 'won' },
    ],
    initialStatus: 'OPEN',
    start,
    steps,
  };
}

const human = (outcomes: Record<string, unknown>): Step =>
  ({ type: 'human', action: 'call', title: 'Call', assign: { team: 'sales' }, outcomes }) as Step;

function begin(def: CaseTypeDefinition): StepResult {
  return startCase(def, { caseId: 'C', caseType: def.id, definitionVersion: 1 }, T0);
}

const open = (s: CaseState): string[] =>
  Object.values(s.tasks)
    .filter((t: TaskState) => t.status === 'open')
    .map((t) => t.step ?? '')
    .sort();

function complete(def: CaseTypeDefinition, s: CaseState, step: string, outcome: string): StepResult {
  const task = Object.values(s.tasks).find((t) => t.status === 'open' && t.step === step);
  if (!task) throw new Error(`no open task at ${step}; open: ${open(s).join(', ')}`);
  return applyEvent(def, s, { type: 'complete', taskId: task.id, outcome, actor: boss }, T0);
}

const created = (s: CaseState, step: string): number =>
  Object.values(s.tasks).filter((t) => t.step === step).length;

describe('steps started together all start, whatever finishes first', () => {
  it('a start list whose first step is automatic still enters the second', () => {
    const def = define(
      {
        auto: { type: 'automatic', do: [{ setStatus: 'READY' }], then: {} },
        call: human({ done: { status: 'WON', end: true } }),
      },
      ['auto', 'call'],
    );
    const { state } = begin(def);
    expect(state.ended).toBe(false);
    expect(open(state)).toEqual(['call']);
    expect(state.status).toBe('READY');
  });

  it('a next list whose first step is a wait already past still enters the second', () => {
    const def = define(
      {
        first: human({ go: { next: ['pause', 'call'] } }),
        pause: { type: 'wait', until: 'PT0S', then: {} },
        call: human({ done: { status: 'WON', end: true } }),
      },
      'first',
    );
    const s1 = complete(def, begin(def).state, 'first', 'go');
    expect(s1.state.ended).toBe(false);
    expect(open(s1.state)).toEqual(['call']);
  });

  it('a parallel whose first branch goes straight to the join waits for the second', () => {
    const def = define(
      {
        split: { type: 'parallel', branches: ['skip', 'call'], join: 'meet' },
        skip: { type: 'automatic', then: { next: 'meet' } },
        call: human({ done: { next: 'meet' } }),
        meet: { type: 'join', then: { next: 'sign' } },
        sign: human({ signed: { status: 'WON', end: true } }),
      },
      'split',
    );
    const s0 = begin(def).state;
    expect(s0.ended).toBe(false);
    expect(open(s0)).toEqual(['call']);
    const s1 = complete(def, s0, 'call', 'done').state;
    expect(open(s1)).toEqual(['sign']);
  });
});

describe('a join fires once per split instance, when every branch has arrived', () => {
  const def = define(
    {
      split: { type: 'parallel', branches: ['a', 'b'], join: 'meet' },
      a: human({ fork: { next: ['a1', 'a2'] } }),
      a1: human({ done: { next: 'meet' } }),
      a2: human({ done: { next: 'meet' } }),
      b: human({ done: { next: 'meet' } }),
      meet: { type: 'join', then: { next: 'sign' } },
      sign: human({ signed: { status: 'WON', end: true } }),
    },
    'split',
  );

  it('a fork inside a branch does not make the join fire before the other branch', () => {
    let s = begin(def).state;
    s = complete(def, s, 'a', 'fork').state;
    expect(open(s)).toEqual(['a1', 'a2', 'b']);
    s = complete(def, s, 'a1', 'done').state;
    s = complete(def, s, 'a2', 'done').state;
    expect(open(s)).toEqual(['b']);
    expect(created(s, 'sign')).toBe(0);
    s = complete(def, s, 'b', 'done').state;
    expect(open(s)).toEqual(['sign']);
    expect(created(s, 'sign')).toBe(1);
  });
});

describe('a branch that ends without reaching the join is withdrawn', () => {
  const def = define(
    {
      split: { type: 'parallel', branches: ['a', 'b'], join: 'meet' },
      a: human({ done: { next: 'meet' }, dropped: {} }),
      b: human({ done: { next: 'meet' } }),
      meet: { type: 'join', then: { next: 'sign' } },
      sign: human({ signed: { status: 'WON', end: true } }),
    },
    'split',
  );

  it('the join continues when the others arrive', () => {
    let s = begin(def).state;
    s = complete(def, s, 'a', 'dropped').state;
    expect(s.ended).toBe(false);
    s = complete(def, s, 'b', 'done').state;
    expect(s.ended).toBe(false);
    expect(open(s)).toEqual(['sign']);
  });

  it('when every branch is withdrawn the region ends and so does the idle case', () => {
    const all = define(
      {
        split: { type: 'parallel', branches: ['a', 'b'], join: 'meet' },
        a: human({ dropped: {} }),
        b: human({ dropped: {} }),
        meet: { type: 'join', then: { next: 'sign' } },
        sign: human({ signed: { status: 'WON', end: true } }),
      },
      'split',
    );
    let s = begin(all).state;
    s = complete(all, s, 'a', 'dropped').state;
    const last = complete(all, s, 'b', 'dropped');
    expect(created(last.state, 'sign')).toBe(0);
    expect(last.state.ended).toBe(true);
    expect(last.timeline.map((e) => e.kind)).toContain('parallel.withdrawn');
    expect(last.state.joins).toEqual({});
  });
});

describe('nested parallels synchronise each level', () => {
  const def = define(
    {
      outer: { type: 'parallel', branches: ['inner', 'c'], join: 'outer-join' },
      inner: { type: 'parallel', branches: ['a', 'b'], join: 'inner-join' },
      a: human({ done: { next: 'inner-join' } }),
      b: human({ done: { next: 'inner-join' } }),
      'inner-join': { type: 'join', then: { next: 'outer-join' } },
      c: human({ done: { next: 'outer-join' } }),
      'outer-join': { type: 'join', then: { next: 'sign' } },
      sign: human({ signed: { status: 'WON', end: true } }),
    },
    'outer',
  );

  it('the outer join waits for the inner join and the other branch', () => {
    let s = begin(def).state;
    expect(open(s)).toEqual(['a', 'b', 'c']);
    s = complete(def, s, 'a', 'done').state;
    s = complete(def, s, 'c', 'done').state;
    expect(open(s)).toEqual(['b']);
    s = complete(def, s, 'b', 'done').state;
    expect(open(s)).toEqual(['sign']);
    expect(s.joins).toEqual({});
  });
});

describe('a loop after the join back to the split starts a fresh region', () => {
  const def = define(
    {
      split: { type: 'parallel', branches: ['a', 'b'], join: 'meet' },
      a: human({ done: { next: 'meet' } }),
      b: human({ done: { next: 'meet' } }),
      meet: { type: 'join', then: { next: 'review' } },
      review: human({ again: { next: 'split' }, ok: { status: 'WON', end: true } }),
    },
    'split',
  );

  it('no token or join of the first round survives into the second', () => {
    let s = begin(def).state;
    s = complete(def, s, 'a', 'done').state;
    s = complete(def, s, 'b', 'done').state;
    s = complete(def, s, 'review', 'again').state;
    expect(open(s)).toEqual(['a', 'b']);
    expect(Object.keys(s.joins)).toHaveLength(1);
    expect(s.tokens.map((t) => t.groups.length)).toEqual([1, 1]);
    s = complete(def, s, 'a', 'done').state;
    expect(open(s)).toEqual(['b']);
    s = complete(def, s, 'b', 'done').state;
    expect(open(s)).toEqual(['review']);
    expect(s.joins).toEqual({});
  });
});

describe('a case started before semantics 2 keeps the rules it started with', () => {
  it('semantics 1 still counts arrivals at the join (running cases do not change behaviour)', () => {
    const def = define(
      {
        split: { type: 'parallel', branches: ['a', 'b'], join: 'meet' },
        a: human({ fork: { next: ['a1', 'a2'] } }),
        a1: human({ done: { next: 'meet' } }),
        a2: human({ done: { next: 'meet' } }),
        b: human({ done: { next: 'meet' } }),
        meet: { type: 'join', then: { next: 'sign' } },
        sign: human({ signed: { status: 'WON', end: true } }),
      },
      'split',
    );
    let s = startCase(def, { caseId: 'C', caseType: def.id, definitionVersion: 1, semantics: 1 }, T0).state;
    expect(s.semantics).toBeUndefined();
    s = complete(def, s, 'a', 'fork').state;
    s = complete(def, s, 'a1', 'done').state;
    s = complete(def, s, 'a2', 'done').state;
    expect(open(s)).toEqual(['b', 'sign']);
  });
});

describe('an inclusive split starts the branches whose conditions hold, and its join waits for exactly those', () => {
  const def = define(
    {
      split: {
        type: 'parallel',
        branches: ['credit', 'legal'],
        conditions: { credit: { '>': [{ var: 'data.amount' }, 10000] }, legal: { var: 'data.foreign' } },
        join: 'meet',
      },
      credit: human({ ok: { next: 'meet' } }),
      legal: human({ ok: { next: 'meet' } }),
      meet: { type: 'join', then: { next: 'sign' } },
      sign: human({ signed: { status: 'WON', end: true } }),
    },
    'split',
  );
  const start = (data: Record<string, unknown>) =>
    startCase(def, { caseId: 'C', caseType: def.id, definitionVersion: 1, data }, T0).state;

  it('one condition holds: one branch, and the join goes on when it arrives', () => {
    const s = start({ amount: 20000, foreign: false });
    expect(open(s)).toEqual(['credit']);
    expect(open(complete(def, s, 'credit', 'ok').state)).toEqual(['sign']);
  });

  it('both hold: the join waits for both', () => {
    let s = start({ amount: 20000, foreign: true });
    expect(open(s)).toEqual(['credit', 'legal']);
    s = complete(def, s, 'legal', 'ok').state;
    expect(open(s)).toEqual(['credit']);
    expect(open(complete(def, s, 'credit', 'ok').state)).toEqual(['sign']);
  });

  it('none holds: straight on from the join', () => {
    const result = startCase(
      def,
      { caseId: 'C', caseType: def.id, definitionVersion: 1, data: { amount: 5 } },
      T0,
    );
    expect(open(result.state)).toEqual(['sign']);
    expect(result.timeline.map((e) => e.kind)).toContain('parallel.skipped');
  });
});
