import fs from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { TemplateError } from './errors';

/**
 * Email templates: `definitions/templates/<name>/` holds `subject.hbs` and `text.hbs` and/or `html.hbs`, each
 * optionally in locale variants (`html.es.hbs`, `html.es-MX.hbs`). Partials live in `_partials/<name>.hbs`.
 * Layouts live in `_layouts/<name>/{html,text}[.<locale>].hbs` and receive the rendered part as `{{{body}}}`;
 * `_layouts/default/` wraps every part unless the part starts with `{{!< other}}` or `{{!< none}}`.
 * Helpers format in the recipient's locale (`@root.locale`) and time zone (`@root.timezone`, default UTC).
 */

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
  /** The locale the parts were chosen and formatted for. */
  locale: string;
}

export type TemplatePart = 'subject' | 'text' | 'html';

/** Helpers this store registers, besides Handlebars' built-ins; the publish-time check knows them. */
export const EMAIL_HELPERS = ['money', 'number', 'percent', 'date', 'datetime', 'default', 'eq'] as const;
export const BUILTIN_HELPERS = ['if', 'unless', 'each', 'with', 'lookup', 'log'] as const;

const LAYOUT_DIRECTIVE = /^\s*\{\{!<\s*([\w-]+)\s*\}\}[ \t]*\r?\n?/;
const NAME = /^[\w-]+$/;

/** Locale variants to try, most specific first: `es-MX` -> [`es-MX`, `es`]. */
export function localeCandidates(locale: string | undefined): string[] {
  if (!locale) return [];
  const parts = locale.split(/[-_]/);
  const out: string[] = [];
  for (let i = parts.length; i > 0; i -= 1) out.push(parts.slice(0, i).join('-'));
  return out.filter((l) => /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(l));
}

/** The layout a part asks for with `{{!< name}}` on its first line, or undefined for the default. */
export function layoutDirective(source: string): string | undefined {
  return LAYOUT_DIRECTIVE.exec(source)?.[1];
}

function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Reads `<folder>/<part>.<locale>.hbs`, falling back to less specific locales and then `<part>.hbs`. */
export function readPart(
  folder: string,
  part: string,
  locale: string | undefined,
): { file: string; source: string } | undefined {
  for (const candidate of [...localeCandidates(locale).map((l) => `${part}.${l}.hbs`), `${part}.hbs`]) {
    const source = readIfExists(path.join(folder, candidate));
    if (source !== undefined) return { file: path.join(folder, candidate), source };
  }
  return undefined;
}

function rootOf(options: Handlebars.HelperOptions): { locale?: string; timezone?: string } {
  return (options.data?.root as { locale?: string; timezone?: string } | undefined) ?? {};
}

function toDate(value: unknown): Date | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const d = value instanceof Date ? value : new Date(value as string | number);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function safeFormat(fn: () => string): string {
  try {
    return fn();
  } catch {
    return '';
  }
}

/** Registers the locale-aware helpers (money, number, percent, date, datetime) and default, eq. */
function registerHelpers(hbs: typeof Handlebars): void {
  const locale = (o: Handlebars.HelperOptions): string => rootOf(o).locale ?? 'en';
  const timeZone = (o: Handlebars.HelperOptions): string =>
    (o.hash as { tz?: string }).tz ?? rootOf(o).timezone ?? 'UTC';
  // `{{money amount currency}}`: currency defaults to EUR.
  hbs.registerHelper('money', (amount: unknown, ...rest: unknown[]) => {
    const options = rest.pop() as Handlebars.HelperOptions;
    const value = Number(amount);
    if (amount === null || amount === undefined || amount === '' || !Number.isFinite(value)) return '';
    const currency = typeof rest[0] === 'string' && /^[A-Z]{3}$/.test(rest[0]) ? rest[0] : 'EUR';
    return safeFormat(() =>
      new Intl.NumberFormat(locale(options), { style: 'currency', currency }).format(value),
    );
  });
  // `{{number value}}` or `{{number value 2}}` (fixed decimals).
  hbs.registerHelper('number', (input: unknown, ...rest: unknown[]) => {
    const options = rest.pop() as Handlebars.HelperOptions;
    const value = Number(input);
    if (input === null || input === undefined || input === '' || !Number.isFinite(value)) return '';
    const decimals = typeof rest[0] === 'number' ? rest[0] : undefined;
    return safeFormat(() =>
      new Intl.NumberFormat(
        locale(options),
        decimals === undefined ? {} : { minimumFractionDigits: decimals, maximumFractionDigits: decimals },
      ).format(value),
    );
  });
  // `{{percent 35}}` -> 35 % (es) / 35% (en): the value is in percent, as case probabilities are.
  hbs.registerHelper('percent', (input: unknown, options: Handlebars.HelperOptions) => {
    const value = Number(input);
    if (input === null || input === undefined || input === '' || !Number.isFinite(value)) return '';
    return safeFormat(() =>
      new Intl.NumberFormat(locale(options), { style: 'percent', maximumFractionDigits: 1 }).format(
        value / 100,
      ),
    );
  });
  // `{{date value}}` (long date) or `{{date value "short"}}`; `tz="Europe/Madrid"` overrides the zone.
  hbs.registerHelper('date', (input: unknown, ...rest: unknown[]) => {
    const options = rest.pop() as Handlebars.HelperOptions;
    const d = toDate(input);
    if (!d) return '';
    const style = ['full', 'long', 'medium', 'short'].includes(rest[0] as string) ? rest[0] : 'long';
    return safeFormat(() =>
      new Intl.DateTimeFormat(locale(options), {
        dateStyle: style as 'long',
        timeZone: timeZone(options),
      }).format(d),
    );
  });
  // `{{datetime value}}`: date and time.
  hbs.registerHelper('datetime', (input: unknown, options: Handlebars.HelperOptions) => {
    const d = toDate(input);
    if (!d) return '';
    return safeFormat(() =>
      new Intl.DateTimeFormat(locale(options), {
        dateStyle: 'long',
        timeStyle: 'short',
        timeZone: timeZone(options),
      }).format(d),
    );
  });
  // `{{default value "fallback"}}`
  hbs.registerHelper('default', (value: unknown, fallback: unknown) =>
    value === undefined || value === null || value === '' ? fallback : value,
  );
  // `{{#if (eq rule.trigger "taskOverdue")}}`
  hbs.registerHelper('eq', (a: unknown, b: unknown) => a === b);
}

