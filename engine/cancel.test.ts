import { toMermaid } from '../designer/diagram';
import { simulate } from '../designer/simulate';
import { validateDefinition } from '../designer/validate';
import { applyEvent, startCase } from './interpreter';
import { migrateState } from './migration';
import type { Actor, CaseState, StepResult } from './state';
import type { CaseTypeDefinition, Step } from './types';

/** Cancellation: a supervisor cancels one task; a transition cancels steps or a whole parallel region. */

const T0 = Date.UTC(2025, 0, 6, 9, 0, 0);
const ana: Actor = { userId: 'ana', role: 'agent', teams: ['sales'] };
const sam: Actor = { userId: 'sam', role: 'supervisor', teams: [], supervisedTeams: ['sales'] };

function define(steps: Record<string, Step>, start: string): CaseTypeDefinition {
  return {
    dslVersion: '1',
    id: 'cancel',
    version: '1',
    name: 'Cancel',
    statuses: [
      { code: 'OPEN', name: 'Open', category: 'open' },
      { code: 'DONE', name: 'Done', category: 'closed' },
      { code: 'CANCELLED', name: 'Cancelled', category: 'lost' },
    ],
    initialStatus: 'OPEN',
    start,
    steps,
  };
}

const human = (outcomes: Record<string, unknown>, extra: Record<string, unknown> = {}): Step =>
  ({ type: 'human', action: 'call', title: 'Call', assign: { team: 'sales' }, outcomes, ...extra }) as Step;

const tasksIn = (s: CaseState, status: string): string[] =>
  Object.values(s.tasks)
    .filter((t) => t.status === status)
    .map((t) => t.step ?? '')
    .sort();
const taskOf = (s: CaseState, step: string) => {
  const task = Object.values(s.tasks).find((t) => t.step === step && t.status === 'open');
  if (!task) throw new Error(`no open task of ${step}`);
  return task;
};
const begin = (def: CaseTypeDefinition): StepResult =>
  startCase(def, { caseId: 'C', caseType: def.id, definitionVersion: 1 }, T0);
const complete = (def: CaseTypeDefinition, s: CaseState, step: string, outcome: string) =>
  applyEvent(def, s, { type: 'complete', taskId: taskOf(s, step).id, outcome, actor: sam }, T0 + 1000);
const cancelTask = (def: CaseTypeDefinition, s: CaseState, step: string, actor: Actor = sam) =>
  applyEvent(
    def,
    s,
    { type: 'cancelTask', taskId: taskOf(s, step).id, reason: 'visit called off', actor },
    T0 + 1000,
  );

/** A visit and a quote in parallel; the customer may call the whole thing off from a third branch. */
const region = define(
  {
    prepare: { type: 'parallel', branches: ['visit', 'quote', 'watch'], join: 'ready' },
    visit: human({ done: { next: 'ready' } }),
    quote: human({ sent: { next: 'follow-up' } }),
    'follow-up': human({ done: { next: 'ready' } }),
    watch: human({
      'customer-cancelled': { cancel: ['prepare'], status: 'CANCELLED', next: 'notify' },
      quiet: { next: 'ready' },
    }),
    ready: { type: 'join', then: { status: 'DONE', next: 'sign' } },
    sign: human({ signed: { end: true } }),
    notify: human({ sent: { end: true } }),
  },
  'prepare',
);

describe('cancel a region', () => {
  it('withdraws every open task inside the parallel, the join never fires, and the path goes on', () => {
    let s = begin(region).state;
    s = complete(region, s, 'quote', 'sent').state;
    expect(tasksIn(s, 'open')).toEqual(['follow-up', 'visit', 'watch']);
    const r = complete(region, s, 'watch', 'customer-cancelled');
    expect(tasksIn(r.state, 'open')).toEqual(['notify']);
    expect(tasksIn(r.state, 'cancelled')).toEqual(['follow-up', 'visit']);
    expect(r.state.joins).toEqual({});
    expect(r.state.status).toBe('CANCELLED');
    const cancelled = r.timeline.filter((e) => e.kind === 'task.cancelled');
    expect(cancelled.map((e) => e.detail.reason)).toEqual([
      'cancelled by step watch',
      'cancelled by step watch',
    ]);
    expect(r.timeline.find((e) => e.kind === 'steps.cancelled')?.detail).toMatchObject({
      step: 'prepare',
      tokens: 2,
      regions: 1,
    });
    // The notice is outside the cancelled region: completing it ends the case, no join fires.
    const end = complete(region, r.state, 'notify', 'sent');
    expect(end.state.ended).toBe(true);
    expect(end.timeline.some((e) => e.kind === 'parallel.joined')).toBe(false);
  });

  it('without the cancel the join waits for every branch as before', () => {
    let s = begin(region).state;
    s = complete(region, s, 'watch', 'quiet').state;
    s = complete(region, s, 'visit', 'done').state;
    s = complete(region, s, 'quote', 'sent').state;
    expect(tasksIn(s, 'open')).toEqual(['follow-up']);
    s = complete(region, s, 'follow-up', 'done').state;
    expect(tasksIn(s, 'open')).toEqual(['sign']);
    expect(s.status).toBe('DONE');
  });

  it('validates: leaving a region is allowed when the transition cancels it, an unknown name is an error', () => {
    const file = 'cancel.json';
    // With the soundness check: the cancelled region leaves no deadlock and no live work behind.
    const ok = validateDefinition(region, file, { templatesDir: '/nonexistent' });
    expect(ok.filter((i) => i.severity === 'error')).toEqual([]);
    // Straight past the join to `sign`: allowed only with the cancel.
    const past = (cancel: boolean) => {
      const copy = JSON.parse(JSON.stringify(region)) as CaseTypeDefinition;
      (copy.steps.watch as { outcomes: Record<string, unknown> }).outcomes['customer-cancelled'] = {
        ...(cancel ? { cancel: ['prepare'] } : {}),
        next: 'sign',
      };
      return validateDefinition(copy, file, { templatesDir: '/nonexistent', skipSoundness: true });
    };
    expect(past(true).filter((i) => i.severity === 'error')).toEqual([]);
    expect(past(false).map((i) => i.pointer)).toContain('/steps/watch/outcomes/customer-cancelled/next');
    const typo = JSON.parse(JSON.stringify(region)) as CaseTypeDefinition;
    (typo.steps.watch as { outcomes: Record<string, unknown> }).outcomes['customer-cancelled'] = {
      cancel: ['prepar'],
      status: 'CANCELLED',
      next: 'notify',
    };
    const bad = validateDefinition(typo, file, { templatesDir: '/nonexistent', skipSoundness: true });
    expect(bad).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          pointer: '/steps/watch/outcomes/customer-cancelled/cancel/0',
          message: 'unknown step "prepar"',
        }),
      ]),
    );
  });
});

