import { DefinitionRuntimeError } from './errors';
import { applyEvent, checkEvent, nextTimer, startCase } from './interpreter';
import type {
  Actor,
  ActorEvent,
  CaseEvent,
  CaseState,
  Command,
  EmailCommand,
  StepResult,
  TaskState,
} from './state';
import type { CaseTypeDefinition, Step } from './types';

const T0 = Date.UTC(2025, 0, 6, 9, 0, 0);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const ana: Actor = { userId: 'ana', role: 'agent', teams: ['sales'] };
const bob: Actor = { userId: 'bob', role: 'agent', teams: ['sales'] };
const eve: Actor = { userId: 'eve', role: 'agent', teams: ['support'] };
const sue: Actor = {
  userId: 'sue',
  role: 'supervisor',
  teams: [],
  supervisedTeams: ['sales'],
  supervisedUsers: ['ana', 'bob'],
};
const admin: Actor = { userId: 'root', role: 'admin', teams: [] };

/** A small case type: the given steps, statuses OPEN / WORKING / POSTPONED / WON / LOST. */
function define(
  steps: Record<string, Step>,
  extra: Partial<CaseTypeDefinition> = {},
  start: string | string[] = Object.keys(steps)[0] as string,
): CaseTypeDefinition {
  return {
    dslVersion: '1',
    id: 'test',
    version: '1',
    name: 'Test case',
    statuses: [
      { code: 'OPEN', name: 'Open', category: 'open' },
      { code: 'WORKING', name: 'Working', category: 'open', manual: true },
      { code: 'POSTPONED', name: 'Postponed', category: 'open', manual: true },
      { code: 'WON', name: 'Won', category: 'won' },
      { code: 'LOST', name: 'Lost', category: 'lost', manual: true },
    ],
    initialStatus: 'OPEN',
    start,
    steps,
    ...extra,
  };
}

/** A human step for the sales team with the given outcomes. */
function task(outcomes: Record<string, unknown>, extra: Record<string, unknown> = {}): Step {
  return {
    type: 'human',
    action: 'call',
    title: 'Call',
    assign: { team: 'sales' },
    outcomes,
    ...extra,
  } as Step;
}

function begin(def: CaseTypeDefinition, data: Record<string, unknown> = {}, now = T0): StepResult {
  return startCase(
    def,
    {
      caseId: 'C1',
      caseType: def.id,
      definitionVersion: 1,
      data,
      entity: { id: 'E1', name: 'ACME', agentId: 'ana' },
      ownerId: 'olga',
    },
    now,
  );
}

function openTasks(state: CaseState): TaskState[] {
  return Object.values(state.tasks).filter((t) => t.status === 'open');
}

function taskOf(state: CaseState, step: string): TaskState {
  const found = openTasks(state).find((t) => t.step === step);
  if (!found)
    throw new Error(
      `no open task of step ${step}; open: ${openTasks(state)
        .map((t) => t.step)
        .join(', ')}`,
    );
  return found;
}

function act(def: CaseTypeDefinition, state: CaseState, event: CaseEvent, now = T0): StepResult {
  return applyEvent(def, state, event, now);
}

function complete(
  def: CaseTypeDefinition,
  state: CaseState,
  step: string,
  outcome: string,
  options: { actor?: Actor; data?: Record<string, unknown>; now?: number } = {},
): StepResult {
  const t = taskOf(state, step);
  return act(
    def,
    state,
    {
      type: 'complete',
      taskId: t.id,
      outcome,
      actor: options.actor ?? ana,
      ...(options.data ? { data: options.data } : {}),
    },
    options.now ?? T0,
  );
}

/** Fires the earliest pending timer at its own time. */
function fireNext(def: CaseTypeDefinition, state: CaseState): StepResult {
  const timer = nextTimer(state);
  if (!timer) throw new Error('no timer pending');
  return act(def, state, { type: 'timerFired', timerId: timer.id }, timer.fireAt);
}

function emails(result: StepResult): EmailCommand[] {
  return result.commands.filter((c): c is EmailCommand => c.kind === 'email');
}

function kinds(result: StepResult): string[] {
  return result.timeline.map((e) => e.kind);
}

describe('sequence', () => {
  const def = define({
    first: task(
      { done: { status: 'WORKING', next: 'second' } },
      { title: 'Call {{entity.name}} about {{data.subject}}' },
    ),
    second: task({ done: { status: 'WON', end: true } }, { action: 'visit', title: 'Visit' }),
  });

  it('starts in the initial status with the first task, titled from the case', () => {
    const { state, timeline } = begin(def, { subject: 'new printers' });
    expect(state.status).toBe('OPEN');
    expect(openTasks(state).map((t) => [t.step, t.title, t.candidateTeams])).toEqual([
      ['first', 'Call ACME about new printers', ['sales']],
    ]);
    expect(timeline.map((e) => e.kind)).toEqual(['case.started', 'task.created']);
  });

  it('goes from step to step and ends in the final status', () => {
    const s1 = begin(def).state;
    const s2 = complete(def, s1, 'first', 'done');
    expect(s2.state.status).toBe('WORKING');
    expect(openTasks(s2.state).map((t) => [t.step, t.action])).toEqual([['second', 'visit']]);
    const s3 = complete(def, s2.state, 'second', 'done');
    expect(s3.state).toMatchObject({ status: 'WON', statusCategory: 'won', ended: true, endedAt: T0 });
    expect(kinds(s3)).toEqual(['task.completed', 'status.changed', 'case.ended']);
  });

  it('does not change the state it is given', () => {
    const s1 = begin(def).state;
    const before = JSON.stringify(s1);
    complete(def, s1, 'first', 'done');
    expect(JSON.stringify(s1)).toBe(before);
  });

  it('is deterministic', () => {
    const run = (): string => {
      const s1 = begin(def).state;
      return JSON.stringify(complete(def, s1, 'first', 'done'));
    };
    expect(run()).toBe(run());
  });
});

