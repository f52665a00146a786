import { checkSoundness, simulateCommand, type SoundnessFinding } from './soundness';
import { simulate } from './simulate';
import type { CaseTypeDefinition, Step } from '../engine/types';

/** Each finding of the soundness check on a small definition whose flaw is plain from reading it. */

function define(steps: Record<string, Step>, start: string, extra: Partial<CaseTypeDefinition> = {}) {
  const def: CaseTypeDefinition = {
    dslVersion: '1',
    id: 'sound',
    version: '1',
    name: 'Sound',
    statuses: [
      { code: 'OPEN', name: 'Open', category: 'open' },
      { code: 'DONE', name: 'Done', category: 'closed' },
    ],
    initialStatus: 'OPEN',
    start,
    steps,
    ...extra,
  };
  return def;
}

const human = (outcomes: Record<string, unknown>): Step =>
  ({ type: 'human', action: 'call', title: 'Call', assign: { team: 'sales' }, outcomes }) as Step;

const only = (findings: SoundnessFinding[]) => findings.map((f) => `${f.severity} ${f.check} ${f.pointer}`);

const parallelWith = (a: Step): Record<string, Step> => ({
  split: { type: 'parallel', branches: ['a', 'b'], join: 'meet' },
  a,
  b: human({ done: { next: 'meet' } }),
  meet: { type: 'join', then: { status: 'DONE', end: true } },
});

