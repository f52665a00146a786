import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CaseTypeDefinition } from '../engine/types';
import {
  canonicalJson,
  definitionFiles,
  definitionHash,
  formatIssues,
  loadDefinitionFiles,
  loadDefinitions,
  validateDefinition,
  validateSource,
  type DefinitionIssue,
} from './validate';

const ROOT = path.join(__dirname, '..');
const DEFINITIONS = path.join(ROOT, 'definitions');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'invalid-definitions');
const FIXTURE_TEMPLATES = path.join(FIXTURES, 'templates');

interface Expectation {
  pointer: string;
  message: string;
  severity?: 'error' | 'warning';
  /** Number of errors the fixture produces, when one mistake legitimately causes more than one. */
  errors?: number;
}

const shippedIds = definitionFiles(DEFINITIONS).map(
  (f) => (JSON.parse(fs.readFileSync(f, 'utf8')) as { id: string }).id,
);

function errorsOf(issues: DefinitionIssue[]): DefinitionIssue[] {
  return issues.filter((i) => i.severity === 'error');
}

describe('shipped definitions', () => {
  const files = definitionFiles(DEFINITIONS);

  it('includes at least the opportunity', () => {
    expect(files.map((f) => path.basename(f))).toContain('opportunity.json');
  });

  it('all validate with zero errors', () => {
    const { definitions, issues } = loadDefinitions(DEFINITIONS);
    expect(formatIssues(errorsOf(issues))).toBe('');
    expect(definitions.map((d) => d.file).sort()).toEqual(files);
  });

  it.each(files.map((f) => [path.basename(f), f]))('%s references the published schema', (_name, file) => {
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { $schema?: string };
    expect(json.$schema).toBe('./case-type.schema.json');
  });
});

describe('pattern examples (definitions/examples)', () => {
  const dir = path.join(DEFINITIONS, 'examples');
  const files = definitionFiles(dir);

  it('all validate with no error and no warning (four eyes included in the soundness check)', () => {
    const { definitions, issues } = loadDefinitionFiles(files, path.join(DEFINITIONS, 'templates'));
    expect(formatIssues(issues)).toBe('');
    expect(definitions).toHaveLength(files.length);
  });

  it('every example file the patterns table names exists, and every example is named there', () => {
    const readme = fs.readFileSync(path.join(DEFINITIONS, 'README.md'), 'utf8');
    const named = new Set([...readme.matchAll(/examples\/([a-z-]+\.json)/g)].map((m) => m[1]));
    expect([...named].sort()).toEqual(files.map((f) => path.basename(f)).sort());
  });
});

describe('the workflow patterns table', () => {
  it('states the number of direct patterns its rows say', () => {
    const readme = fs.readFileSync(path.join(DEFINITIONS, 'README.md'), 'utf8');
    const section = (from: string, to: string): string =>
      readme.slice(readme.indexOf(from), readme.indexOf(to, readme.indexOf(from)));
    const direct = (text: string): number =>
      text.split('\n').filter((l) => /^\|[^|]+\|[^|]+\| Direct /.test(l) || /^\|[^|]+\| Direct /.test(l))
        .length;
    const control = direct(section('### Control flow', '### Resources'));
    const resources = direct(section('### Resources', '## How a case runs'));
    expect(readme).toContain(
      `Counted: **${control} of 43** control-flow patterns and **${resources} of 25** resource patterns direct`,
    );
  });
});

describe('invalid definition fixtures', () => {
  const fixtures = fs
    .readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.json'))
    .sort();

  it('cover every error class', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(35);
  });

  it.each(fixtures)('%s fails for its stated reason', (name) => {
    const file = path.join(FIXTURES, name);
    const text = fs.readFileSync(file, 'utf8');
    const expected = (JSON.parse(text) as { 'x-expect': Expectation })['x-expect'];
    const { issues } = validateSource(text, name, {
      templatesDir: FIXTURE_TEMPLATES,
      knownCaseTypes: [...shippedIds, 'fixture'],
    });
    const severity = expected.severity ?? 'error';
    const match = issues.find(
      (i) =>
        i.pointer === expected.pointer && i.message.includes(expected.message) && i.severity === severity,
    );
    expect({ match: match !== undefined, issues: formatIssues(issues) }).toEqual({
      match: true,
      issues: expect.any(String) as unknown,
    });
    expect(match?.hint).toEqual(expect.any(String));
    expect(errorsOf(issues)).toHaveLength(severity === 'warning' ? 0 : (expected.errors ?? 1));
  });
});