interface CompiledPart {
  body: HandlebarsTemplateDelegate;
  layout?: HandlebarsTemplateDelegate;
}

interface Compiled {
  subject: HandlebarsTemplateDelegate;
  text?: CompiledPart;
  html?: CompiledPart;
}

/** Loads and compiles the templates of `definitions/templates/` on first use; renders them per message. */
export class TemplateStore {
  private readonly hbs = Handlebars.create();
  private readonly cache = new Map<string, Compiled>();

  constructor(readonly dir: string) {
    registerHelpers(this.hbs);
    const partials = path.join(dir, '_partials');
    if (fs.existsSync(partials)) {
      for (const file of fs.readdirSync(partials).filter((f) => f.endsWith('.hbs'))) {
        this.hbs.registerPartial(
          path.basename(file, '.hbs'),
          fs.readFileSync(path.join(partials, file), 'utf8'),
        );
      }
    }
  }

  /** Whether a template folder exists. */
  has(name: string): boolean {
    return NAME.test(name) && fs.existsSync(path.join(this.dir, name, 'subject.hbs'));
  }

  private compilePart(name: string, part: 'text' | 'html', locale: string): CompiledPart | undefined {
    const found = readPart(path.join(this.dir, name), part, locale);
    if (!found) return undefined;
    const options = part === 'text' ? { noEscape: true } : {};
    const compiled: CompiledPart = { body: this.hbs.compile(found.source, options) };
    const layoutName = layoutDirective(found.source) ?? 'default';
    if (layoutName === 'none') return compiled;
    if (!NAME.test(layoutName)) throw new TemplateError(`Template "${name}": invalid layout "${layoutName}"`);
    const layout = readPart(path.join(this.dir, '_layouts', layoutName), part, locale);
    if (!layout && layoutName !== 'default')
      throw new TemplateError(`Template "${name}/${path.basename(found.file)}": no layout "${layoutName}"`);
    if (layout) compiled.layout = this.hbs.compile(layout.source, options);
    return compiled;
  }

  private compile(name: string, locale: string): Compiled {
    const key = `${name}|${locale}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    if (!NAME.test(name)) throw new TemplateError(`Invalid template name "${name}"`);
    const folder = path.join(this.dir, name);
    const subject = readPart(folder, 'subject', locale);
    if (subject === undefined) throw new TemplateError(`Template "${name}" has no subject.hbs in ${folder}`);
    try {
      const compiled: Compiled = {
        subject: this.hbs.compile(subject.source.trim(), { noEscape: true }),
      };
      const text = this.compilePart(name, 'text', locale);
      const html = this.compilePart(name, 'html', locale);
      if (text === undefined && html === undefined)
        throw new TemplateError(`Template "${name}" has neither text.hbs nor html.hbs`);
      if (text) compiled.text = text;
      if (html) compiled.html = html;
      this.cache.set(key, compiled);
      return compiled;
    } catch (err) {
      if (err instanceof TemplateError) throw err;
      throw new TemplateError(`Template "${name}" does not compile: ${(err as Error).message}`);
    }
  }

  /** Renders a template for one recipient locale. Throws TemplateError when it is missing or broken. */
  render(name: string, context: Record<string, unknown>, locale = 'en'): RenderedEmail {
    const compiled = this.compile(name, locale);
    const root = { ...context, locale };
    const renderPart = (part: CompiledPart, body?: string): string => {
      const inner = body ?? part.body(root);
      return part.layout ? part.layout({ ...root, body: inner }) : inner;
    };
    try {
      const subject = compiled.subject(root).replace(/\s+/g, ' ').trim();
      const html = compiled.html ? renderPart(compiled.html) : '';
      const text = compiled.text
        ? renderPart(compiled.text)
        : htmlToText(compiled.html ? compiled.html.body(root) : '');
      return { subject, text, html, locale };
    } catch (err) {
      throw new TemplateError(`Template "${name}" failed to render: ${(err as Error).message}`);
    }
  }
}

/** A plain-text fallback for templates with only an HTML part. */
function htmlToText(html: string): string {
  return html
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div|h[1-6]|li|tr)>/gi, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