describe('cancel one task', () => {
  const seq = define(
    {
      both: { type: 'parallel', branches: ['visit', 'call'], join: 'met' },
      visit: human({ done: { next: 'met' } }),
      call: human({ done: { next: 'met' }, 'no-visit': { cancel: ['visit'], next: 'met' } }),
      met: { type: 'join', then: { next: 'close' } },
      close: human({ ok: { status: 'DONE', end: true } }),
    },
    'both',
  );

  it('a supervisor cancels a task: it is withdrawn and the join goes on without its branch', () => {
    const s = begin(seq).state;
    expect(() => cancelTask(seq, s, 'visit', ana)).toThrow(/FORBIDDEN/);
    const r = cancelTask(seq, s, 'visit');
    expect(tasksIn(r.state, 'cancelled')).toEqual(['visit']);
    expect(r.timeline.find((e) => e.kind === 'task.cancelled')?.detail.reason).toBe(
      'cancelled by sam: visit called off',
    );
    expect(r.state.tokens.map((t) => t.step)).toEqual(['call']);
    const after = complete(seq, r.state, 'call', 'done').state;
    expect(tasksIn(after, 'open')).toEqual(['close']);
    expect(() => cancelTask(seq, after, 'close', sam)).not.toThrow();
  });

  it('a transition cancels the task of another step', () => {
    const s = begin(seq).state;
    const r = complete(seq, s, 'call', 'no-visit');
    expect(tasksIn(r.state, 'cancelled')).toEqual(['visit']);
    expect(tasksIn(r.state, 'open')).toEqual(['close']);
  });

  it('cancelling the only task of a sequence leaves the case without work: it ends', () => {
    const one = define({ only: human({ done: { status: 'DONE', end: true } }) }, 'only');
    const r = cancelTask(one, begin(one).state, 'only');
    expect(r.state.ended).toBe(true);
    expect(r.timeline.find((e) => e.kind === 'case.ended')?.detail.reason).toBe('no more work');
  });

  it('one instance of a multi-instance step cannot be cancelled alone', () => {
    const multi = define(
      {
        calls: human({ done: { status: 'DONE', end: true } }, { forEach: { items: 'data.contacts' } }),
      },
      'calls',
    );
    const s = startCase(
      multi,
      { caseId: 'C', caseType: 'cancel', definitionVersion: 1, data: { contacts: ['a', 'b'] } },
      T0,
    ).state;
    expect(() => cancelTask(multi, s, 'calls')).toThrow(/INVALID_ACTION/);
  });
});

describe('simulator and diagram', () => {
  it("simulate cancel:<step> cancels that step's task; the region cancel runs as in the engine", () => {
    const result = simulate(region, ['cancel:visit', 'watch=customer-cancelled', 'sent']);
    expect(result.error).toBeUndefined();
    expect(result.tasks.map((t) => [t.step, t.status])).toEqual([
      ['visit', 'cancelled'],
      ['quote', 'cancelled'],
      ['watch', 'completed'],
      ['notify', 'completed'],
    ]);
    expect(result).toMatchObject({ finalStatus: 'CANCELLED', ended: true });
    expect(simulate(region, ['cancel:sign']).error).toMatch(/no open task/);
  });

  it('the diagram marks the cancelling edge', () => {
    expect(toMermaid(region)).toContain('customer-cancelled ✕ prepare → CANCELLED');
  });
});

describe('cancel a region after a migration renamed its parallel step', () => {
  it('the renamed region is still found and withdrawn', () => {
    const renamed = JSON.parse(JSON.stringify(region)) as CaseTypeDefinition;
    const steps = renamed.steps as Record<string, Step>;
    steps['prepare-offer'] = steps.prepare as Step;
    delete steps.prepare;
    renamed.start = 'prepare-offer';
    (steps.watch as { outcomes: Record<string, { cancel?: string[] }> }).outcomes[
      'customer-cancelled'
    ]!.cancel = ['prepare-offer'];
    let s = begin(region).state;
    s = complete(region, s, 'quote', 'sent').state;
    s = migrateState(
      { caseType: 'cancel', fromVersion: 1, toVersion: 2, steps: { prepare: 'prepare-offer' } },
      renamed,
      s,
    );
    const r = complete(renamed, s, 'watch', 'customer-cancelled');
    expect(tasksIn(r.state, 'open')).toEqual(['notify']);
    expect(tasksIn(r.state, 'cancelled')).toEqual(['follow-up', 'visit']);
    expect(r.state.joins).toEqual({});
  });
});
