import fs from 'node:fs';
import path from 'node:path';
import type { CaseTypeDefinition } from '../engine/types';
import { toHtml, toMermaid, toSvg } from './diagram';

const opportunity = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', 'definitions', 'opportunity.json'), 'utf8'),
) as CaseTypeDefinition;

const everyKind: CaseTypeDefinition = {
  dslVersion: '1',
  id: 'kinds',
  version: '1',
  name: 'Every kind <of> step',
  statuses: [
    { code: 'OPEN', name: 'Open', category: 'open' },
    { code: 'DONE', name: 'Done', category: 'closed' },
  ],
  initialStatus: 'OPEN',
  start: 'split',
  steps: {
    split: { type: 'parallel', branches: ['call', 'pause'], join: 'meet' },
    call: {
      type: 'human',
      action: 'call',
      title: 'Call "{{entity.name}}"',
      assign: { team: 'sales', strategy: 'least-busy' },
      outcomes: { ok: { next: 'meet' } },
    },
    pause: { type: 'wait', until: 'P2D', then: { next: 'meet' } },
    meet: { type: 'join', then: { next: 'auto' } },
    auto: { type: 'automatic', do: [{ setStatus: 'DONE' }], then: { next: 'child' } },
    child: { type: 'subcase', caseType: 'service', wait: true, outcomes: { won: { end: true } }, then: {} },
  },
};

describe('partial joins in the diagram', () => {
  it('say how many branches they wait for and what becomes of the rest', () => {
    const steps = {
      ...everyKind.steps,
      meet: { type: 'join', complete: 1, rest: 'absorb', then: { next: 'auto' } },
    } as CaseTypeDefinition['steps'];
    expect(toMermaid({ ...everyKind, steps })).toContain('meet<br/>1 of 2, absorbs the rest');
    const first = { ...steps, meet: { type: 'join', complete: 'any', then: { next: 'auto' } } };
    expect(toMermaid({ ...everyKind, steps: first } as CaseTypeDefinition)).toContain(
      'meet<br/>first of 2, withdraws the rest',
    );
    expect(toMermaid(everyKind)).toMatch(/meet<br\/>join"/);
  });
});

describe('toMermaid', () => {
  const text = toMermaid(opportunity);

  it('is a top-down flowchart with every step and outcome', () => {
    expect(text.startsWith('flowchart TD\n')).toBe(true);
    for (const [id, step] of Object.entries(opportunity.steps)) {
      expect(text).toContain(id);
      if (step.type === 'human')
        for (const outcome of Object.keys(step.outcomes)) expect(text).toContain(outcome);
    }
  });

  it('labels edges with outcome and status change, and ends in the final statuses', () => {
    expect(text).toMatch(/-->\|"interested → PRESENTING"\| n\d+/);
    expect(text).toMatch(/-->\|"won"\| end_\d+/);
    expect(text).toMatch(/end_\d+\(\(\("WON"\)\)\)/);
    expect(text).toMatch(/end_\d+\(\(\("LOST"\)\)\)/);
    expect(text).toContain('timer postponed-too-long');
  });

  it('draws each kind of step with its own shape', () => {
    const kinds = toMermaid(everyKind);
    expect(kinds).toMatch(/n\d+\{"split<br\/>parallel"\}/);
    expect(kinds).toMatch(/n\d+\("call<br\/>call · team sales \(least-busy\)"\)/);
    expect(kinds).toMatch(/n\d+\{\{"pause<br\/>wait P2D"\}\}/);
    expect(kinds).toMatch(/n\d+\{"meet<br\/>join"\}/);
    expect(kinds).toMatch(/n\d+\["auto<br\/>automatic<br\/>status DONE"\]/);
    expect(kinds).toMatch(/n\d+\[\["child<br\/>sub-case service \(waits\)"\]\]/);
    expect(kinds).toMatch(/-\.-> end_\d+/);
  });

  it('highlights the current step and the visited ones', () => {
    const lit = toMermaid(opportunity, { currentSteps: ['decide'], visited: ['identify-needs', 'present'] });
    const id = /\s(n\d+)\("decide/.exec(lit)?.[1];
    expect(id).toBeDefined();
    expect(lit).toContain(`class ${id ?? ''} current`);
    expect(lit).toMatch(/class n\d+,n\d+ visited/);
    expect(text).not.toContain(' current\n');
  });
});

describe('toSvg and toHtml', () => {
  it('draws a node for every step and a label for every outcome', () => {
    const svg = toSvg(opportunity);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    for (const id of Object.keys(opportunity.steps)) expect(svg).toContain(`data-step="${id}"`);
    expect(svg).toContain('>interested → PRESENTING<');
    expect(svg).toContain('>still-postponed<');
  });

  it('marks the current step', () => {
    const svg = toSvg(opportunity, { currentSteps: ['present'] });
    expect(svg).toContain('<g class="node human current" data-step="present">');
    expect((svg.match(/ current"/g) ?? []).length).toBe(1);
  });

  it('is a self-contained page with the Mermaid source, escaped', () => {
    const html = toHtml(everyKind, { currentSteps: ['call'] });
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    expect(html).toContain('<title>Every kind &lt;of&gt; step');
    expect(html).toContain('<details>');
    expect(html).toContain('flowchart TD');
    expect(html).toContain('current step: call');
  });
});
