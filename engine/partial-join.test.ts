import { applyEvent, startCase } from './interpreter';
import type { Actor, CaseState, StepResult } from './state';
import type { CaseTypeDefinition, JoinStep, Step } from './types';

/** Partial and discriminator joins: `complete` any or N on a join, `rest` withdraw or absorb. */

const T0 = Date.UTC(2025, 0, 6, 9, 0, 0);
const sam: Actor = { userId: 'sam', role: 'supervisor', teams: [], supervisedTeams: ['sales'] };

const human = (outcomes: Record<string, unknown>): Step =>
  ({ type: 'human', action: 'call', title: 'Call', assign: { team: 'sales' }, outcomes }) as Step;

/**
 * Three quotes in parallel (a, b, c) meeting at `enough`; then `decide`, which may loop back to the
 * parallel (`again`) or end (`done`).
 */
function define(join: Partial<JoinStep>, branches = ['a', 'b', 'c']): CaseTypeDefinition {
  const steps: Record<string, Step> = {
    quotes: { type: 'parallel', branches, join: 'enough' },
    enough: { type: 'join', then: { next: 'decide' }, ...join },
    decide: human({ again: { next: 'quotes' }, done: { status: 'DONE', end: true } }),
  };
  for (const b of branches) steps[b] = human({ ok: { next: 'enough' }, drop: {} });
  return {
    dslVersion: '1',
    id: 'partial',
    version: '1',
    name: 'Partial',
    statuses: [
      { code: 'OPEN', name: 'Open', category: 'open' },
      { code: 'DONE', name: 'Done', category: 'closed' },
    ],
    initialStatus: 'OPEN',
    start: 'quotes',
    steps,
  };
}

let clock = T0;
const begin = (def: CaseTypeDefinition): StepResult => {
  clock = T0;
  return startCase(def, { caseId: 'C', caseType: def.id, definitionVersion: 1 }, clock);
};
const open = (s: CaseState): string[] =>
  Object.values(s.tasks)
    .filter((t) => t.status === 'open')
    .map((t) => t.step ?? '')
    .sort();
const complete = (def: CaseTypeDefinition, s: CaseState, step: string, outcome = 'ok'): StepResult => {
  const task = Object.values(s.tasks).find((t) => t.step === step && t.status === 'open');
  if (!task) throw new Error(`no open task of ${step} (open: ${open(s).join(', ')})`);
  clock += 60_000;
  return applyEvent(def, s, { type: 'complete', taskId: task.id, outcome, actor: sam }, clock);
};
const kinds = (r: StepResult): string[] => r.timeline.map((e) => e.kind);
const decideTasks = (s: CaseState): number =>
  Object.values(s.tasks).filter((t) => t.step === 'decide').length;

describe('cancelling partial join (complete N, rest withdraw)', () => {
  const def = define({ complete: 2, rest: 'withdraw' });

  it('fires at the second arrival, cancels the third task and creates the next step once', () => {
    let s = begin(def).state;
    expect(open(s)).toEqual(['a', 'b', 'c']);
    s = complete(def, s, 'a').state;
    expect(open(s)).toEqual(['b', 'c']);
    const r = complete(def, s, 'c');
    expect(open(r.state)).toEqual(['decide']);
    const b = Object.values(r.state.tasks).find((t) => t.step === 'b');
    expect(b?.status).toBe('cancelled');
    const cancelled = r.timeline.filter((e) => e.kind === 'task.cancelled');
    expect(cancelled).toEqual([
      expect.objectContaining({ taskId: b?.id, detail: { reason: 'withdrawn: join enough completed' } }),
    ]);
    expect(r.timeline.find((e) => e.kind === 'parallel.joined')?.detail).toMatchObject({
      step: 'enough',
      arrived: 2,
      need: 2,
      rest: 'withdraw',
      withdrawn: 1,
    });
    expect(r.changedTasks).toContain(b?.id);
    expect(r.state.tokens.map((t) => t.step)).toEqual(['decide']);
    expect(r.state.joins).toEqual({});
    expect(decideTasks(r.state)).toBe(1);
  });

  it('a loop back into the region starts a fresh 2 of 3', () => {
    let s = begin(def).state;
    s = complete(def, s, 'a').state;
    s = complete(def, s, 'b').state;
    s = complete(def, s, 'decide', 'again').state;
    expect(open(s)).toEqual(['a', 'b', 'c']);
    s = complete(def, s, 'b').state;
    expect(open(s)).toEqual(['a', 'c']);
    s = complete(def, s, 'a').state;
    expect(open(s)).toEqual(['decide']);
    expect(decideTasks(s)).toBe(2);
  });

  it('fires with fewer when the other branches end without arriving', () => {
    let s = begin(def).state;
    s = complete(def, s, 'a', 'drop').state;
    s = complete(def, s, 'b', 'drop').state;
    expect(open(s)).toEqual(['c']);
    s = complete(def, s, 'c').state;
    expect(open(s)).toEqual(['decide']);
  });

  it('every branch withdrawn: the join does not continue and the case ends', () => {
    let s = begin(def).state;
    s = complete(def, s, 'a', 'drop').state;
    s = complete(def, s, 'b', 'drop').state;
    const r = complete(def, s, 'c', 'drop');
    expect(kinds(r)).toContain('parallel.withdrawn');
    expect(r.state.ended).toBe(true);
  });

  it('withdraws nested regions inside a branch: their join never fires', () => {
    const nested = define({ complete: 'any' }, ['a', 'inner']);
    nested.steps.inner = { type: 'parallel', branches: ['x', 'y'], join: 'inner-join' };
    nested.steps.x = human({ ok: { next: 'inner-join' } });
    nested.steps.y = human({ ok: { next: 'inner-join' } });
    nested.steps['inner-join'] = { type: 'join', then: { next: 'enough' } };
    let s = begin(nested).state;
    expect(open(s)).toEqual(['a', 'x', 'y']);
    s = complete(nested, s, 'x').state;
    const r = complete(nested, s, 'a');
    expect(open(r.state)).toEqual(['decide']);
    expect(Object.keys(r.state.joins)).toEqual([]);
    expect(r.timeline.filter((e) => e.kind === 'parallel.joined')).toHaveLength(1);
  });
});

