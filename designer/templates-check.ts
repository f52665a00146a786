import fs from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { caseContextShape, digestContextShape, type Shape } from '../activities/email-context';
import { BUILTIN_HELPERS, EMAIL_HELPERS, layoutDirective } from '../activities/templates';
import type { CaseTypeDefinition, EmailAction } from '../engine/types';
import { emailAddressProblem } from '../lib/email-address';
import { closest, issue, suggest, type DefinitionIssue } from './issues';

/**
 * Publish-time check of the email templates a definition references: each exists, compiles, its layout
 * and partials exist, and every variable it reads exists in the context it will be rendered with (the case
 * type's fields, lines and the known email context; or the digest context of a scheduled email). Walks the
 * Handlebars AST, following `#each`/`#with` scopes, block parameters, `../`, `@root`, partials and layouts.
 */

export interface TemplateCheckOptions {
  /**
   * Also report what the definition validator's semantic check reports already (a template missing or
   * incomplete, a file that does not compile, a missing partial). Default true; validateDefinition passes
   * false so each problem is reported once.
   */
  structure?: boolean;
}

type AST = hbs.AST.Program;
type Node = hbs.AST.Node;
type Expr = hbs.AST.Expression;

const TEMPLATE_FILE = /^(subject|text|html)(\.[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*)?\.hbs$/;
const HELPERS = new Set<string>([...BUILTIN_HELPERS, ...EMAIL_HELPERS]);
const ANY: Shape = { type: 'any' };
const VALUE: Shape = { type: 'value' };

interface Scope {
  shape: Shape;
  blockParams: Map<string, Shape>;
}

interface Found {
  message: string;
  hint?: string;
  severity: 'error' | 'warning';
  /** Also reported by the semantic check of designer/validate.ts. */
  structural: boolean;
}

interface Reference {
  template: string;
  pointer: string;
  shape: Shape;
  shapeKey: string;
  marketing: boolean;
}

function isObj(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function escapePointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Every template the definition references, with the context shape it will be rendered with. */
function references(def: CaseTypeDefinition): Reference[] {
  const refs: Reference[] = [];
  const caseShape = caseContextShape(def);
  const add = (template: unknown, pointer: string, shape: Shape, shapeKey: string, marketing = false) => {
    if (typeof template === 'string' && template !== '')
      refs.push({ template, pointer, shape, shapeKey, marketing });
  };
  (def.emailRules ?? []).forEach((rule, i) => {
    if (isObj(rule))
      add(rule.template, `/emailRules/${i}/template`, caseShape, 'case', rule.marketing === true);
  });
  for (const [id, step] of Object.entries(def.steps ?? {})) {
    if (!isObj(step)) continue;
    const base = `/steps/${escapePointer(id)}`;
    if (step.type === 'automatic') {
      (step.do ?? []).forEach((action, i) => {
        if (isObj(action) && 'email' in action && isObj(action.email))
          add(action.email.template, `${base}/do/${i}/email/template`, caseShape, 'case');
      });
    }
    if (step.type === 'human') {
      (step.escalations ?? []).forEach((escalation, i) => {
        if (isObj(escalation) && isObj(escalation.notify))
          add(escalation.notify.template, `${base}/escalations/${i}/notify/template`, caseShape, 'case');
      });
    }
  }
  (def.scheduledEmails ?? []).forEach((scheduled, i) => {
    if (!isObj(scheduled) || (scheduled.kind !== 'agent-digest' && scheduled.kind !== 'pipeline-summary'))
      return;
    add(
      scheduled.template,
      `/scheduledEmails/${i}/template`,
      digestContextShape(scheduled.kind),
      scheduled.kind,
    );
  });
  return refs;
}

function parse(source: string): { ast: AST } | { error: string; line?: number } {
  try {
    return { ast: Handlebars.parse(source) };
  } catch (e) {
    const message = (e instanceof Error ? e.message : String(e)).split('\n');
    const line = /line (\d+)/.exec(message[0] ?? '')?.[1];
    return {
      error: message.filter((l) => l.trim() !== '').join(' '),
      ...(line ? { line: Number(line) } : {}),
    };
  }
}

/** Walks templates, partials and layouts, reporting unknown variables and helpers with their location. */
class Walker {
  readonly found: Found[] = [];
  /** Root names the template reads (for the unsubscribe-link warning). */
  readonly roots = new Set<string>();
  private readonly partialStack: string[] = [];
  private readonly inline = new Map<string, AST>();
  private location = '';

  constructor(
    private readonly templatesDir: string,
    private readonly relative: (file: string) => string,
  ) {}

  private report(node: Node | undefined, message: string, hint?: string, structural = false): void {
    const loc = node?.loc?.start;
    const where = loc ? `${this.location}:${loc.line}:${loc.column + 1}` : this.location;
    this.found.push({
      message: `${where}: ${message}`,
      severity: 'error',
      structural,
      ...(hint ? { hint } : {}),
    });
  }

  /** Checks one file against the root shape. */
  file(file: string, source: string, root: Shape, extra: Record<string, Shape> = {}): void {
    const parsed = parse(source);
    const previous = this.location;
    this.location = this.relative(file);
    if ('error' in parsed) {
      this.found.push({
        message: `${this.location}${parsed.line ? `:${parsed.line}` : ''}: does not compile: ${parsed.error}`,
        hint: 'check that every {{#block}} has its {{/block}} and braces are balanced',
        severity: 'error',
        structural: true,
      });
      this.location = previous;
      return;
    }
    const shape: Shape =
      root.type === 'object' && Object.keys(extra).length > 0
        ? { ...root, props: { ...root.props, ...extra } }
        : root;
    this.program(parsed.ast, [{ shape, blockParams: new Map() }]);
    this.location = previous;
  }

  private program(program: AST | undefined, scopes: Scope[]): void {
    for (const node of program?.body ?? []) this.statement(node, scopes);
  }

  private statement(node: Node, scopes: Scope[]): void {
    switch (node.type) {
      case 'MustacheStatement':
        return this.mustache(node as hbs.AST.MustacheStatement, scopes);
      case 'BlockStatement':
        return this.block(node as hbs.AST.BlockStatement, scopes);
      case 'PartialStatement':
        return this.partial(node as hbs.AST.PartialStatement, scopes);
      case 'PartialBlockStatement': {
        const block = node as hbs.AST.PartialBlockStatement;
        this.partial(block, scopes);
        return this.program(block.program, scopes);
      }
      case 'DecoratorBlock': {
        const decorator = node as hbs.AST.DecoratorBlock;
        const name = (decorator.params[0] as hbs.AST.StringLiteral | undefined)?.value;
        if ((decorator.path as hbs.AST.PathExpression).original === 'inline' && name)
          this.inline.set(name, decorator.program);
        return;
      }
      default:
        return;
    }
  }

  private helperCall(path: Expr, params: Expr[], hash: hbs.AST.Hash | undefined, scopes: Scope[]): void {
    const name = (path as hbs.AST.PathExpression).original;
    if (!HELPERS.has(name)) {
      this.report(path, `unknown helper "${name}"`, suggest(name, [...HELPERS], 'helper'));
    }
    for (const param of params) this.expr(param, scopes);
    for (const pair of hash?.pairs ?? []) this.expr(pair.value, scopes);
  }

  private isBlockParam(path: hbs.AST.PathExpression, scopes: Scope[]): boolean {
    const first = path.parts[0];
    return first !== undefined && scopes.some((s) => s.blockParams.has(first));
  }

  private mustache(node: hbs.AST.MustacheStatement, scopes: Scope[]): void {
    if (node.path.type !== 'PathExpression') return;
    const path = node.path as hbs.AST.PathExpression;
    if (node.params.length > 0 || (node.hash?.pairs.length ?? 0) > 0) {
      this.helperCall(path, node.params, node.hash, scopes);
      return;
    }
    const bare = path.parts.length === 1 && path.depth === 0 && !path.data && !/^this\b/.test(path.original);
    if (bare && HELPERS.has(path.parts[0] as string) && !this.isBlockParam(path, scopes)) return;
    this.resolve(path, scopes);
  }

  private expr(node: Expr, scopes: Scope[]): Shape {
    if (node.type === 'PathExpression') return this.resolve(node as hbs.AST.PathExpression, scopes);
    if (node.type === 'SubExpression') {
      const sub = node as hbs.AST.SubExpression;
      this.helperCall(sub.path, sub.params, sub.hash, scopes);
      return ANY;
    }
    return VALUE;
  }

  private block(node: hbs.AST.BlockStatement, scopes: Scope[]): void {
    const path = node.path as hbs.AST.PathExpression;
    const name = path.original;
    const params = node.params;
    const blockParams = node.program?.blockParams ?? [];
    const within = (shape: Shape, paramShapes: Shape[]): Scope[] => [
      ...scopes,
      {
        shape,
        blockParams: new Map(blockParams.map((p: string, i: number) => [p, paramShapes[i] ?? VALUE])),
      },
    ];
    switch (name) {
      case 'if':
      case 'unless':
        for (const param of params) this.expr(param, scopes);
        this.program(node.program, scopes);
        this.program(node.inverse, scopes);
        return;
      case 'each': {
        const list = params[0] ? this.expr(params[0], scopes) : ANY;
        let item: Shape = ANY;
        if (list.type === 'array') item = list.items;
        else if (list.type === 'value' && params[0]) {
          this.report(
            params[0],
            `"${(params[0] as hbs.AST.PathExpression).original}" is a value, not a list`,
          );
        }
        this.program(node.program, within(item, [item, VALUE]));
        this.program(node.inverse, scopes);
        return;
      }
      case 'with': {
        const target = params[0] ? this.expr(params[0], scopes) : ANY;
        this.program(node.program, within(target, [target]));
        this.program(node.inverse, scopes);
        return;
      }
      default: {
        if (params.length > 0 || (node.hash?.pairs.length ?? 0) > 0 || HELPERS.has(name)) {
          this.helperCall(path, params, node.hash, scopes);
          this.program(node.program, scopes);
          this.program(node.inverse, scopes);
          return;
        }
        // A mustache-style section ({{#data.items}}...{{/data.items}}) iterates or enters its value.
        const target = this.resolve(path, scopes);
        this.program(node.program, within(target.type === 'array' ? target.items : target, []));
        this.program(node.inverse, scopes);
      }
    }
  }

  private partial(node: hbs.AST.PartialStatement | hbs.AST.PartialBlockStatement, scopes: Scope[]): void {
    const nameNode = node.name as hbs.AST.Node;
    const name =
      nameNode.type === 'PathExpression'
        ? (nameNode as hbs.AST.PathExpression).original
        : nameNode.type === 'StringLiteral'
          ? (nameNode as hbs.AST.StringLiteral).value
          : undefined;
    if (name === undefined || name === '@partial-block') return;
    let context = scopes;
    if (node.params[0])
      context = [...scopes, { shape: this.expr(node.params[0], scopes), blockParams: new Map() }];
    if (node.hash && node.hash.pairs.length > 0) {
      const props: Record<string, Shape> = {};
      for (const pair of node.hash.pairs) props[pair.key] = this.expr(pair.value, scopes);
      const top = context[context.length - 1] as Scope;
      const merged: Shape =
        top.shape.type === 'object' ? { ...top.shape, props: { ...top.shape.props, ...props } } : top.shape;
      context = [...context.slice(0, -1), { ...top, shape: merged }];
    }
    const inline = this.inline.get(name);
    if (inline) {
      this.program(inline, context);
      return;
    }
    const file = path.join(this.templatesDir, '_partials', `${name}.hbs`);
    let source: string;
    try {
      source = fs.readFileSync(file, 'utf8');
    } catch {
      this.report(
        node,
        `uses the partial "${name}", which does not exist`,
        `create ${this.relative(file)}`,
        true,
      );
      return;
    }
    if (this.partialStack.includes(name)) return;
    const parsed = parse(source);
    if ('error' in parsed) {
      this.found.push({
        message: `${this.relative(file)}: does not compile: ${parsed.error}`,
        severity: 'error',
        structural: false,
      });
      return;
    }
    const previous = this.location;
    this.partialStack.push(name);
    this.location = `${this.relative(file)} (partial of ${previous})`;
    this.program(parsed.ast, context);
    this.location = previous;
    this.partialStack.pop();
  }

  /** Follows a path through the scopes; reports what does not exist. Returns the shape it reaches. */
  private resolve(node: hbs.AST.PathExpression, scopes: Scope[]): Shape {
    let parts = [...node.parts];
    let shape: Shape;
    let walked: string[] = [];
    if (node.data) {
      if (parts[0] !== 'root') return ANY;
      parts = parts.slice(1);
      shape = (scopes[0] as Scope).shape;
      walked = ['@root'];
    } else {
      const index = scopes.length - 1 - node.depth;
      const scope = scopes[index];
      if (!scope) {
        this.report(node, `"${node.original}" goes above the top of the template`);
        return ANY;
      }
      const first = parts[0];
      const owner =
        node.depth === 0 && first !== undefined
          ? [...scopes].reverse().find((s) => s.blockParams.has(first))
          : undefined;
      if (owner && first !== undefined) {
        shape = owner.blockParams.get(first) as Shape;
        walked = [first];
        parts = parts.slice(1);
      } else {
        shape = scope.shape;
      }
      if (index === 0 && node.depth === 0 && !owner && first !== undefined) this.roots.add(first);
    }
    for (const part of parts) {
      const here = walked.join('.');
      switch (shape.type) {
        case 'any':
          return ANY;
        case 'value':
          this.report(node, `"${here}" is a value; it has no "${part}" (in "${node.original}")`);
          return ANY;
        case 'array':
          if (/^\d+$/.test(part)) shape = shape.items;
          else if (part === 'length') shape = VALUE;
          else {
            this.report(node, `"${here}" is a list; use {{#each ${here}}} to read "${part}" of its items`);
            return ANY;
          }
          break;
        case 'object': {
          const next = shape.props[part];
          if (next) shape = next;
          else if (shape.open) return ANY;
          else {
            const name = [...walked, part].join('.');
            const known = Object.keys(shape.props);
            const near = closest(part, known);
            const list = known.length > 12 ? `${known.slice(0, 12).join(', ')}, ...` : known.join(', ');
            this.report(
              node,
              `unknown variable "${name}"${name === node.original ? '' : ` (in "${node.original}")`}`,
              `${near === undefined ? '' : `did you mean "${[...walked, near].join('.')}"? `}known ${here ? `fields of ${here}` : 'variables here'}: ${list || 'none'}`,
            );
            return ANY;
          }
          break;
        }
      }
      walked.push(part);
    }
    return shape;
  }
}

function describeParts(templatesDir: string, name: string) {
  const folder = path.join(templatesDir, name);
  let files: string[];
  try {
    files = fs.readdirSync(folder);
  } catch {
    return undefined;
  }
  return { folder, files: files.filter((f) => TEMPLATE_FILE.test(f)).sort() };
}

/** Checks one template (all parts and locale variants) for one context shape. */
function checkTemplate(templatesDir: string, ref: Reference): { found: Found[]; roots: Set<string> } {
  const relative = (file: string) => path.relative(path.dirname(templatesDir), file) || file;
  const walker = new Walker(templatesDir, relative);
  const parts = describeParts(templatesDir, ref.template);
  if (!/^[\w-]+$/.test(ref.template) || !parts) {
    walker.found.push({
      message: `template "${ref.template}" does not exist`,
      hint: `create the folder ${relative(path.join(templatesDir, ref.template))} with subject.hbs and text.hbs and/or html.hbs`,
      severity: 'error',
      structural: true,
    });
    return { found: walker.found, roots: walker.roots };
  }
  const has = (part: string) => parts.files.some((f) => f.startsWith(`${part}.`));
  if (!has('subject') || !(has('text') || has('html'))) {
    walker.found.push({
      message: `template "${ref.template}" is incomplete: it needs subject.hbs and text.hbs and/or html.hbs`,
      severity: 'error',
      structural: true,
    });
  }
  const layoutsChecked = new Set<string>();
  for (const file of parts.files) {
    const full = path.join(parts.folder, file);
    const source = fs.readFileSync(full, 'utf8');
    walker.file(full, source, ref.shape);
    const part = file.split('.')[0] as string;
    if (part === 'subject') continue;
    const layout = layoutDirective(source) ?? 'default';
    if (layout === 'none') continue;
    const layoutFolder = path.join(templatesDir, '_layouts', layout);
    const layoutFiles = (describeParts(path.join(templatesDir, '_layouts'), layout)?.files ?? []).filter(
      (f) => f.startsWith(`${part}.`),
    );
    if (layoutFiles.length === 0) {
      if (layout !== 'default') {
        walker.found.push({
          message: `${relative(full)}:1: uses the layout "${layout}", which has no ${part}.hbs`,
          hint: `create ${relative(path.join(layoutFolder, `${part}.hbs`))} with {{{body}}} where the part goes`,
          severity: 'error',
          structural: false,
        });
      }
      continue;
    }
    for (const layoutFile of layoutFiles) {
      const key = `${layout}/${layoutFile}`;
      if (layoutsChecked.has(key)) continue;
      layoutsChecked.add(key);
      const layoutPath = path.join(layoutFolder, layoutFile);
      walker.file(layoutPath, fs.readFileSync(layoutPath, 'utf8'), ref.shape, { body: VALUE });
    }
  }
  return { found: walker.found, roots: walker.roots };
}

/** Fixed addresses among the recipients of every email the definition sends, validated per RFC 3696. */
function addressIssues(def: CaseTypeDefinition, file: string): DefinitionIssue[] {
  const out: DefinitionIssue[] = [];
  const check = (action: Partial<EmailAction> | undefined, base: string) => {
    for (const field of ['to', 'cc', 'bcc'] as const) {
      (action?.[field] ?? []).forEach((ref, i) => {
        if (typeof ref !== 'string' || !ref.includes('@') || /^(user|contact):/.test(ref)) return;
        const problem = emailAddressProblem(ref);
        if (problem !== null)
          out.push(issue(file, `${base}/${field}/${i}`, `"${ref}" is not a valid email address: ${problem}`));
      });
    }
  };
  (def.emailRules ?? []).forEach((rule, i) => check(rule, `/emailRules/${i}`));
  for (const [id, step] of Object.entries(def.steps ?? {})) {
    const base = `/steps/${escapePointer(id)}`;
    if (step.type === 'automatic')
      (step.do ?? []).forEach((a, i) => 'email' in a && check(a.email, `${base}/do/${i}/email`));
    if (step.type === 'human')
      (step.escalations ?? []).forEach((e, i) => check(e.notify, `${base}/escalations/${i}/notify`));
  }
  return out;
}

/**
 * Checks every template `def` references against `templatesDir`, and the fixed recipient addresses. Issues carry the definition `file`, the
 * pointer of the reference, and in the message the template file with line and column.
 */
export function checkTemplates(
  def: CaseTypeDefinition,
  file: string,
  templatesDir: string,
  options: TemplateCheckOptions = {},
): DefinitionIssue[] {
  const structure = options.structure ?? true;
  const out: DefinitionIssue[] = [];
  const checked = new Map<string, ReturnType<typeof checkTemplate>>();
  const reported = new Set<string>();
  out.push(...addressIssues(def, file));
  for (const ref of references(def)) {
    const key = `${ref.template}|${ref.shapeKey}`;
    const first = !checked.has(key);
    const result = checked.get(key) ?? checkTemplate(templatesDir, ref);
    checked.set(key, result);
    if (first) {
      for (const f of result.found) {
        // A problem that does not depend on the context (a parse error, a missing partial) is reported once.
        if ((f.structural && !structure) || reported.has(f.message)) continue;
        reported.add(f.message);
        out.push(issue(file, ref.pointer, f.message, f.hint, f.severity));
      }
    }
    if (ref.marketing && !result.roots.has('unsubscribe') && !result.found.some((f) => f.structural)) {
      out.push(
        issue(
          file,
          ref.pointer,
          `marketing template "${ref.template}" has no unsubscribe link in its body`,
          'add {{unsubscribe.url}} to the template or its layout (the List-Unsubscribe header is sent anyway)',
          'warning',
        ),
      );
    }
  }
  return out;
}
