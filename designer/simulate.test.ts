import fs from 'node:fs';
import path from 'node:path';
import type { CaseTypeDefinition } from '../engine/types';
import { coverage, formatCoverage, formatSimulation, simulate } from './simulate';

const opportunity = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', 'definitions', 'opportunity.json'), 'utf8'),
) as CaseTypeDefinition;

describe('simulate the opportunity', () => {
  it('won path: three tasks, status WON, one thank-you email to the owner', () => {
    const result = simulate(opportunity, ['interested', 'presented', 'won'], {
      startData: { subject: 'Printers' },
    });
    expect(result.error).toBeUndefined();
    expect(result.tasks.map((t) => [t.step, t.outcome, t.status])).toEqual([
      ['identify-needs', 'interested', 'completed'],
      ['present', 'presented', 'completed'],
      ['decide', 'won', 'completed'],
    ]);
    expect(result.tasks[0]).toMatchObject({
      title: 'Call ACME Corp to identify needs',
      candidates: ['team:sales'],
      createdAt: '2025-01-06T09:00:00.000Z',
      due: '2025-01-08T09:00:00.000Z',
    });
    expect(result.statusChanges.map((c) => c.to)).toEqual(['PRESENTING', 'DECIDING', 'WON']);
    expect(result).toMatchObject({ finalStatus: 'WON', finalCategory: 'won', ended: true, currentSteps: [] });
    expect(result.emails).toEqual([
      expect.objectContaining({
        rule: 'won-thank-you',
        template: 'opportunity-won',
        to: ['owner'],
        cc: ['supervisor'],
      }),
    ]);
  });

  it('postponed path loops through the follow-up and back to the decision', () => {
    const result = simulate(opportunity, [
      'interested',
      'presented',
      'postponed',
      'still-postponed',
      'ready',
      'lost',
    ]);
    expect(result.tasks.map((t) => t.step)).toEqual([
      'identify-needs',
      'present',
      'decide',
      'follow-up',
      'follow-up',
      'decide',
    ]);
    expect(result.visits).toEqual({ 'identify-needs': 1, present: 1, decide: 2, 'follow-up': 2 });
    expect(result.finalStatus).toBe('LOST');
    expect(result.emails).toEqual([]);
  });

  it('"wait" lets the next timer fire: 90 days postponed closes the case as lost', () => {
    const result = simulate(opportunity, ['interested', 'presented', 'postponed', 'wait']);
    expect(result.finalStatus).toBe('LOST');
    expect(result.statusChanges.at(-1)).toEqual({
      at: '2025-04-06T09:00:00.000Z',
      from: 'POSTPONED',
      to: 'LOST',
    });
    expect(result.tasks.at(-1)).toMatchObject({ step: 'follow-up', status: 'cancelled' });
  });

  it('accepts step=outcome and stops with a clear message on a choice that does not apply', () => {
    const ok = simulate(opportunity, ['identify-needs=interested']);
    expect(ok.currentSteps).toEqual(['present']);
    const bad = simulate(opportunity, ['interested', 'maybe', 'presented']);
    expect(bad.choicesUsed).toBe(1);
    expect(bad.error).toContain('"maybe"');
    expect(bad.error).toContain('presented, not-interested');
    expect(bad.currentSteps).toEqual(['present']);
    const ended = simulate(opportunity, ['not-interested', 'interested']);
    expect(ended.error).toContain('already ended');
  });

  it('prints a readable timeline', () => {
    const text = formatSimulation(simulate(opportunity, ['interested', 'presented', 'won']));
    expect(text).toContain('task "Call ACME Corp to identify needs" [identify-needs] (call) for team sales');
    expect(text).toContain('status DECIDING -> WON');
    expect(text).toContain('email won-thank-you (opportunity-won) to owner cc supervisor');
    expect(text).toContain('final status: WON (won), case ended');
  });

  it('has no side effects: the definition is unchanged and runs repeat exactly', () => {
    const before = JSON.stringify(opportunity);
    const a = simulate(opportunity, ['interested', 'presented', 'won']);
    const b = simulate(opportunity, ['interested', 'presented', 'won']);
    expect(JSON.stringify(opportunity)).toBe(before);
    expect(a).toEqual(b);
  });
});