describe('validateDefinition', () => {
  const opts = { templatesDir: path.join(DEFINITIONS, 'templates'), knownCaseTypes: shippedIds };
  const opportunity = (): Record<string, unknown> =>
    JSON.parse(fs.readFileSync(path.join(DEFINITIONS, 'opportunity.json'), 'utf8')) as Record<
      string,
      unknown
    >;

  it('stops at an unsupported DSL version with one error', () => {
    const issues = validateDefinition({ ...opportunity(), dslVersion: '2', steps: 'broken' }, 'x.json', opts);
    expect(issues).toEqual([
      expect.objectContaining({
        pointer: '/dslVersion',
        severity: 'error',
        message: expect.stringContaining('"2"'),
      }),
    ]);
  });

  it('explains a numeric version', () => {
    const [first] = validateDefinition({ ...opportunity(), dslVersion: 1 }, 'x.json', opts);
    expect(first?.hint).toContain('"dslVersion": "1"');
  });

  it('reports all problems at once', () => {
    const def = opportunity();
    const steps = def.steps as Record<string, Record<string, unknown>>;
    (steps.present as Record<string, unknown>).due = 'P3X';
    (steps.decide as Record<string, unknown>).action = 'demo';
    def.initialStatus = 'NEW';
    const pointers = validateDefinition(def, 'x.json', opts).map((i) => i.pointer);
    expect(pointers).toEqual(
      expect.arrayContaining(['/steps/present/due', '/steps/decide/action', '/initialStatus']),
    );
  });

  it('reports one precise error for a step of the wrong shape, not one per step kind', () => {
    const def = opportunity();
    const steps = def.steps as Record<string, Record<string, unknown>>;
    steps.present = { type: 'wait', until: 'P1D', then: { next: 'decide' }, outcomes: {} };
    const issues = validateDefinition(def, 'x.json', opts);
    expect(issues.map((i) => `${i.pointer} ${i.message}`)).toEqual([
      '/steps/present/outcomes unknown property "outcomes"',
    ]);
  });

  it('suggests the closest name for a misspelt reference', () => {
    const def = opportunity();
    const steps = def.steps as Record<string, { outcomes: Record<string, Record<string, unknown>> }>;
    (steps.decide?.outcomes.won as Record<string, unknown>).status = 'WOM';
    const found = validateDefinition(def, 'x.json', opts).find((i) => i.pointer.endsWith('/won/status'));
    expect(found?.hint).toContain('did you mean "WON"');
  });

  it('warns when a condition reads a field outside data', () => {
    const def = opportunity();
    const steps = def.steps as Record<string, { outcomes: Record<string, unknown> }>;
    (steps.decide as { outcomes: Record<string, unknown> }).outcomes.won = [
      { if: { '>': [{ var: 'amount' }, 1000] }, status: 'WON', end: true },
      { status: 'WON', end: true },
    ];
    const found = validateDefinition(def, 'x.json', opts).find((i) => i.pointer.includes('/if/'));
    expect(found).toEqual(
      expect.objectContaining({ severity: 'warning', hint: expect.stringContaining('data.amount') }),
    );
  });
});

