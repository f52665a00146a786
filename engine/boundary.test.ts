import { applyEvent, startCase } from './interpreter';
import type { Actor, CaseState, StepResult } from './state';
import type { CaseTypeDefinition, Step } from './types';

/** Boundary events (timers and messages on a step), event-based choice and message buffering. */

const T0 = Date.UTC(2025, 0, 6, 9, 0, 0);
const DAY = 86_400_000;
const ana: Actor = { userId: 'ana', role: 'agent', teams: ['sales'] };

function define(steps: Record<string, Step>, start: string, buffer = false): CaseTypeDefinition {
  return {
    dslVersion: '1',
    id: 'b',
    version: '1',
    name: 'Boundary',
    statuses: [
      { code: 'OPEN', name: 'Open', category: 'open' },
      { code: 'CHASING', name: 'Chasing', category: 'open' },
      { code: 'WON', name: 'Won', category: 'won' },
      { code: 'LOST', name: 'Lost', category: 'lost' },
    ],
    initialStatus: 'OPEN',
    start,
    steps,
    messages: [{ name: 'reply', buffer }],
  };
}

const human = (outcomes: Record<string, unknown>, extra: Record<string, unknown> = {}): Step =>
  ({ type: 'human', action: 'call', title: 'Call', assign: { team: 'sales' }, outcomes, ...extra }) as Step;

const open = (s: CaseState): string[] =>
  Object.values(s.tasks)
    .filter((t) => t.status === 'open')
    .map((t) => t.step ?? '')
    .sort();
const statusOf = (s: CaseState, step: string): string[] =>
  Object.values(s.tasks)
    .filter((t) => t.step === step)
    .map((t) => t.status);

const begin = (def: CaseTypeDefinition): StepResult =>
  startCase(def, { caseId: 'C', caseType: def.id, definitionVersion: 1 }, T0);

function fire(def: CaseTypeDefinition, s: CaseState, kind: string): StepResult {
  const timer = s.timers.find((t) => t.kind === kind);
  if (!timer) throw new Error(`no ${kind} timer`);
  return applyEvent(def, s, { type: 'timerFired', timerId: timer.id }, timer.fireAt);
}

const message = (def: CaseTypeDefinition, s: CaseState, at = T0): StepResult =>
  applyEvent(def, s, { type: 'message', name: 'reply', payload: { text: 'yes' }, actor: ana }, at);

describe('wait for the reply, or chase after 7 days (deferred choice)', () => {
  const def = define(
    {
      await: human(
        { replied: { status: 'WON', end: true } },
        { boundary: [{ after: 'P7D', then: { status: 'CHASING', next: 'chase' } }] },
      ),
      chase: human({ done: { status: 'LOST', end: true } }),
    },
    'await',
  );

  it('the timer withdraws the task and takes the other path', () => {
    const s0 = begin(def).state;
    expect(s0.timers.find((t) => t.kind === 'boundary')?.fireAt).toBe(T0 + 7 * DAY);
    const s1 = fire(def, s0, 'boundary');
    expect(statusOf(s1.state, 'await')).toEqual(['cancelled']);
    expect(open(s1.state)).toEqual(['chase']);
    expect(s1.state.status).toBe('CHASING');
    expect(s1.timeline.map((e) => e.kind)).toEqual(
      expect.arrayContaining(['boundary.fired', 'task.cancelled']),
    );
  });

  it('completing the task first disarms the timer', () => {
    const s0 = begin(def).state;
    const task = Object.values(s0.tasks)[0];
    const s1 = applyEvent(
      def,
      s0,
      { type: 'complete', taskId: task?.id ?? '', outcome: 'replied', actor: ana },
      T0,
    );
    expect(s1.state.ended).toBe(true);
    expect(s1.state.timers.filter((t) => t.kind === 'boundary')).toEqual([]);
  });
});

describe('a non-interrupting timer adds work beside the open task', () => {
  const def = define(
    {
      work: human(
        { done: { status: 'WON' } },
        { boundary: [{ after: 'P2D', interrupting: false, then: { next: 'remind' } }] },
      ),
      remind: human({ ok: {} }),
    },
    'work',
  );

  it('keeps the task and opens the reminder', () => {
    const s1 = fire(def, begin(def).state, 'boundary');
    expect(open(s1.state)).toEqual(['remind', 'work']);
    expect(s1.state.timers.filter((t) => t.kind === 'boundary')).toEqual([]);
  });
});

describe('messages', () => {
  const steps: Record<string, Step> = {
    first: human({ sent: { next: 'wait-reply' } }),
    'wait-reply': {
      type: 'wait',
      message: 'reply',
      then: { status: 'WON', end: true },
      boundary: [{ after: 'P14D', then: { status: 'LOST', end: true } }],
    },
  };

  it('a message reaching its wait continues the case, and the wait timer is gone', () => {
    const def = define(steps, 'first');
    const s0 = begin(def).state;
    const task = Object.values(s0.tasks)[0];
    const s1 = applyEvent(
      def,
      s0,
      { type: 'complete', taskId: task?.id ?? '', outcome: 'sent', actor: ana },
      T0,
    ).state;
    expect(s1.timers.filter((t) => t.kind === 'boundary')).toHaveLength(1);
    const s2 = message(def, s1);
    expect(s2.state.status).toBe('WON');
    expect(s2.timeline.find((e) => e.kind === 'message.received')?.detail).toEqual({
      name: 'reply',
      step: 'wait-reply',
    });
  });

  it('a message before its catch is dropped (transient) or kept until caught (buffered)', () => {
    for (const buffer of [false, true]) {
      const def = define(steps, 'first', buffer);
      const s0 = begin(def).state;
      const early = message(def, s0);
      expect(early.timeline.map((e) => e.kind)).toContain(buffer ? 'message.buffered' : 'message.dropped');
      const task = Object.values(s0.tasks)[0];
      const s2 = applyEvent(
        def,
        early.state,
        { type: 'complete', taskId: task?.id ?? '', outcome: 'sent', actor: ana },
        T0,
      );
      expect(s2.state.status).toBe(buffer ? 'WON' : 'OPEN');
      expect(s2.state.pendingMessages ?? []).toEqual([]);
    }
  });

  it('a boundary message on a task withdraws it (the other side of the race)', () => {
    const def = define(
      {
        chase: human(
          { gave_up: { status: 'LOST', end: true } },
          { boundary: [{ message: 'reply', then: { status: 'WON', end: true } }] },
        ),
      },
      'chase',
    );
    const s1 = message(def, begin(def).state);
    expect(statusOf(s1.state, 'chase')).toEqual(['cancelled']);
    expect(s1.state.status).toBe('WON');
  });
});