describe('outcome transitions with conditions', () => {
  const def = define({
    qualify: task({
      done: [
        { if: { '>=': [{ var: 'data.amount' }, 10000] }, status: 'WORKING', next: 'big-deal' },
        { if: { '==': [{ var: 'form.channel' }, 'web'] }, next: 'web-offer' },
        { next: 'standard' },
      ],
    }),
    'big-deal': task({ ok: { end: true } }),
    'web-offer': task({ ok: { end: true } }),
    standard: task({ ok: { end: true } }),
  });

  it.each([
    ['a condition on case data', { amount: 20000 }, {}, 'big-deal'],
    ['a condition on the completion form', { amount: 10 }, { channel: 'web' }, 'web-offer'],
    ['the default when no condition holds', { amount: 10 }, { channel: 'phone' }, 'standard'],
  ])('takes the first matching transition: %s', (_name, data, form, expected) => {
    const s1 = begin(def, data).state;
    const s2 = complete(def, s1, 'qualify', 'done', { data: form });
    expect(openTasks(s2.state).map((t) => t.step)).toEqual([expected]);
  });

  it('stores the form and notes on the completed task', () => {
    const s1 = begin(def).state;
    const t = taskOf(s1, 'qualify');
    const s2 = act(def, s1, {
      type: 'complete',
      taskId: t.id,
      outcome: 'done',
      data: { channel: 'web' },
      notes: 'ok',
      actor: ana,
    });
    expect(s2.state.tasks[t.id]).toMatchObject({
      status: 'completed',
      outcome: 'done',
      formData: { channel: 'web' },
      notes: 'ok',
      completedBy: 'ana',
      assignee: 'ana',
    });
  });
});

describe('set fields', () => {
  it('sets case fields by dot path on a transition', () => {
    const def = define({
      call: task({ done: { set: { probability: 80, 'contact.reached': true }, next: 'next' } }),
      next: task({ ok: { end: true } }),
    });
    const s1 = begin(def, { probability: 10, contact: { name: 'Ann' } }).state;
    const s2 = complete(def, s1, 'call', 'done');
    expect(s2.state.data).toEqual({ probability: 80, contact: { name: 'Ann', reached: true } });
    expect(s2.timeline.filter((e) => e.kind === 'field.set').map((e) => e.detail)).toEqual([
      { path: 'probability', value: 80 },
      { path: 'contact.reached', value: true },
    ]);
  });
});

describe('parallel and join', () => {
  const def = define(
    {
      split: { type: 'parallel', branches: ['call', 'mail'], join: 'meet' },
      call: task({ done: { next: 'meet' } }),
      mail: task({ sent: { next: 'meet' } }, { action: 'email' }),
      meet: { type: 'join', then: { status: 'WORKING', next: 'decide' } },
      decide: task({ won: { status: 'WON', end: true } }),
    },
    {},
    'split',
  );

  it('opens every branch at once', () => {
    const { state, timeline } = begin(def);
    expect(openTasks(state).map((t) => t.step)).toEqual(['call', 'mail']);
    expect(timeline.find((e) => e.kind === 'parallel.started')?.detail).toEqual({
      step: 'split',
      branches: ['call', 'mail'],
    });
  });

  it('continues after the join only when every branch has arrived', () => {
    const s1 = begin(def).state;
    const s2 = complete(def, s1, 'mail', 'sent');
    expect(openTasks(s2.state).map((t) => t.step)).toEqual(['call']);
    expect(s2.state.status).toBe('OPEN');
    const s3 = complete(def, s2.state, 'call', 'done');
    expect(kinds(s3)).toContain('parallel.joined');
    expect(s3.state.status).toBe('WORKING');
    expect(openTasks(s3.state).map((t) => t.step)).toEqual(['decide']);
    expect(s3.state.joins).toEqual({});
  });
});

describe('loop with an exit', () => {
  const def = define({
    decide: task({
      won: { status: 'WON', end: true },
      postponed: { status: 'POSTPONED', next: 'follow-up' },
    }),
    'follow-up': task({
      ready: { status: 'WORKING', next: 'decide' },
      'still-postponed': { next: 'follow-up' },
    }),
  });

  it('returns to the decision after the follow-up, then exits', () => {
    let s = begin(def).state;
    s = complete(def, s, 'decide', 'postponed').state;
    expect(s.status).toBe('POSTPONED');
    s = complete(def, s, 'follow-up', 'still-postponed').state;
    s = complete(def, s, 'follow-up', 'ready').state;
    expect(s.status).toBe('WORKING');
    expect(s.visits).toEqual({ decide: 2, 'follow-up': 2 });
    const done = complete(def, s, 'decide', 'won');
    expect(done.state).toMatchObject({ status: 'WON', ended: true });
    expect(Object.values(done.state.tasks).map((t) => t.status)).toEqual([
      'completed',
      'completed',
      'completed',
      'completed',
    ]);
  });
});

