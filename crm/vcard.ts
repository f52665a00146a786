/**
 * vCard (.vcf) business cards to contact inputs. Parsing is ical.js (vCard 3.0 and 4.0); vCard 2.1 cards,
 * which phones still export, are first normalized (bare `;CELL` parameters, QUOTED-PRINTABLE values).
 */
import ICAL from 'ical.js';
import type { ContactInput } from './contacts';

export interface ParsedCard {
  /** 1-based position of the card in the file. */
  card: number;
  /** Line of the file where the card begins. */
  line: number;
  contact?: ContactInput;
  error?: string;
}

/** Splits a file into its BEGIN:VCARD ... END:VCARD blocks, with their first line numbers. */
function blocks(text: string): { line: number; text: string }[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const out: { line: number; text: string }[] = [];
  let current: { line: number; lines: string[] } | undefined;
  lines.forEach((raw, i) => {
    const upper = raw.trim().toUpperCase();
    if (upper === 'BEGIN:VCARD') current = { line: i + 1, lines: [] };
    if (current) current.lines.push(raw);
    if (upper === 'END:VCARD' && current) {
      out.push({ line: current.line, text: current.lines.join('\r\n') });
      current = undefined;
    }
  });
  if (current) out.push({ line: current.line, text: current.lines.join('\r\n') });
  return out;
}

function decodeQuotedPrintable(value: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] as string;
    const hex = value.slice(i + 1, i + 3);
    if (ch === '=' && /^[0-9A-F]{2}$/i.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(ch, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Rewrites vCard 2.1 syntax that ical.js rejects into its 3.0 equivalent. */
function normalize21(card: string): string {
  // QUOTED-PRINTABLE soft line breaks end a line with "=" and continue on the next one.
  const unfolded = card.replace(/=\r\n/g, '');
  return unfolded
    .split('\r\n')
    .map((line) => {
      const colon = line.indexOf(':');
      if (colon <= 0) return line;
      const [name, ...params] = line.slice(0, colon).split(';');
      let value = line.slice(colon + 1);
      const kept: string[] = [];
      for (const param of params) {
        if (/^ENCODING=QUOTED-PRINTABLE$/i.test(param)) value = decodeQuotedPrintable(value);
        else if (/^CHARSET=/i.test(param)) continue;
        else kept.push(param.includes('=') ? param : `TYPE=${param}`);
      }
      return [name, ...kept].join(';') + ':' + value;
    })
    .join('\r\n');
}

type Property = InstanceType<typeof ICAL.Property>;

/** The preferred property of a name: TYPE=pref (3.0) or PREF=1 (4.0) first, then the first one. */
function preferred(props: Property[]): Property | undefined {
  const isPref = (p: Property) => {
    const types = ([] as unknown[]).concat(p.getParameter('type') ?? []).map((t) => String(t).toLowerCase());
    return types.includes('pref') || String(p.getParameter('pref') ?? '') === '1';
  };
  return props.find(isPref) ?? props[0];
}

function textOf(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  const s = (Array.isArray(value) ? value.filter(Boolean).join(' ') : String(value)).trim();
  return s === '' ? undefined : s;
}

/** Maps one parsed card to a contact; throws when the card has no usable name. */
function toContact(component: InstanceType<typeof ICAL.Component>): ContactInput {
  const nameParts = component.getFirstPropertyValue('n') as unknown;
  const fromN = Array.isArray(nameParts)
    ? textOf([nameParts[1], nameParts[2], nameParts[0]].flat())
    : undefined;
  const name = textOf(component.getFirstPropertyValue('fn')) ?? fromN;
  if (!name) throw new Error('the card has no name (FN or N)');
  const contact: ContactInput = { name, source: 'vcard' };
  const email = textOf(preferred(component.getAllProperties('email'))?.getFirstValue());
  if (email) contact.email = email.replace(/^mailto:/i, '');
  const phone = textOf(preferred(component.getAllProperties('tel'))?.getFirstValue());
  if (phone) contact.phone = phone.replace(/^tel:/i, '');
  const title = textOf(component.getFirstPropertyValue('title'));
  if (title) contact.jobTitle = title;
  const role = textOf(component.getFirstPropertyValue('role'));
  if (role) contact.roles = [role];
  const lang = textOf(component.getFirstPropertyValue('lang'));
  if (lang) contact.locale = lang;
  const custom: Record<string, unknown> = {};
  const org = component.getFirstPropertyValue('org') as unknown;
  const department = Array.isArray(org) ? textOf(org.slice(1)) : undefined;
  if (department) custom.department = department;
  const bday = textOf(component.getFirstPropertyValue('bday'));
  if (bday && /^\d{4}-\d{2}-\d{2}/.test(bday)) custom.birthday = bday.slice(0, 10);
  const note = textOf(component.getFirstPropertyValue('note'));
  if (note) custom.notes = note;
  const linkedin = component
    .getAllProperties('url')
    .map((p) => textOf(p.getFirstValue()))
    .find((u) => u !== undefined && /linkedin\.com/i.test(u));
  if (linkedin) custom.linkedin = linkedin;
  if (Object.keys(custom).length > 0) contact.custom = custom;
  return contact;
}

/** Parses every card of a .vcf file; a card that cannot be read is reported, not thrown. */
export function parseVcards(text: string): ParsedCard[] {
  return blocks(text).map((block, i): ParsedCard => {
    const card = i + 1;
    try {
      const source = /\r\nVERSION:2\.1\r\n/i.test(block.text) ? normalize21(block.text) : block.text;
      const parsed = ICAL.parse(source) as unknown[];
      const component = new ICAL.Component(parsed as never);
      if (component.name !== 'vcard') throw new Error('not a vCard');
      return { card, line: block.line, contact: toContact(component) };
    } catch (err) {
      return { card, line: block.line, error: vcardMessage((err as Error).message) };
    }
  });
}

/** The parser's (ical.js) messages in the terms of a vCard file, never naming the library or iCalendar. */
function vcardMessage(message: string): string {
  if (/component began but did not end/.test(message)) return 'the card has BEGIN:VCARD but no END:VCARD';
  const line = /^invalid line \(no token ";" or ":"\) (".*")$/.exec(message);
  if (line) return `a line has no ":" between its name and value: ${line[1]}`;
  return message.replace(/\bical\b/gi, 'vCard');
}