describe('warnings beside errors', () => {
  const opts = { templatesDir: path.join(DEFINITIONS, 'templates') };
  const human = (next?: string): Record<string, unknown> => ({
    type: 'human',
    action: 'call',
    title: 'Call',
    assign: { team: 'sales' },
    outcomes: { ok: next === undefined ? { status: 'DONE', end: true } : { next } },
  });
  /** a -> b -> end, and "orphan", which nothing leads to. */
  const small = (): Record<string, unknown> => ({
    dslVersion: '1',
    id: 'small',
    version: '1',
    name: 'Small',
    statuses: [
      { code: 'OPEN', name: 'Open', category: 'open' },
      { code: 'DONE', name: 'Done', category: 'closed' },
    ],
    initialStatus: 'OPEN',
    start: 'a',
    steps: { a: human('b'), b: human(), orphan: human() },
  });
  const lines = (issues: DefinitionIssue[]): string[] =>
    issues.map((i) => `${i.severity} ${i.pointer} ${i.message}`);

  it('an unreachable step is reported when the file also has a schema error elsewhere', () => {
    const def = { ...small(), colour: 'red' };
    expect(lines(validateDefinition(def, 'x.json', opts))).toEqual([
      'error /colour unknown property "colour"',
      'warning /steps/orphan step "orphan" is never reached',
    ]);
  });

  it('an unreachable step with a schema error of its own gets both', () => {
    const def = small();
    delete ((def.steps as Record<string, Record<string, unknown>>).orphan as Record<string, unknown>).title;
    expect(lines(validateDefinition(def, 'x.json', opts))).toEqual([
      'error /steps/orphan missing required property "title"',
      'warning /steps/orphan step "orphan" is never reached',
    ]);
  });

  it('no reachability warning when an error breaks the links it would be computed from', () => {
    const def = small();
    ((def.steps as Record<string, Record<string, unknown>>).a as Record<string, unknown>).outcomes = {
      ok: { nxt: 'b' },
    };
    const issues = validateDefinition(def, 'x.json', opts);
    expect(lines(errorsOf(issues))).toEqual(['error /steps/a/outcomes/ok/nxt unknown property "nxt"']);
    expect(issues.filter((i) => i.message.includes('never reached'))).toEqual([]);
  });
});

describe("a sub-case's data against the child type's fields", () => {
  const read = (name: string): Record<string, unknown> =>
    JSON.parse(fs.readFileSync(path.join(DEFINITIONS, `${name}.json`), 'utf8')) as Record<string, unknown>;
  const opts = {
    templatesDir: path.join(DEFINITIONS, 'templates'),
    knownCaseTypes: shippedIds,
    caseTypes: new Map([['opportunity', read('opportunity') as unknown as CaseTypeDefinition]]),
  };
  /** The shipped lead, whose sub-case starts an opportunity with `data`. */
  const leadWith = (data: Record<string, unknown>): Record<string, unknown> => {
    const lead = read('lead');
    const steps = lead.steps as Record<string, Record<string, unknown>>;
    (steps['open-opportunity'] as Record<string, unknown>).data = data;
    return lead;
  };
  const errorLines = (def: Record<string, unknown>): string[] =>
    errorsOf(validateDefinition(def, 'lead.json', opts)).map((i) => `${i.pointer} ${i.message}`);

  it('accepts the shipped lead: copied values, and no literal that breaks the fields', () => {
    expect(errorLines(read('lead'))).toEqual([]);
  });

  it('rejects a literal of the wrong type, an undeclared field and a missing required one', () => {
    expect(errorLines(leadWith({ amount: 'lots', colour: 'red' }))).toEqual([
      '/steps/open-opportunity/data the sub-case\'s data has no "subject", which case type "opportunity" requires',
      '/steps/open-opportunity/data/colour the sub-case\'s data does not fit case type "opportunity": colour is not an allowed property',
      '/steps/open-opportunity/data/amount the sub-case\'s data does not fit case type "opportunity": amount must be number',
    ]);
  });

  it('checks only the names of copied values, and formats of literal ones', () => {
    expect(
      errorLines(
        leadWith({
          subject: { var: 'data.subject' },
          expectedCloseDate: 'next week',
          notes: { var: 'data.x' },
        }),
      ),
    ).toEqual([
      '/steps/open-opportunity/data/notes the sub-case\'s data does not fit case type "opportunity": notes is not an allowed property',
      '/steps/open-opportunity/data/expectedCloseDate the sub-case\'s data does not fit case type "opportunity": expectedCloseDate must match format "date"',
    ]);
  });
});