describe('the soundness check', () => {
  it('passes a plain parallel and explores it exhaustively', () => {
    const report = checkSoundness(define(parallelWith(human({ done: { next: 'meet' } })), 'split'));
    expect(only(report.findings)).toEqual([]);
    expect(report.exhaustive).toBe(true);
    // start (a, b open), a done (b open), b done (a open), both done (ended)
    expect(report.states).toBe(4);
  });

  it('reports a branch that ends the case while the other still runs, with a path simulate replays', () => {
    const def = define(
      parallelWith(human({ done: { next: 'meet' }, cancelled: { status: 'DONE', end: true } })),
      'split',
    );
    const [finding, ...rest] = checkSoundness(def).findings;
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({ check: 'ends-with-live-work', severity: 'error', pointer: '/steps/a' });
    expect(finding?.choices).toEqual(['a=cancelled']);
    expect(simulateCommand('x.json', finding as SoundnessFinding)).toBe(
      'npm run definitions -- simulate x.json --choose a=cancelled',
    );
    const replay = simulate(def, finding?.choices ?? [], { picks: finding?.picks ?? [] });
    expect(replay.ended).toBe(true);
    expect(replay.tasks.filter((t) => t.step === 'b').map((t) => t.status)).toEqual(['cancelled']);
  });

  it('finds the same when only a condition leads there, and prints the condition answers', () => {
    const def = define(
      parallelWith(
        human({ done: [{ if: { var: 'data.vip' }, status: 'DONE', end: true }, { next: 'meet' }] }),
      ),
      'split',
    );
    const [finding] = checkSoundness(def).findings;
    expect(finding).toMatchObject({ check: 'ends-with-live-work', choices: ['a=done'], picks: [0] });
    expect(simulateCommand('x.json', finding as SoundnessFinding)).toBe(
      'npm run definitions -- simulate x.json --choose a=done --pick 0',
    );
    // Without data the condition is false and the branch goes to the join; with the answer it ends the case.
    expect(simulate(def, ['a=done']).ended).toBe(false);
    expect(simulate(def, ['a=done'], { picks: [0] }).ended).toBe(true);
  });

  it('leaves out what the definition accepts, and lists it as accepted', () => {
    const def = define(
      parallelWith(human({ done: { next: 'meet' }, cancelled: { status: 'DONE', end: true } })),
      'split',
      {
        soundness: {
          accept: [{ check: 'ends-with-live-work', step: 'a', because: 'a cancelled claim stops all work' }],
        },
      },
    );
    const report = checkSoundness(def);
    expect(report.findings).toEqual([]);
    expect(only(report.accepted)).toEqual(['error ends-with-live-work /steps/a']);
  });

  it('passes a 2-of-3 cancelling partial join: the withdrawn branch is no live work at the end', () => {
    const steps: Record<string, Step> = {
      split: { type: 'parallel', branches: ['a', 'b', 'c'], join: 'meet' },
      a: human({ done: { next: 'meet' } }),
      b: human({ done: { next: 'meet' } }),
      c: human({ done: { next: 'meet' } }),
      meet: { type: 'join', complete: 2, then: { status: 'DONE', end: true } },
    };
    const report = checkSoundness(define(steps, 'split'));
    expect(only(report.findings)).toEqual([]);
    // a, b, c open; one of the three done (three states); two done: the join fires and the case ends
    expect(report.states).toBe(5);
  });

  it('reports an end right after an absorbing join, whose other branches still run', () => {
    const steps: Record<string, Step> = {
      split: { type: 'parallel', branches: ['a', 'b'], join: 'meet' },
      a: human({ done: { next: 'meet' } }),
      b: human({ done: { next: 'meet' } }),
      meet: { type: 'join', complete: 'any', rest: 'absorb', then: { status: 'DONE', end: true } },
    };
    expect(only(checkSoundness(define(steps, 'split')).findings)).toEqual([
      'error ends-with-live-work /steps/meet',
    ]);
    const absorbing = { ...steps, meet: { ...steps.meet, then: { status: 'DONE' } } as Step };
    expect(only(checkSoundness(define(absorbing, 'split')).findings)).toEqual([]);
  });

  it('reports a state from which the case can never end', () => {
    const def = define({ a: human({ again: { next: 'a' } }) }, 'a');
    const [finding] = checkSoundness(def).findings;
    expect(finding).toMatchObject({ check: 'deadlock', severity: 'error', pointer: '/steps/a', choices: [] });
  });

  it('reports a step behind a join that never fires', () => {
    const def = define(
      {
        split: { type: 'parallel', branches: ['a', 'b'], join: 'meet' },
        a: human({ dropped: {} }),
        b: human({ dropped: {} }),
        meet: { type: 'join', then: { next: 'sign' } },
        sign: human({ signed: { status: 'DONE', end: true } }),
      },
      'split',
    );
    const report = checkSoundness(def);
    expect(only(report.findings)).toEqual(
      expect.arrayContaining(['error dead-step /steps/meet', 'warning dead-step /steps/sign']),
    );
  });

  it('warns when the case can run out of work in an open status', () => {
    const report = checkSoundness(define({ a: human({ done: {} }) }, 'a'));
    expect(only(report.findings)).toEqual(['warning ends-open ']);
    expect(report.findings[0]?.choices).toEqual(['a=done']);
  });

  it('calls a sub-case of its own type started at once unbounded, and one behind a task a warning', () => {
    const atOnce = define(
      {
        spawn: { type: 'subcase', caseType: 'sound', then: { next: 'a' } },
        a: human({ done: { status: 'DONE', end: true } }),
      },
      'spawn',
    );
    expect(only(checkSoundness(atOnce).findings)).toEqual(['error unbounded-subcases /steps/spawn/caseType']);
    const later = define(
      {
        a: human({ more: { next: 'spawn' }, done: { status: 'DONE', end: true } }),
        spawn: { type: 'subcase', caseType: 'sound', then: { status: 'DONE', end: true } },
      },
      'a',
    );
    expect(only(checkSoundness(later).findings)).toEqual([
      'warning unbounded-subcases /steps/spawn/caseType',
    ]);
  });

  it('follows sub-case cycles through other case types', () => {
    const child = define(
      { back: { type: 'subcase', caseType: 'sound', then: { status: 'DONE', end: true } } },
      'back',
      {
        id: 'child',
      },
    );
    const parent = define(
      {
        spawn: { type: 'subcase', caseType: 'child', then: { next: 'a' } },
        a: human({ done: { status: 'DONE', end: true } }),
      },
      'spawn',
    );
    const definitions = new Map([['child', child]]);
    expect(only(checkSoundness(parent, { definitions }).findings)).toEqual([
      'error unbounded-subcases /steps/spawn/caseType',
    ]);
    expect(only(checkSoundness(parent).findings)).toEqual([]);
  });

  it('says when a fork inside a loop makes it stop short of exhaustive', () => {
    const def = define(
      {
        a: human({ more: { next: ['a', 'b'] }, done: { status: 'DONE', end: true } }),
        b: human({ done: {} }),
      },
      'a',
    );
    const report = checkSoundness(def, { bounds: { maxTokens: 6 } });
    expect(report.exhaustive).toBe(false);
    expect(report.truncated).toContain('more than 6 live tokens');
  });
});

describe('the soundness check with boundary events and messages', () => {
  const def = define(
    {
      await: human({ replied: { status: 'DONE', end: true } }),
      chase: human({ done: { status: 'DONE', end: true } }),
    },
    'await',
    { messages: [{ name: 'reply' }] },
  );
  (def.steps.await as { boundary?: unknown }).boundary = [
    { after: 'P7D', then: { next: 'chase' } },
    { message: 'reply', then: { status: 'DONE', end: true } },
  ];

  it('explores the task, its timer and its message as three ways out', () => {
    const report = checkSoundness(def);
    expect(only(report.findings)).toEqual([]);
    // start (await open), after the timer (chase open), ended
    expect(report.states).toBe(3);
    expect(report.transitions).toBe(4);
  });

  it('replays boundary and message choices in simulate', () => {
    const timer = simulate(def, ['boundary:await:0', 'done']);
    expect(timer.error).toBeUndefined();
    expect(timer.tasks.map((t) => [t.step, t.status])).toEqual([
      ['await', 'cancelled'],
      ['chase', 'completed'],
    ]);
    const message = simulate(def, ['message:reply']);
    expect(message.ended).toBe(true);
    expect(simulate(def, ['message:nope']).error).toContain('receives no message "nope"');
  });
});
