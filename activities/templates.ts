import fs from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { TemplateError } from './errors';

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

type Compiled = {
  subject: HandlebarsTemplateDelegate;
  text?: HandlebarsTemplateDelegate;
  html?: HandlebarsTemplateDelegate;
};

function readIfExists(file: string): string | undefined {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
}

/** Number formatting in the recipient's locale. */
function registerHelpers(hbs: typeof Handlebars): void {
  const locale = (options: Handlebars.HelperOptions): string =>
    ((options.data?.root as { locale?: string } | undefined)?.locale ?? 'en') as string;
  hbs.registerHelper('money', (amount: unknown, currency: unknown, options: Handlebars.HelperOptions) => {
    const value = Number(amount);
    if (!Number.isFinite(value)) return '';
    const code = typeof currency === 'string' && /^[A-Z]{3}$/.test(currency) ? currency : 'EUR';
    return new Intl.NumberFormat(locale(options), { style: 'currency', currency: code }).format(value);
  });
  hbs.registerHelper('number', (value: unknown, options: Handlebars.HelperOptions) => {
    const n = Number(value);
    return Number.isFinite(n) ? new Intl.NumberFormat(locale(options)).format(n) : '';
  });
  hbs.registerHelper('date', (value: unknown, options: Handlebars.HelperOptions) => {
    if (value === undefined || value === null || value === '') return '';
    const d = new Date(value as string);
    if (Number.isNaN(d.getTime())) return '';
    return new Intl.DateTimeFormat(locale(options), { dateStyle: 'long', timeZone: 'UTC' }).format(d);
  });
}

/** Loads and compiles the templates of `definitions/templates/` once; renders them per message. */
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

  private compile(name: string, locale: string): Compiled {
    const key = `${name}|${locale}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    if (!/^[\w-]+$/.test(name)) throw new TemplateError(`Invalid template name "${name}"`);
    const folder = path.join(this.dir, name);
    const part = (part: string): string | undefined =>
      readIfExists(path.join(folder, `${part}.${locale}.hbs`)) ??
      readIfExists(path.join(folder, `${part}.hbs`));
    const subject = part('subject');
    if (subject === undefined) throw new TemplateError(`Template "${name}" has no subject.hbs in ${folder}`);
    const text = part('text');
    const html = part('html');
    if (text === undefined && html === undefined)
      throw new TemplateError(`Template "${name}" has neither text.hbs nor html.hbs`);
    try {
      const compiled: Compiled = {
        subject: this.hbs.compile(subject.trim(), { noEscape: true, strict: false }),
      };
      if (text !== undefined) compiled.text = this.hbs.compile(text, { noEscape: true });
      if (html !== undefined) compiled.html = this.hbs.compile(html);
      this.cache.set(key, compiled);
      return compiled;
    } catch (err) {
      throw new TemplateError(`Template "${name}" does not compile: ${(err as Error).message}`);
    }
  }

  /** Renders a template for one recipient locale. */
  render(name: string, context: Record<string, unknown>, locale = 'en'): RenderedEmail {
    const compiled = this.compile(name, locale);
    const root = { ...context, locale };
    try {
      const subject = compiled.subject(root).replace(/\s+/g, ' ').trim();
      const html = compiled.html ? compiled.html(root) : '';
      const text = compiled.text ? compiled.text(root) : html.replace(/<[^>]+>/g, '');
      return { subject, text, html };
    } catch (err) {
      throw new TemplateError(`Template "${name}" failed to render: ${(err as Error).message}`);
    }
  }
}