describe('the validator never throws', () => {
  const opts = { templatesDir: path.join(DEFINITIONS, 'templates') };
  const garbage: [string, string][] = [
    ['null', 'null'],
    ['a number', '42'],
    ['a string', '"opportunity"'],
    ['a list', '[{"dslVersion": "1"}]'],
    ['an empty file', ''],
    ['a truncated file', fs.readFileSync(path.join(DEFINITIONS, 'opportunity.json'), 'utf8').slice(0, 700)],
    ['binary noise', '\u0000\u0001\u00ff{{{'],
    ['deep nesting', '['.repeat(5000)],
    ['only a version', '{"dslVersion": "1"}'],
    [
      'wrong shapes',
      '{"dslVersion":"1","statuses":5,"steps":[1,2],"start":{},"timers":"x","emailRules":[null,3]}',
    ],
    [
      'steps of every odd shape',
      '{"dslVersion":"1","steps":{"a":null,"b":{"type":"parallel","branches":"x","join":7},"c":{"type":"human","outcomes":[1]},"d":{"type":"automatic","do":[{"email":5}],"then":[null]}},"start":["a",3]}',
    ],
  ];

  it.each(garbage)('on %s', (_name, text) => {
    const { issues } = validateSource(text, 'garbage.json', opts);
    expect(errorsOf(issues).length).toBeGreaterThan(0);
    expect(issues.some((i) => i.message.startsWith('the validator failed'))).toBe(false);
  });

  it('gives the line and column of a syntax error', () => {
    const { issues } = validateSource('{\n  "dslVersion": "1",\n  "id": oops\n}', 'bad.json', opts);
    expect(issues).toEqual([
      expect.objectContaining({ pointer: '', message: expect.stringContaining('line 3, column 9') }),
    ]);
  });

  it('survives random mutations of a real definition', () => {
    const original = JSON.parse(
      fs.readFileSync(path.join(DEFINITIONS, 'opportunity.json'), 'utf8'),
    ) as unknown;
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const replacements: unknown[] = [null, 0, -1, '', 'x', [], {}, true, [null], { a: 1 }, 'P1D', '*'];
    const mutate = (node: unknown): unknown => {
      if (random() < 0.04) return replacements[Math.floor(random() * replacements.length)];
      if (Array.isArray(node)) return node.map(mutate);
      if (node !== null && typeof node === 'object') {
        return Object.fromEntries(
          Object.entries(node).map(([k, v]) => [random() < 0.02 ? `${k}_` : k, mutate(v)]),
        );
      }
      return node;
    };
    for (let i = 0; i < 300; i += 1) {
      const issues = validateDefinition(mutate(original), 'mutant.json', opts);
      expect(issues.some((x) => x.message.startsWith('the validator failed'))).toBe(false);
    }
  });
});

describe('loadDefinitions', () => {
  it('reports an unreadable folder as an issue', () => {
    const result = loadDefinitions(path.join(ROOT, 'no-such-folder'));
    expect(result.definitions).toEqual([]);
    expect(result.issues[0]?.message).toContain('cannot read the definitions folder');
  });

  it('hashes content, not formatting or key order', () => {
    const a = { b: [1, { d: 2, c: 3 }], a: 'x' };
    const b = JSON.parse(JSON.stringify({ a: 'x', b: [1, { c: 3, d: 2 }] }, null, 4)) as unknown;
    expect(canonicalJson(a)).toBe('{"a":"x","b":[1,{"c":3,"d":2}]}');
    expect(definitionHash(a)).toBe(definitionHash(b));
    expect(definitionHash(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(definitionHash({ ...a, a: 'y' })).not.toBe(definitionHash(a));
  });

  it('rejects two files that define the same case type', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'defs-'));
    const text = fs.readFileSync(path.join(DEFINITIONS, 'opportunity.json'), 'utf8');
    fs.writeFileSync(path.join(dir, 'a.json'), text);
    fs.writeFileSync(path.join(dir, 'b.json'), text);
    fs.writeFileSync(path.join(dir, 'ignored.schema.json'), '{}');
    fs.cpSync(path.join(DEFINITIONS, 'templates'), path.join(dir, 'templates'), { recursive: true });
    const result = loadDefinitions(dir);
    expect(result.definitions.map((d) => path.basename(d.file))).toEqual(['a.json']);
    expect(result.issues).toEqual([
      expect.objectContaining({ file: path.join(dir, 'b.json'), pointer: '/id', severity: 'error' }),
    ]);
    fs.rmSync(dir, { recursive: true });
  });

  it('formats one line per issue', () => {
    const text = formatIssues([
      { file: 'a.json', pointer: '/steps/x', message: 'bad', hint: 'fix it', severity: 'error' },
      { file: 'a.json', pointer: '', message: 'meh', severity: 'warning' },
    ]);
    expect(text).toBe('a.json#/steps/x: bad (fix it)\na.json#: warning: meh');
  });
});