describe('wait', () => {
  it('waits for a duration, then continues', () => {
    const def = define({
      call: task({ done: { next: 'cool-off' } }),
      'cool-off': { type: 'wait', until: 'P3D', then: { next: 'again' } },
      again: task({ done: { end: true } }),
    });
    const s1 = complete(def, begin(def).state, 'call', 'done');
    expect(kinds(s1)).toContain('wait.started');
    expect(openTasks(s1.state)).toEqual([]);
    expect(s1.state.ended).toBe(false);
    expect(nextTimer(s1.state)).toMatchObject({ kind: 'wait', fireAt: T0 + 3 * DAY });
    const s2 = fireNext(def, s1.state);
    expect(kinds(s2)).toEqual(['wait.ended', 'task.created']);
    expect(openTasks(s2.state).map((t) => [t.step, t.createdAt])).toEqual([['again', T0 + 3 * DAY]]);
  });

  it('waits until a date field plus an offset', () => {
    const def = define({
      remind: { type: 'wait', until: { field: 'data.closeDate', offset: '-P2D' }, then: { next: 'call' } },
      call: task({ done: { end: true } }),
    });
    const { state } = begin(def, { closeDate: '2025-02-10T09:00:00Z' });
    expect(nextTimer(state)?.fireAt).toBe(Date.UTC(2025, 1, 8, 9));
  });

  it('continues at once when the date has passed or the field is empty', () => {
    const def = define({
      remind: { type: 'wait', until: { field: 'data.closeDate' }, then: { next: 'call' } },
      call: task({ done: { end: true } }),
    });
    expect(openTasks(begin(def, { closeDate: '2020-01-01' }).state).map((t) => t.step)).toEqual(['call']);
    expect(openTasks(begin(def, {}).state).map((t) => t.step)).toEqual(['call']);
  });
});

describe('automatic steps', () => {
  const def = define({
    call: task({ won: { next: 'close' } }),
    close: {
      type: 'automatic',
      do: [
        { setField: { path: 'closedBy', value: 'process' } },
        { setStatus: 'WON' },
        { email: { template: 'thanks', to: ['contact:primary'], cc: ['owner'] } },
      ],
      then: { end: true },
    },
  });

  it('sets fields and the status and sends an email, then continues', () => {
    const r = complete(def, begin(def).state, 'call', 'won');
    expect(r.state).toMatchObject({ status: 'WON', ended: true, data: { closedBy: 'process' } });
    expect(emails(r)).toEqual([
      expect.objectContaining({
        ruleId: 'step:close:2',
        template: 'thanks',
        to: ['contact:primary'],
        cc: ['owner'],
        bcc: [],
      }),
    ]);
    expect(kinds(r)).toEqual(['task.completed', 'field.set', 'status.changed', 'step.email', 'case.ended']);
  });

  it('refuses an automatic loop that never waits instead of spinning forever', () => {
    const looping = define({
      a: { type: 'automatic', then: { next: 'b' } },
      b: { type: 'automatic', then: { next: 'a' } },
    });
    expect(() => begin(looping)).toThrow(DefinitionRuntimeError);
  });
});

describe('sub-cases', () => {
  it('starts a sub-case with data from this case and waits for its result', () => {
    const def = define({
      qualify: task({ qualified: { next: 'deal' } }),
      deal: {
        type: 'subcase',
        caseType: 'opportunity',
        data: { subject: { var: 'data.subject' }, source: 'lead' },
        wait: true,
        outcomes: { won: { status: 'WON', end: true }, lost: { next: 'nurture' } },
      },
      nurture: task({ done: { status: 'LOST', end: true } }),
    });
    const s1 = complete(def, begin(def, { subject: 'printers' }).state, 'qualify', 'qualified');
    const start = s1.commands.find(
      (c): c is Extract<Command, { kind: 'startSubcase' }> => c.kind === 'startSubcase',
    );
    expect(start).toMatchObject({
      caseType: 'opportunity',
      data: { subject: 'printers', source: 'lead' },
      wait: true,
    });
    expect(s1.state.ended).toBe(false);
    const token = s1.state.tokens.find((t) => t.subcaseId === start?.childCaseId);
    expect(token?.step).toBe('deal');

    const won = act(def, s1.state, {
      type: 'subcaseEnded',
      tokenId: token?.id ?? '',
      status: 'WON',
      category: 'won',
    });
    expect(won.state).toMatchObject({ status: 'WON', ended: true });
    const lost = act(def, s1.state, {
      type: 'subcaseEnded',
      tokenId: token?.id ?? '',
      status: 'LOST',
      category: 'lost',
    });
    expect(openTasks(lost.state).map((t) => t.step)).toEqual(['nurture']);
  });

  it('without wait, continues at once', () => {
    const def = define({
      spawn: { type: 'subcase', caseType: 'service', wait: false, then: { next: 'call' } },
      call: task({ done: { end: true } }),
    });
    const r = begin(def);
    expect(r.commands).toEqual([
      expect.objectContaining({ kind: 'startSubcase', caseType: 'service', wait: false }),
    ]);
    expect(openTasks(r.state).map((t) => t.step)).toEqual(['call']);
    expect(r.state.tokens.some((t) => t.subcaseId !== undefined)).toBe(false);
  });
});