describe('simulate other constructs', () => {
  const def: CaseTypeDefinition = {
    dslVersion: '1',
    id: 'lead',
    version: '1',
    name: 'Lead',
    statuses: [
      { code: 'NEW', name: 'New', category: 'open' },
      { code: 'CONVERTED', name: 'Converted', category: 'won' },
      { code: 'DROPPED', name: 'Dropped', category: 'lost' },
    ],
    initialStatus: 'NEW',
    start: 'qualify',
    steps: {
      qualify: {
        type: 'human',
        action: 'call',
        title: 'Qualify',
        assign: { team: 'sales', strategy: 'round-robin' },
        outcomes: { qualified: { next: 'deal' }, junk: { status: 'DROPPED', end: true } },
      },
      deal: {
        type: 'subcase',
        caseType: 'opportunity',
        wait: true,
        outcomes: { won: { status: 'CONVERTED', end: true }, lost: { status: 'DROPPED', end: true } },
      },
    },
  };

  it('shows the placeholder for a round-robin pick and ends a waiting sub-case with sub:<category>', () => {
    const result = simulate(def, ['qualified', 'sub:won']);
    expect(result.tasks[0]?.assignee).toBe('<round-robin:sales>');
    expect(result.subcases).toEqual([
      expect.objectContaining({ step: 'deal', caseType: 'opportunity', wait: true }),
    ]);
    expect(result.finalStatus).toBe('CONVERTED');
    expect(result.transitions).toEqual([
      { step: 'qualify', outcome: 'qualified' },
      { step: 'deal', outcome: 'won' },
    ]);
  });

  it('explains what to do when nothing is open', () => {
    expect(simulate(def, ['qualified', 'won']).error).toContain('no open task');
    expect(simulate(def, ['qualified', 'sub:maybe']).error).toContain('sub:won');
    expect(simulate(def, ['wait']).error).toContain('no timer');
  });
});

describe('coverage', () => {
  it('lists the steps and transitions a set of paths covers and misses', () => {
    const report = coverage(opportunity, [['interested', 'presented', 'won'], ['not-interested']]);
    expect(report.steps).toEqual({
      covered: ['identify-needs', 'present', 'decide'],
      uncovered: ['follow-up'],
    });
    expect(report.transitions.covered).toEqual([
      { step: 'identify-needs', outcome: 'interested' },
      { step: 'identify-needs', outcome: 'not-interested' },
      { step: 'present', outcome: 'presented' },
      { step: 'decide', outcome: 'won' },
    ]);
    expect(report.transitions.uncovered).toHaveLength(6);
    expect(formatCoverage(report)).toContain('not covered: follow-up -> still-postponed');
  });

  it('reaches full coverage with the right paths', () => {
    const report = coverage(opportunity, [
      ['interested', 'presented', 'won'],
      ['not-interested'],
      ['interested', 'not-interested'],
      ['interested', 'presented', 'lost'],
      ['interested', 'presented', 'postponed', 'still-postponed', 'ready', 'postponed', 'lost'],
    ]);
    expect(report.steps.uncovered).toEqual([]);
    expect(report.transitions.uncovered).toEqual([]);
    expect(report.paths.every((p) => p.ended && p.error === undefined)).toBe(true);
  });
});

describe('simulate a blocking discriminator (examples/discriminator.json)', () => {
  const def = JSON.parse(
    fs.readFileSync(path.join(__dirname, '..', 'definitions', 'examples', 'discriminator.json'), 'utf8'),
  ) as CaseTypeDefinition;

  it('the first answer goes on, late ones are absorbed, and a second round waits for the first to reset', () => {
    const result = simulate(def, [
      'ask-bob=answered',
      'review=ask-again',
      'ask-ana=answered',
      'ask-ana=answered',
      'ask-eva=answered',
    ]);
    expect(result.error).toBeUndefined();
    const text = formatSimulation(result);
    const at = (line: string): number => {
      const i = text.indexOf(line);
      expect(i).toBeGreaterThan(-1);
      return i;
    };
    const fired = 'join first-answer fired: 1 arrived (needs 1); the other branches run on and are absorbed';
    const first = at(fired);
    const blocked = at('join first-answer could fire but waits until its earlier instance resets');
    const reset = at('join first-answer resets: every branch has arrived or ended');
    expect(first).toBeLessThan(blocked);
    expect(blocked).toBeLessThan(reset);
    expect(text.indexOf(fired, first + 1)).toBeGreaterThan(reset);
    // No task withdrawn: the absorbed branches of both rounds run on; two reviews in all.
    expect(result.tasks.filter((t) => t.status === 'cancelled')).toEqual([]);
    expect(result.tasks.filter((t) => t.step === 'review')).toHaveLength(2);
    expect(result.currentSteps.sort()).toEqual(['ask-bob', 'ask-eva', 'review']);
  });
});
