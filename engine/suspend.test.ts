import { applyEvent, nextTimer, startCase } from './interpreter';
import type { Actor, CaseEvent, CaseState } from './state';
import type { CaseTypeDefinition } from './types';

/** On hold: a suspended case or task cannot be worked, and its timers keep the time they had left. */

const T0 = Date.UTC(2025, 0, 6, 9, 0, 0);
const HOUR = 3_600_000;
const ana: Actor = { userId: 'ana', role: 'agent', teams: ['sales'] };
const sam: Actor = { userId: 'sam', role: 'supervisor', teams: [], supervisedTeams: ['sales'] };

const def: CaseTypeDefinition = {
  dslVersion: '1',
  id: 'hold',
  version: '1',
  name: 'Hold',
  statuses: [
    { code: 'OPEN', name: 'Open', category: 'open' },
    { code: 'DONE', name: 'Done', category: 'closed' },
  ],
  initialStatus: 'OPEN',
  start: 'call',
  steps: {
    call: {
      type: 'human',
      action: 'call',
      title: 'Call',
      assign: { team: 'sales' },
      due: 'PT10H',
      escalations: [{ after: 'PT4H', priority: 'high' }],
      outcomes: { done: { next: 'end', status: 'DONE' } },
    },
    end: { type: 'automatic', then: { end: true } },
  },
} as unknown as CaseTypeDefinition;

const start = () => startCase(def, { caseId: 'C', caseType: 'hold', definitionVersion: 1 }, T0).state;
const task = (s: CaseState) => Object.values(s.tasks)[0]!;
const act = (s: CaseState, event: CaseEvent, at: number) => applyEvent(def, s, event, at).state;

describe('suspending a case', () => {
  it('refuses claim and complete on hold, pauses the escalation and moves the due date by the time held', () => {
    let s = start();
    const id = task(s).id;
    const dueAt = task(s).dueAt as number;
    expect(nextTimer(s)?.fireAt).toBe(T0 + 4 * HOUR);
    s = act(s, { type: 'suspend', reason: 'customer away', actor: sam }, T0 + 1 * HOUR);
    expect(s.suspended).toEqual({ at: T0 + HOUR, by: 'sam', reason: 'customer away' });
    expect(task(s).heldSince).toBe(T0 + HOUR);
    expect(nextTimer(s)).toBeUndefined();
    expect(() => act(s, { type: 'claim', taskId: id, actor: ana }, T0 + 2 * HOUR)).toThrow(/CASE_SUSPENDED/);
    expect(() =>
      act(s, { type: 'complete', taskId: id, outcome: 'done', actor: sam }, T0 + 2 * HOUR),
    ).toThrow(/CASE_SUSPENDED/);
    // A firing already on its way changes nothing.
    const fired = act(s, { type: 'timerFired', timerId: s.timers[0]!.id }, T0 + 5 * HOUR);
    expect(task(fired).escalationLevel).toBe(0);
    // Held for 5 hours: 3 hours of the escalation's 4 are left.
    s = act(s, { type: 'resume', actor: sam }, T0 + 6 * HOUR);
    expect(s.suspended).toBeUndefined();
    expect(task(s).heldSince).toBeUndefined();
    expect(task(s).dueAt).toBe(dueAt + 5 * HOUR);
    expect(nextTimer(s)?.fireAt).toBe(T0 + 9 * HOUR);
    expect(() => act(s, { type: 'claim', taskId: id, actor: ana }, T0 + 6 * HOUR)).not.toThrow();
  });

  it('is for supervisors, and not twice', () => {
    const s = start();
    expect(() => act(s, { type: 'suspend', actor: ana }, T0)).toThrow(/FORBIDDEN/);
    expect(() => act(s, { type: 'resume', actor: sam }, T0)).toThrow(/NOT_SUSPENDED/);
    const held = act(s, { type: 'suspend', actor: sam }, T0);
    expect(() => act(held, { type: 'suspend', actor: sam }, T0)).toThrow(/CASE_SUSPENDED/);
  });

  it('records who suspended and resumed in the timeline', () => {
    const s = act(start(), { type: 'suspend', actor: sam }, T0 + HOUR);
    const r = applyEvent(def, s, { type: 'resume', actor: sam }, T0 + 3 * HOUR);
    expect(r.timeline.map((e) => [e.kind, e.actor, e.detail.heldMs])).toEqual([
      ['case.resumed', 'sam', 2 * HOUR],
    ]);
  });
});

describe('suspending a task', () => {
  it('holds only that task and its timers', () => {
    let s = start();
    const id = task(s).id;
    s = act(s, { type: 'suspendTask', taskId: id, actor: sam }, T0 + HOUR);
    expect(task(s).suspended?.by).toBe('sam');
    expect(() => act(s, { type: 'claim', taskId: id, actor: ana }, T0 + HOUR)).toThrow(/TASK_SUSPENDED/);
    expect(nextTimer(s)).toBeUndefined();
    expect(() => act(s, { type: 'resumeTask', taskId: id, actor: ana }, T0 + HOUR)).toThrow(/FORBIDDEN/);
    s = act(s, { type: 'resumeTask', taskId: id, actor: sam }, T0 + 2 * HOUR);
    expect(nextTimer(s)?.fireAt).toBe(T0 + 5 * HOUR);
  });

  it('stays on hold when its case is resumed', () => {
    let s = start();
    const id = task(s).id;
    s = act(s, { type: 'suspendTask', taskId: id, actor: sam }, T0 + HOUR);
    s = act(s, { type: 'suspend', actor: sam }, T0 + 2 * HOUR);
    s = act(s, { type: 'resume', actor: sam }, T0 + 3 * HOUR);
    expect(nextTimer(s)).toBeUndefined();
    expect(() => act(s, { type: 'claim', taskId: id, actor: ana }, T0 + 3 * HOUR)).toThrow(/TASK_SUSPENDED/);
    s = act(s, { type: 'resumeTask', taskId: id, actor: sam }, T0 + 4 * HOUR);
    // Held 3 hours in all: the escalation's 3 hours left run from then.
    expect(nextTimer(s)?.fireAt).toBe(T0 + 7 * HOUR);
    expect(s.onHold).toBeUndefined();
  });
});