describe('escalations', () => {
  const def = define({
    call: task(
      { done: { end: true } },
      {
        assign: { user: 'ana' },
        priority: 'normal',
        escalations: [
          { after: 'P1D', priority: 'high' },
          { after: 'P2D', reassign: { user: 'bob' }, notify: { template: 'late', to: ['supervisor'] } },
          { after: 'P3D', priority: 'low' },
        ],
      },
    ),
  });

  it('raises the priority, then reassigns and notifies, and never lowers the priority', () => {
    let s = begin(def).state;
    const id = taskOf(s, 'call').id;
    const first = fireNext(def, s);
    expect(first.state.tasks[id]).toMatchObject({ priority: 'high', escalationLevel: 1, assignee: 'ana' });
    s = first.state;
    const second = fireNext(def, s);
    expect(second.state.tasks[id]).toMatchObject({ assignee: 'bob', escalationLevel: 2 });
    expect(emails(second)).toEqual([
      expect.objectContaining({
        ruleId: 'escalation:call:1',
        template: 'late',
        to: ['supervisor'],
        taskId: id,
      }),
    ]);
    const third = fireNext(def, second.state);
    expect(third.state.tasks[id]).toMatchObject({ priority: 'high', escalationLevel: 3 });
  });

  it('stops when the task is completed', () => {
    const s = complete(def, begin(def).state, 'call', 'done');
    expect(s.state.timers.filter((t) => t.kind === 'escalation')).toEqual([]);
  });
});

describe('case timers', () => {
  const def = define(
    {
      decide: task({
        postponed: { status: 'POSTPONED', next: 'follow-up' },
        won: { status: 'WON', end: true },
      }),
      'follow-up': task({ ready: { status: 'WORKING', next: 'decide' } }),
    },
    {
      timers: [{ id: 'give-up', inStatus: 'POSTPONED', after: 'P90D', then: { status: 'LOST', end: true } }],
    },
  );

  it('closes the case as lost after 90 days in POSTPONED', () => {
    const s = complete(def, begin(def).state, 'decide', 'postponed').state;
    expect(nextTimer(s)).toMatchObject({ kind: 'case', fireAt: T0 + 90 * DAY, status: 'POSTPONED' });
    const r = fireNext(def, s);
    expect(r.state).toMatchObject({ status: 'LOST', ended: true, endedAt: T0 + 90 * DAY });
    expect(Object.values(r.state.tasks).find((t) => t.step === 'follow-up')?.status).toBe('cancelled');
  });

  it('is cancelled when the case leaves the status', () => {
    let s = complete(def, begin(def).state, 'decide', 'postponed').state;
    s = complete(def, s, 'follow-up', 'ready', { now: T0 + 10 * DAY }).state;
    expect(s.timers.filter((t) => t.kind === 'case')).toEqual([]);
  });

  it('applies field updates of a timer that only sets fields', () => {
    const setter = define(
      { call: task({ done: { end: true } }) },
      { timers: [{ id: 'stale', inStatus: 'OPEN', after: 'P30D', then: { set: { stale: true } } }] },
    );
    const r = fireNext(setter, begin(setter).state);
    expect(r.state.data).toEqual({ stale: true });
  });
});

