import { applyEvent, startCase } from './interpreter';
import type { Actor, CaseState, TaskState } from './state';
import type { CaseTypeDefinition, ForEach } from './types';

/** Multi-instance steps: one task per line or contact, N of M completion, sequential order. */

const T0 = Date.UTC(2025, 0, 6, 9, 0, 0);
const boss: Actor = { userId: 'boss', role: 'admin', teams: ['sales'] };

function define(forEach: ForEach): CaseTypeDefinition {
  return {
    dslVersion: '1',
    id: 'mi',
    version: '1',
    name: 'MI',
    statuses: [
      { code: 'OPEN', name: 'Open', category: 'open' },
      { code: 'WON', name: 'Won', category: 'won' },
      { code: 'SKIPPED', name: 'Skipped', category: 'closed' },
    ],
    initialStatus: 'OPEN',
    start: 'call',
    steps: {
      call: {
        type: 'human',
        action: 'call',
        title: 'Call {{item.name}} ({{index}})',
        assign: { field: 'item.owner' },
        forEach,
        outcomes: { done: { next: 'sign' }, none: { status: 'SKIPPED', end: true } },
      },
      sign: {
        type: 'human',
        action: 'task',
        title: 'Sign',
        assign: { team: 'sales' },
        outcomes: { signed: { status: 'WON', end: true } },
      },
    },
  };
}

const contacts = [
  { name: 'Ana', owner: 'u1' },
  { name: 'Ben', owner: 'u2' },
  { name: 'Cy', owner: 'u3' },
];
const start = (def: CaseTypeDefinition, data: Record<string, unknown>) =>
  startCase(def, { caseId: 'C', caseType: def.id, definitionVersion: 1, data }, T0).state;
const tasks = (s: CaseState, step: string): TaskState[] =>
  Object.values(s.tasks).filter((t) => t.step === step);
const done = (def: CaseTypeDefinition, s: CaseState, task: TaskState | undefined): CaseState =>
  applyEvent(def, s, { type: 'complete', taskId: task?.id ?? '', outcome: 'done', actor: boss }, T0).state;

describe('a step over a list', () => {
  it('opens one task per item, titled and assigned from the item', () => {
    const s = start(define({ items: 'data.contacts' }), { contacts });
    expect(tasks(s, 'call').map((t) => [t.title, t.assignee, t.status])).toEqual([
      ['Call Ana (0)', 'u1', 'open'],
      ['Call Ben (1)', 'u2', 'open'],
      ['Call Cy (2)', 'u3', 'open'],
    ]);
  });

  it('with complete: 2 of 3, goes on after two and withdraws the third', () => {
    const def = define({ items: 'data.contacts', complete: 2 });
    let s = start(def, { contacts });
    const [a, b] = tasks(s, 'call');
    s = done(def, s, b);
    expect(tasks(s, 'sign')).toHaveLength(0);
    s = done(def, s, a);
    expect(tasks(s, 'call').map((t) => t.status)).toEqual(['completed', 'completed', 'cancelled']);
    expect(tasks(s, 'sign').map((t) => t.status)).toEqual(['open']);
    expect(s.joins).toEqual({});
  });

  it('with all (the default), waits for every item', () => {
    const def = define({ items: 'data.contacts' });
    let s = start(def, { contacts });
    for (const task of tasks(s, 'call')) {
      expect(tasks(s, 'sign')).toHaveLength(0);
      s = done(def, s, task);
    }
    expect(tasks(s, 'sign')).toHaveLength(1);
  });

  it('in sequence, opens the next item only when the previous one is done', () => {
    const def = define({ items: 'data.contacts', mode: 'sequential' });
    let s = start(def, { contacts });
    expect(tasks(s, 'call').map((t) => t.title)).toEqual(['Call Ana (0)']);
    s = done(def, s, tasks(s, 'call')[0]);
    expect(tasks(s, 'call').map((t) => [t.title, t.status])).toEqual([
      ['Call Ana (0)', 'completed'],
      ['Call Ben (1)', 'open'],
    ]);
  });

  it('over an empty list takes the empty outcome', () => {
    const s = start(define({ items: 'data.contacts', emptyOutcome: 'none' }), { contacts: [] });
    expect(s.ended).toBe(true);
    expect(s.status).toBe('SKIPPED');
  });

  it('over a count makes that many tasks', () => {
    const s = start(define({ items: 'data.visits', complete: 'any' }), { visits: 2 });
    expect(tasks(s, 'call')).toHaveLength(2);
  });
});
