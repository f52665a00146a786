import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CaseTypeDefinition } from '../engine/types';
import { previewTemplate } from './preview';
import { checkTemplates } from './templates-check';
import { definitionFiles, validateDefinition } from './validate';

const DEFINITIONS = path.join(__dirname, '..', 'definitions');
const TEMPLATES = path.join(DEFINITIONS, 'templates');
const opportunity = JSON.parse(
  fs.readFileSync(path.join(DEFINITIONS, 'opportunity.json'), 'utf8'),
) as CaseTypeDefinition;

/** A temporary templates folder with the given files (`name/part.hbs` -> source). */
function templatesWith(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'templates-'));
  for (const [file, source] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), source);
  }
  return dir;
}

function withRule(template: string, extra: Partial<CaseTypeDefinition> = {}): CaseTypeDefinition {
  // Only the rule under test: the shipped calendar rules use templates these temporary folders lack.
  const { scheduledEmails: _calendarRules, ...base } = opportunity;
  return {
    ...base,
    emailRules: [{ id: 'r', on: { statusEntered: 'WON' }, template, to: ['owner'] }],
    ...extra,
  };
}

describe('checkTemplates', () => {
  it('accepts every template the shipped definitions use', () => {
    for (const file of definitionFiles(DEFINITIONS)) {
      const def = JSON.parse(fs.readFileSync(file, 'utf8')) as CaseTypeDefinition;
      expect(checkTemplates(def, file, TEMPLATES)).toEqual([]);
    }
  });

  it('accepts the shipped template library against the context it is written for', () => {
    const def = withRule('task-notice', {
      emailRules: ['case-status', 'opportunity-update', 'task-notice', 'newsletter', 'opportunity-won'].map(
        (template, i) => ({ id: `r${i}`, on: { taskAssigned: '*' }, template, to: ['assignee'] }),
      ),
      scheduledEmails: [
        { id: 'd', cron: '0 8 * * 1-5', kind: 'agent-digest', template: 'agent-digest' },
        { id: 'p', cron: '0 8 * * 1', kind: 'pipeline-summary', template: 'pipeline-summary' },
      ],
    });
    expect(checkTemplates(def, 'x.json', TEMPLATES)).toEqual([]);
  });

  it('reports unknown variables with the template file, line and column, and a suggestion', () => {
    const dir = templatesWith({
      'won/subject.hbs': 'Won: {{case.titel}}',
      'won/html.hbs':
        '<p>{{money data.amont data.currency}}</p>\n{{#each lines}}{{product}} {{qty}}{{/each}}',
    });
    const issues = checkTemplates(withRule('won'), 'opportunity.json', dir);
    expect(issues.map((i) => [i.pointer, i.message, i.hint])).toEqual([
      [
        '/emailRules/0/template',
        expect.stringMatching(/won\/html\.hbs:1:12: unknown variable "data\.amont"$/),
        expect.stringMatching(/^did you mean "data\.amount"\? known fields of data: subject, amount/),
      ],
      [
        '/emailRules/0/template',
        expect.stringMatching(/won\/html\.hbs:2:30: unknown variable "qty"$/),
        expect.stringContaining('product, quantity, amount'),
      ],
      [
        '/emailRules/0/template',
        expect.stringMatching(/won\/subject\.hbs:1:8: unknown variable "case\.titel"$/),
        expect.stringContaining('did you mean "case.title"?'),
      ],
    ]);
    expect(issues.every((i) => i.file === 'opportunity.json' && i.severity === 'error')).toBe(true);
  });

  it('follows scopes: @root, ../, block parameters, #with and partials with hash arguments', () => {
    const dir = templatesWith({
      '_partials/row.hbs': '<td>{{label}}</td><td>{{case.title}}</td><td>{{nope}}</td>',
      'ok/subject.hbs': '{{case.title}}',
      'ok/text.hbs': [
        '{{#each lines as |line i|}}{{line.product}} {{i}} {{@root.data.subject}} {{../status.name}}{{/each}}',
        '{{#with task}}{{title}} {{assignee.name}}{{/with}}',
        '{{> row label="Case"}}',
        '{{#if (eq rule.trigger "taskAssigned")}}{{lookup data "subject"}}{{/if}}',
      ].join('\n'),
    });
    const issues = checkTemplates(withRule('ok'), 'o.json', dir);
    expect(issues.map((i) => i.message)).toEqual([
      expect.stringMatching(
        /_partials\/row\.hbs \(partial of .*ok\/text\.hbs\):1:48: unknown variable "nope"$/,
      ),
    ]);
  });

  it('rejects unknown helpers, missing partials and layouts, and does not compile broken files', () => {
    const dir = templatesWith({
      'bad/subject.hbs': '{{shout case.title}}',
      'bad/html.hbs': '{{!< fancy}}\n<p>{{> missing}}</p>',
      'bad/text.es.hbs': '{{#if data.amount}}\nno end',
    });
    const messages = checkTemplates(withRule('bad'), 'o.json', dir).map((i) => i.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/bad\/subject\.hbs:1:3: unknown helper "shout"$/),
        expect.stringMatching(/bad\/html\.hbs:2:4: uses the partial "missing", which does not exist$/),
        expect.stringMatching(/bad\/html\.hbs:1: uses the layout "fancy", which has no html\.hbs$/),
        expect.stringMatching(/bad\/text\.es\.hbs:2: does not compile: Parse error on line 2/),
      ]),
    );
  });

  it('checks scheduled emails against the digest context, and warns about marketing without unsubscribe', () => {
    const dir = templatesWith({
      'digest/subject.hbs': '{{counts.overdue}} overdue for {{case.title}}',
      'digest/text.hbs': '{{#each tasks.overdue}}{{title}} {{dueAt}}{{/each}}',
      'promo/subject.hbs': 'Hello',
      'promo/text.hbs': 'Buy now',
    });
    const def = withRule('promo', {
      scheduledEmails: [{ id: 'd', cron: '0 8 * * 1-5', kind: 'agent-digest', template: 'digest' }],
    });
    def.emailRules![0]!.marketing = true;
    const issues = checkTemplates(def, 'o.json', dir);
    expect(issues.map((i) => [i.pointer, i.severity, i.message])).toEqual([
      ['/emailRules/0/template', 'warning', 'marketing template "promo" has no unsubscribe link in its body'],
      [
        '/scheduledEmails/0/template',
        'error',
        expect.stringMatching(/digest\/subject\.hbs:1:34: unknown variable "case"/),
      ],
    ]);
  });

  it('validates fixed recipient addresses per RFC 3696', () => {
    const def = withRule('opportunity-won');
    def.emailRules![0]!.cc = ['ok@example.com', `${'x'.repeat(65)}@example.com`, 'user:bob', 'a@b@c'];
    expect(checkTemplates(def, 'o.json', TEMPLATES).map((i) => [i.pointer, i.message])).toEqual([
      [
        '/emailRules/0/cc/1',
        expect.stringContaining('the local part (before "@") has at most 64 characters'),
      ],
      ['/emailRules/0/cc/3', expect.stringContaining('"a@b@c" is not a valid email address')],
    ]);
  });

  it('is part of publish-time validation: unknown variables reject the definition', () => {
    const dir = templatesWith({ 'won/subject.hbs': '{{case.titel}}', 'won/text.hbs': 'x' });
    const issues = validateDefinition(withRule('won'), 'opportunity.json', { templatesDir: dir });
    expect(issues.filter((i) => i.severity === 'error').map((i) => i.message)).toEqual([
      expect.stringMatching(/won\/subject\.hbs:1:3: unknown variable "case\.titel"$/),
    ]);
  });
});

describe('previewTemplate', () => {
  it('renders sample data shaped by the case type that uses the template, in the asked locale', async () => {
    const en = await previewTemplate({
      templatesDir: TEMPLATES,
      template: 'opportunity-won',
      definitions: [opportunity],
    });
    expect(en).toMatchObject({ data: 'sample', use: 'case', caseType: 'opportunity', locale: 'en' });
    expect(en.subject).toBe('Opportunity won: ACME Corp: Sample case');
    expect(en.text).toContain('€12,500.00');
    const es = await previewTemplate({ templatesDir: TEMPLATES, template: 'case-status', locale: 'es' });
    expect(es.subject).toBe('ACME Corp: Sample case: Open');
    expect(es.html).toContain('<html lang="es">');
    expect(es.html).toContain('El caso <strong>ACME Corp: Sample case</strong>');
  });
});