describe('email rules', () => {
  const rules: CaseTypeDefinition['emailRules'] = [
    { id: 'entered', on: { statusEntered: 'WORKING' }, template: 't', to: ['owner'] },
    { id: 'left', on: { statusLeft: 'OPEN' }, template: 't', to: ['owner'] },
    { id: 'created', on: { taskCreated: 'visit' }, template: 't', to: ['assignee'], attachInvite: true },
    { id: 'assigned', on: { taskAssigned: '*' }, template: 't', to: ['assignee'] },
    { id: 'completed', on: { taskCompleted: 'call' }, template: 't', to: ['supervisor'] },
    { id: 'overdue', on: { taskOverdue: 'visit' }, template: 't', to: ['supervisor'] },
    { id: 'soon', on: { beforeDue: 'P1D', step: 'visit' }, template: 't', to: ['assignee'] },
    { id: 'ended', on: { caseEnded: true }, template: 't', to: ['owner'], marketing: true },
  ];
  const def = define(
    {
      call: task({ done: { status: 'WORKING', next: 'visit' } }),
      visit: task(
        { done: { status: 'WON', end: true } },
        { action: 'visit', assign: { user: 'bob' }, due: 'P3D' },
      ),
    },
    { emailRules: rules },
  );
  const ruleIds = (r: StepResult): string[] => emails(r).map((e) => e.ruleId);

  it('fires on status entered and left, task created, assigned and completed', () => {
    const s1 = begin(def);
    expect(ruleIds(s1)).toEqual([]);
    const s2 = complete(def, s1.state, 'call', 'done');
    expect(ruleIds(s2)).toEqual(['completed', 'left', 'entered', 'created', 'assigned']);
    const created = emails(s2).find((e) => e.ruleId === 'created');
    expect(created).toMatchObject({ attachInvite: true, taskId: taskOf(s2.state, 'visit').id });
  });

  it('fires on claim, and on case end', () => {
    const s1 = begin(def).state;
    const claimed = act(def, s1, { type: 'claim', taskId: taskOf(s1, 'call').id, actor: ana });
    expect(ruleIds(claimed)).toEqual(['assigned']);
    const s2 = complete(def, s1, 'call', 'done').state;
    const end = complete(def, s2, 'visit', 'done', { actor: bob });
    expect(emails(end).find((e) => e.ruleId === 'ended')).toMatchObject({ marketing: true });
  });

  it('reminds before the due date and reports an overdue task', () => {
    const s = complete(def, begin(def).state, 'call', 'done').state;
    const visitId = taskOf(s, 'visit').id;
    expect(s.timers.filter((t) => t.taskId === visitId).map((t) => [t.kind, t.fireAt])).toEqual([
      ['overdue', T0 + 3 * DAY],
      ['before-due', T0 + 2 * DAY],
    ]);
    const soon = fireNext(def, s);
    expect(ruleIds(soon)).toEqual(['soon']);
    expect(kinds(soon)).toEqual(['task.due-soon']);
    const overdue = fireNext(def, soon.state);
    expect(ruleIds(overdue)).toEqual(['overdue']);
    expect(kinds(overdue)).toEqual(['task.overdue']);
  });

  it('does not remind about a task already completed', () => {
    const s = complete(def, begin(def).state, 'call', 'done').state;
    const done = complete(def, s, 'visit', 'done', { actor: bob }).state;
    expect(done.timers.filter((t) => t.kind === 'overdue' || t.kind === 'before-due')).toEqual([]);
  });

  describe('with a delay', () => {
    const delayed = define(
      {
        call: task({ done: { status: 'WORKING', next: 'next' } }),
        next: task({ done: { status: 'WON', end: true }, postpone: { status: 'POSTPONED', next: 'next' } }),
      },
      {
        emailRules: [
          {
            id: 'welcome',
            on: { statusEntered: 'WORKING' },
            template: 't',
            to: ['owner'],
            delay: 'P2D',
            ifStillInStatus: true,
          },
          { id: 'recap', on: { statusEntered: 'WORKING' }, template: 't', to: ['owner'], delay: 'P5D' },
        ],
      },
    );

    it('sends after the delay when the case is still in the status', () => {
      const s = complete(def && delayed, begin(delayed).state, 'call', 'done');
      expect(emails(s)).toEqual([]);
      const later = fireNext(delayed, s.state);
      expect(emails(later).map((e) => [e.ruleId, e.eventKey])).toEqual([['welcome', expect.any(String)]]);
    });

    it('cancels an ifStillInStatus email when the case moved on, but keeps the others', () => {
      const s = complete(delayed, begin(delayed).state, 'call', 'done').state;
      const moved = complete(delayed, s, 'next', 'postpone', { now: T0 + DAY }).state;
      expect(moved.timers.filter((t) => t.kind === 'email').map((t) => t.ruleId)).toEqual(['recap']);
      const later = fireNext(delayed, moved);
      expect(emails(later).map((e) => e.ruleId)).toEqual(['recap']);
    });

    it('keeps a delayed email without ifStillInStatus after the case ended', () => {
      const s = complete(delayed, begin(delayed).state, 'call', 'done').state;
      const ended = complete(delayed, s, 'next', 'done').state;
      expect(ended.ended).toBe(true);
      expect(ended.timers.map((t) => t.ruleId)).toEqual(['recap']);
    });

    it('sends a delayed status-left email when the case is still where it went', () => {
      const leaving = define(
        { call: task({ done: { status: 'WORKING', next: 'next' } }), next: task({ done: { end: true } }) },
        {
          emailRules: [
            {
              id: 'left-open',
              on: { statusLeft: 'OPEN' },
              template: 't',
              to: ['owner'],
              delay: 'P1D',
              ifStillInStatus: true,
            },
          ],
        },
      );
      const s = complete(leaving, begin(leaving).state, 'call', 'done').state;
      expect(s.timers.map((t) => [t.ruleId, t.status])).toEqual([['left-open', 'WORKING']]);
      expect(emails(fireNext(leaving, s)).map((e) => e.ruleId)).toEqual(['left-open']);
    });
  });
});

describe('assignment', () => {
  it('assigns a user, offers to a team or a role, or reads a field', () => {
    const def = define(
      {
        a: task({ x: { end: true } }, { assign: { user: 'ana' } }),
        b: task({ x: { end: true } }, { assign: { team: 'sales' } }),
        c: task({ x: { end: true } }, { assign: { role: 'supervisor' } }),
        d: task({ x: { end: true } }, { assign: { field: 'entity.agentId' } }),
        e: task({ x: { end: true } }, { assign: { field: 'data.missing' } }),
      },
      {},
      ['a', 'b', 'c', 'd', 'e'],
    );
    const tasks = openTasks(begin(def).state).map((t) => [
      t.step,
      t.assignee,
      t.candidateTeams,
      t.candidateRoles,
    ]);
    expect(tasks).toEqual([
      ['a', 'ana', [], []],
      ['b', null, ['sales'], []],
      ['c', null, [], ['supervisor']],
      ['d', 'ana', [], []],
      // An empty field names nobody: the supervisors get it (engine/field-assignment.test.ts).
      ['e', null, [], ['supervisor']],
    ]);
  });

  it('asks for round-robin or least-busy picks and applies them', () => {
    const def = define({
      call: task({ x: { end: true } }, { assign: { team: 'sales', strategy: 'round-robin' } }),
    });
    const r = begin(def);
    const id = taskOf(r.state, 'call').id;
    expect(r.commands).toEqual([
      { kind: 'resolveAssignee', taskId: id, team: 'sales', strategy: 'round-robin' },
    ]);
    const resolved = act(def, r.state, { type: 'assigneeResolved', taskId: id, assignee: 'bob' });
    expect(resolved.state.tasks[id]?.assignee).toBe('bob');
    expect(kinds(resolved)).toEqual(['task.assigned']);
    const none = act(def, r.state, { type: 'assigneeResolved', taskId: id, assignee: null });
    expect(none.state.tasks[id]?.assignee).toBeNull();
  });

  it('computes due and follow-up dates from durations and fields', () => {
    const def = define({
      call: task(
        { x: { end: true } },
        { due: { field: 'data.closeDate', offset: '-P1D' }, followUp: 'PT4H', priority: 'urgent' },
      ),
    });
    const t = taskOf(begin(def, { closeDate: '2025-03-01T00:00:00Z' }).state, 'call');
    expect(t).toMatchObject({ dueAt: Date.UTC(2025, 1, 28), followUpAt: T0 + 4 * HOUR, priority: 'urgent' });
  });
});