describe('cancelling discriminator (complete any, rest withdraw by default)', () => {
  const def = define({ complete: 'any' });

  it('the first arrival fires the join and withdraws both others', () => {
    const s = begin(def).state;
    const r = complete(def, s, 'b');
    expect(open(r.state)).toEqual(['decide']);
    expect(r.timeline.filter((e) => e.kind === 'task.cancelled')).toHaveLength(2);
  });
});

describe('blocking partial join (complete N, rest absorb)', () => {
  const def = define({ complete: 2, rest: 'absorb' });

  it('fires at the second arrival, lets the third run on and swallows its arrival', () => {
    let s = begin(def).state;
    s = complete(def, s, 'a').state;
    const fired = complete(def, s, 'b');
    expect(open(fired.state)).toEqual(['c', 'decide']);
    expect(kinds(fired)).not.toContain('task.cancelled');
    s = fired.state;
    const absorbed = complete(def, s, 'c');
    expect(kinds(absorbed)).toEqual(expect.arrayContaining(['join.absorbed', 'parallel.reset']));
    expect(kinds(absorbed)).not.toContain('parallel.joined');
    expect(open(absorbed.state)).toEqual(['decide']);
    expect(decideTasks(absorbed.state)).toBe(1);
    expect(absorbed.state.joins).toEqual({});
  });

  it('a loop back before the reset waits: the new instance fires only after the old one resets', () => {
    let s = begin(def).state;
    s = complete(def, s, 'a').state;
    s = complete(def, s, 'b').state;
    // c of the first instance is still open; decide loops back into the region.
    s = complete(def, s, 'decide', 'again').state;
    expect(open(s)).toEqual(['a', 'b', 'c', 'c']);
    s = complete(def, s, 'a').state;
    const blocked = complete(def, s, 'b');
    // Two of the second instance have arrived, but the first instance has not reset: no decide yet.
    expect(kinds(blocked)).toContain('parallel.blocked');
    expect(open(blocked.state)).toEqual(['c', 'c']);
    s = blocked.state;
    // The first instance's c (the older task) arrives: the first resets, and the second fires.
    const older = Object.values(s.tasks)
      .filter((t) => t.step === 'c' && t.status === 'open')
      .sort((x, y) => x.createdAt - y.createdAt)[0];
    clock += 60_000;
    const r = applyEvent(
      def,
      s,
      { type: 'complete', taskId: older?.id ?? '', outcome: 'ok', actor: sam },
      clock,
    );
    expect(kinds(r)).toEqual(expect.arrayContaining(['parallel.reset', 'parallel.joined']));
    expect(open(r.state)).toEqual(['c', 'decide']);
    expect(decideTasks(r.state)).toBe(2);
  });

  it('the case does not end while an absorbed branch still runs', () => {
    const ending = define({ complete: 'any', rest: 'absorb' });
    ending.steps.enough = { type: 'join', complete: 'any', rest: 'absorb', then: { status: 'DONE' } };
    let s = begin(ending).state;
    s = complete(ending, s, 'a').state;
    expect(s.ended).toBe(false);
    expect(s.status).toBe('DONE');
    s = complete(ending, s, 'b').state;
    expect(s.ended).toBe(false);
    s = complete(ending, s, 'c').state;
    expect(s.ended).toBe(true);
  });
});

describe('complete all and old definitions', () => {
  it('a join without complete waits for every branch as before', () => {
    const def = define({});
    let s = begin(def).state;
    s = complete(def, s, 'a').state;
    s = complete(def, s, 'b').state;
    expect(open(s)).toEqual(['c']);
    const r = complete(def, s, 'c');
    expect(open(r.state)).toEqual(['decide']);
    expect(r.timeline.find((e) => e.kind === 'parallel.joined')?.detail).toEqual({
      step: 'enough',
      group: expect.any(String),
      arrived: 3,
    });
  });

  it('N larger than the branches an inclusive split started is capped at those started', () => {
    const def = define({ complete: 3 });
    (def.steps.quotes as { conditions?: Record<string, unknown> }).conditions = { c: false };
    let s = begin(def).state;
    expect(open(s)).toEqual(['a', 'b']);
    s = complete(def, s, 'a').state;
    expect(open(s)).toEqual(['b']);
    s = complete(def, s, 'b').state;
    expect(open(s)).toEqual(['decide']);
  });
});