describe('checkEvent rejections', () => {
  const def = define({ call: task({ done: { end: true } }) });
  const started = (): { state: CaseState; id: string } => {
    const state = begin(def).state;
    return { state, id: taskOf(state, 'call').id };
  };
  const check = (state: CaseState, event: ActorEvent): string | undefined =>
    checkEvent(def, state, event)?.code;

  it('lets one of two racing claims win: the second gets TASK_ALREADY_CLAIMED', () => {
    const { state, id } = started();
    expect(check(state, { type: 'claim', taskId: id, actor: ana })).toBeUndefined();
    const claimed = act(def, state, { type: 'claim', taskId: id, actor: ana }).state;
    expect(claimed.tasks[id]).toMatchObject({ assignee: 'ana', claimedAt: T0 });
    expect(check(claimed, { type: 'claim', taskId: id, actor: bob })).toBe('TASK_ALREADY_CLAIMED');
  });

  it('refuses completion by someone other than the assignee (TASK_CLAIMED_BY_OTHER), but not by their supervisor', () => {
    const { state, id } = started();
    const claimed = act(def, state, { type: 'claim', taskId: id, actor: ana }).state;
    expect(check(claimed, { type: 'complete', taskId: id, outcome: 'done', actor: bob })).toBe(
      'TASK_CLAIMED_BY_OTHER',
    );
    expect(check(claimed, { type: 'complete', taskId: id, outcome: 'done', actor: sue })).toBeUndefined();
  });

  it('refuses an unknown outcome, including names every object has', () => {
    const { state, id } = started();
    expect(check(state, { type: 'complete', taskId: id, outcome: 'maybe', actor: ana })).toBe(
      'UNKNOWN_OUTCOME',
    );
    expect(check(state, { type: 'complete', taskId: id, outcome: 'toString', actor: ana })).toBe(
      'UNKNOWN_OUTCOME',
    );
  });

  it('refuses a user outside the candidate team (NOT_A_CANDIDATE)', () => {
    const { state, id } = started();
    expect(check(state, { type: 'claim', taskId: id, actor: eve })).toBe('NOT_A_CANDIDATE');
    expect(check(state, { type: 'complete', taskId: id, outcome: 'done', actor: eve })).toBe(
      'NOT_A_CANDIDATE',
    );
  });

  it('refuses actions on an ended case (CASE_ENDED)', () => {
    const { state, id } = started();
    const ended = act(def, state, { type: 'cancel', reason: 'duplicate', actor: sue }).state;
    expect(ended.ended).toBe(true);
    expect(ended.tasks[id]?.status).toBe('cancelled');
    expect(check(ended, { type: 'claim', taskId: id, actor: ana })).toBe('CASE_ENDED');
    expect(check(ended, { type: 'setStatus', status: 'LOST', actor: admin })).toBe('CASE_ENDED');
  });

  it('refuses an unknown task, also one named like an object property', () => {
    const { state } = started();
    expect(check(state, { type: 'claim', taskId: 'nope', actor: ana })).toBe('TASK_NOT_FOUND');
    expect(check(state, { type: 'comment', taskId: 'constructor', text: 'x', actor: sue })).toBe(
      'TASK_NOT_FOUND',
    );
  });

  it('refuses a task that is no longer open, and unclaiming what is not claimed', () => {
    const { state, id } = started();
    expect(check(state, { type: 'unclaim', taskId: id, actor: ana })).toBe('TASK_NOT_CLAIMED');
    const done = complete(def, state, 'call', 'done').state;
    expect(check(done, { type: 'comment', taskId: id, text: 'late note', actor: ana })).toBeUndefined();
    const open = begin(define({ a: task({ x: { next: 'b' } }), b: task({ x: { end: true } }) })).state;
    const moved = complete(
      define({ a: task({ x: { next: 'b' } }), b: task({ x: { end: true } }) }),
      open,
      'a',
      'x',
    ).state;
    const aId = Object.values(moved.tasks).find((t) => t.step === 'a')?.id ?? '';
    expect(checkEvent(def, moved, { type: 'claim', taskId: aId, actor: ana })?.code).toBe('TASK_NOT_OPEN');
  });

  it('lets only supervisors assign, add tasks and cancel', () => {
    const { state, id } = started();
    expect(check(state, { type: 'assign', taskId: id, assignee: 'bob', actor: ana })).toBe('FORBIDDEN');
    expect(check(state, { type: 'assign', taskId: id, assignee: 'bob', actor: sue })).toBeUndefined();
    expect(check(state, { type: 'addTask', title: 'x', action: 'call', actor: ana })).toBe('FORBIDDEN');
    expect(check(state, { type: 'cancel', reason: 'x', actor: ana })).toBe('FORBIDDEN');
  });

  it('allows by hand only manual statuses (admins excepted), and only editable fields', () => {
    const { state } = started();
    expect(check(state, { type: 'setStatus', status: 'WON', actor: sue })).toBe('STATUS_NOT_MANUAL');
    expect(check(state, { type: 'setStatus', status: 'WON', actor: admin })).toBeUndefined();
    expect(check(state, { type: 'setStatus', status: 'NOPE', actor: admin })).toBe('UNKNOWN_STATUS');
    expect(check(state, { type: 'setStatus', status: 'POSTPONED', actor: ana })).toBeUndefined();
    expect(check(state, { type: 'updateData', data: { amount: 1 }, actor: ana })).toBe('FIELD_NOT_EDITABLE');
    const editable = { ...def, editableFields: ['amount'] };
    expect(checkEvent(editable, state, { type: 'updateData', data: { amount: 1 }, actor: ana })).toBeNull();
    expect(checkEvent(editable, state, { type: 'updateData', data: {}, lines: [], actor: ana })?.code).toBe(
      'FIELD_NOT_EDITABLE',
    );
  });

  it('makes applyEvent refuse a rejected event', () => {
    const { state, id } = started();
    expect(() => act(def, state, { type: 'complete', taskId: id, outcome: 'maybe', actor: ana })).toThrow(
      /UNKNOWN_OUTCOME/,
    );
  });
});

describe('manual status changes and data updates', () => {
  const def = define(
    { call: task({ done: { end: true } }) },
    {
      editableFields: ['amount'],
      timers: [{ id: 'give-up', inStatus: 'POSTPONED', after: 'P90D', then: { status: 'LOST', end: true } }],
    },
  );

  it('sets a manual status, arming its timers', () => {
    const r = act(def, begin(def).state, { type: 'setStatus', status: 'POSTPONED', actor: ana });
    expect(r.state.status).toBe('POSTPONED');
    expect(r.state.timers.map((t) => t.kind)).toContain('case');
  });

  it('closes the case when a won, lost or closed status is set by hand, cancelling its open tasks', () => {
    const started = begin(def).state;
    const open = Object.values(started.tasks).filter((t) => t.status === 'open');
    expect(open).toHaveLength(1);
    const r = act(def, started, { type: 'setStatus', status: 'LOST', actor: ana });
    expect(r.state).toMatchObject({ status: 'LOST', statusCategory: 'lost', ended: true, tokens: [] });
    expect(r.state.tasks[open[0]?.id as string]?.status).toBe('cancelled');
    expect(r.timeline.map((e) => e.kind)).toEqual(['status.changed', 'task.cancelled', 'case.ended']);
    // An open status set by hand keeps the work going.
    expect(act(def, started, { type: 'setStatus', status: 'POSTPONED', actor: ana }).state.ended).toBe(false);
  });

  it('records the previous values of updated fields', () => {
    const r = act(def, begin(def, { amount: 5 }).state, {
      type: 'updateData',
      data: { amount: 7 },
      actor: ana,
    });
    expect(r.state.data.amount).toBe(7);
    expect(r.timeline[0]).toMatchObject({
      kind: 'case.updated',
      detail: { before: { amount: 5 }, after: { amount: 7 } },
    });
  });
});

describe('ad-hoc tasks', () => {
  const def = define(
    { call: task({ done: {} }) },
    { emailRules: [{ id: 'adhoc-created', on: { taskCreated: 'adhoc' }, template: 't', to: ['assignee'] }] },
  );

  it('lets a supervisor add a task to a case, which keeps the case open until it is done', () => {
    const s = begin(def).state;
    const added = act(def, s, {
      type: 'addTask',
      title: 'Send the brochure',
      action: 'send-documents',
      assignee: 'bob',
      dueAt: T0 + DAY,
      actor: sue,
    });
    const adhoc = openTasks(added.state).find((t) => t.step === undefined);
    expect(adhoc).toMatchObject({
      title: 'Send the brochure',
      action: 'send-documents',
      assignee: 'bob',
      dueAt: T0 + DAY,
    });
    expect(emails(added).map((e) => e.ruleId)).toEqual(['adhoc-created']);

    const flowDone = complete(def, added.state, 'call', 'done');
    expect(flowDone.state.ended).toBe(false);
    const last = act(def, flowDone.state, {
      type: 'complete',
      taskId: adhoc?.id ?? '',
      outcome: 'done',
      actor: bob,
    });
    expect(last.state.ended).toBe(true);
    expect(kinds(last)).toEqual(['task.completed', 'case.ended']);
  });

  it('offers an ad-hoc task to a team', () => {
    const added = act(def, begin(def).state, {
      type: 'addTask',
      title: 'Check',
      action: 'task',
      team: 'sales',
      actor: sue,
    });
    const adhoc = openTasks(added.state).find((t) => t.step === undefined);
    expect(adhoc).toMatchObject({ assignee: null, candidateTeams: ['sales'] });
  });
});

describe('delegate and resolve', () => {
  const def = define({ call: task({ done: { end: true } }, { assign: { user: 'ana' } }) });

  it('sends a task to a delegate and back to its owner, who completes it', () => {
    const s = begin(def).state;
    const id = taskOf(s, 'call').id;
    const delegated = act(def, s, { type: 'delegate', taskId: id, to: 'bob', actor: ana }).state;
    expect(delegated.tasks[id]).toMatchObject({ assignee: 'bob', delegatedBy: 'ana' });
    expect(
      checkEvent(def, delegated, { type: 'complete', taskId: id, outcome: 'done', actor: bob })?.code,
    ).toBe('DELEGATION_PENDING');
    expect(checkEvent(def, delegated, { type: 'resolve', taskId: id, actor: ana })?.code).toBe(
      'TASK_CLAIMED_BY_OTHER',
    );
    const resolved = act(def, delegated, { type: 'resolve', taskId: id, actor: bob }).state;
    expect(resolved.tasks[id]).toMatchObject({ assignee: 'ana', delegatedBy: null });
    expect(
      act(def, resolved, { type: 'complete', taskId: id, outcome: 'done', actor: ana }).state.ended,
    ).toBe(true);
  });

  it('refuses delegating twice, to oneself, or a task that is not delegated being resolved', () => {
    const s = begin(def).state;
    const id = taskOf(s, 'call').id;
    expect(checkEvent(def, s, { type: 'delegate', taskId: id, to: 'ana', actor: ana })?.code).toBe(
      'INVALID_ACTION',
    );
    expect(checkEvent(def, s, { type: 'resolve', taskId: id, actor: ana })?.code).toBe('NOT_DELEGATED');
    const delegated = act(def, s, { type: 'delegate', taskId: id, to: 'bob', actor: ana }).state;
    expect(checkEvent(def, delegated, { type: 'delegate', taskId: id, to: 'eve', actor: bob })?.code).toBe(
      'DELEGATION_PENDING',
    );
  });
});

describe('editing a closed task', () => {
  const def = define({ call: task({ done: { end: true } }) });

  it('changes the form and notes of a completed task and keeps the before and after', () => {
    const s = begin(def).state;
    const id = taskOf(s, 'call').id;
    const done = act(def, s, {
      type: 'complete',
      taskId: id,
      outcome: 'done',
      data: { a: 1 },
      notes: 'first',
      actor: ana,
    }).state;
    expect(checkEvent(def, done, { type: 'editClosed', taskId: id, notes: 'x', actor: ana })).toBeNull();
    const edited = act(def, done, { type: 'editClosed', taskId: id, notes: 'corrected', actor: ana });
    expect(edited.state.tasks[id]).toMatchObject({
      formData: { a: 1 },
      notes: 'corrected',
      status: 'completed',
    });
    expect(edited.timeline[0]).toMatchObject({
      kind: 'task.edited',
      actor: 'ana',
      detail: {
        before: { formData: { a: 1 }, notes: 'first' },
        after: { formData: { a: 1 }, notes: 'corrected' },
      },
    });
  });

  it('refuses an open task and someone who never saw the task', () => {
    const s = begin(def).state;
    const id = taskOf(s, 'call').id;
    expect(checkEvent(def, s, { type: 'editClosed', taskId: id, notes: 'x', actor: ana })?.code).toBe(
      'TASK_NOT_CLOSED',
    );
    const done = act(def, s, { type: 'complete', taskId: id, outcome: 'done', actor: ana }).state;
    expect(checkEvent(def, done, { type: 'editClosed', taskId: id, notes: 'x', actor: eve })?.code).toBe(
      'FORBIDDEN',
    );
  });
});

describe('claim, unclaim and assign', () => {
  const def = define({ call: task({ done: { end: true } }) });

  it('records who took the task and lets a supervisor move it', () => {
    const s = begin(def).state;
    const id = taskOf(s, 'call').id;
    const claimed = act(def, s, { type: 'claim', taskId: id, actor: ana }).state;
    const unclaimed = act(def, claimed, { type: 'unclaim', taskId: id, actor: ana }).state;
    expect(unclaimed.tasks[id]).toMatchObject({ assignee: null, claimedAt: null });
    const assigned = act(def, unclaimed, { type: 'assign', taskId: id, assignee: 'zoe', actor: sue });
    expect(assigned.state.tasks[id]?.assignee).toBe('zoe');
    expect(assigned.timeline[0]?.detail).toMatchObject({ assignee: 'zoe', outsideCandidates: true });
    expect(assigned.changedTasks).toEqual([id]);
  });
});

describe('relinking the entity after a merge', () => {
  const def = define({ call: task({ done: { end: 'WON' } }) });
  const withEntity = (): CaseState => {
    const state = begin(def).state;
    state.entity = { id: 'old', name: 'Old Ltd', agentId: 'ana' };
    return state;
  };
  const relink: ActorEvent = {
    type: 'relinkEntity',
    entity: { id: 'kept', name: 'Kept Ltd', agentId: 'bob' },
    from: 'old',
    actor: admin,
  };

  it('moves the case to the kept entity and says so in the timeline; once', () => {
    const moved = applyEvent(def, withEntity(), relink, T0 + HOUR);
    expect(moved.state.entity).toEqual({ id: 'kept', name: 'Kept Ltd', agentId: 'bob' });
    expect(moved.timeline).toEqual([
      expect.objectContaining({
        kind: 'entity.merged',
        actor: 'root',
        detail: { from: 'old', fromName: 'Old Ltd', to: 'kept', toName: 'Kept Ltd' },
      }),
    ]);
    const again = applyEvent(def, moved.state, relink, T0 + 2 * HOUR);
    expect(again.timeline).toEqual([]);
    expect(again.state.entity).toEqual(moved.state.entity);
  });

  it('is accepted by an ended case (its workflow may still send delayed emails)', () => {
    const ended = { ...withEntity(), ended: true, endedAt: T0 };
    expect(checkEvent(def, ended, relink)).toBeNull();
    expect(applyEvent(def, ended, relink, T0 + HOUR).state.entity?.id).toBe('kept');
  });
});
