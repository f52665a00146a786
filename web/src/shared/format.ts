/** Dates, numbers and money through Intl, in the signed-in person's language and time zone. */
export interface Formatter {
  dateTime(iso: string): string;
  date(iso: string): string;
  time(iso: string): string;
  /** "in 3 days", "2 hours ago". */
  relative(iso: string, now?: number): string;
  number(n: number): string;
  money(amount: number, currency: string): string;
  /** The calendar day (YYYY-MM-DD) of an instant in the time zone. */
  day(iso: string | number): string;
}

export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 86400_000],
  ['month', 30 * 86400_000],
  ['week', 7 * 86400_000],
  ['day', 86400_000],
  ['hour', 3600_000],
  ['minute', 60_000],
];

export function createFormatter(locale: string, timeZone: string): Formatter {
  const dateTime = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone });
  const date = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeZone });
  const time = new Intl.DateTimeFormat(locale, { timeStyle: 'short', timeZone });
  const day = new Intl.DateTimeFormat('en-CA', {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    timeZone,
  });
  const rel = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  const number = new Intl.NumberFormat(locale);
  return {
    dateTime: (iso) => dateTime.format(new Date(iso)),
    date: (iso) => date.format(new Date(iso)),
    time: (iso) => time.format(new Date(iso)),
    relative(iso, now = Date.now()) {
      const diff = Date.parse(iso) - now;
      for (const [unit, ms] of UNITS) {
        if (Math.abs(diff) >= ms) return rel.format(Math.round(diff / ms), unit);
      }
      return rel.format(0, 'minute');
    },
    number: (n) => number.format(n),
    money: (amount, currency) =>
      new Intl.NumberFormat(locale, { style: 'currency', currency }).format(amount),
    day: (iso) => day.format(new Date(iso)),
  };
}

/** The offset of a time zone from UTC at an instant, in ms (Europe/Madrid in July: +2 h). */
function zoneOffset(instant: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(instant));
  const n = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const wall = Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second'));
  return wall - (instant - (instant % 1000));
}

/** An instant as a `datetime-local` input shows it in the time zone: `2027-01-31T09:30`. */
export function toZonedInput(iso: string | null | undefined, timeZone: string): string {
  if (!iso) return '';
  const instant = Date.parse(iso);
  const wall = new Date(instant + zoneOffset(instant, timeZone));
  return wall.toISOString().slice(0, 16);
}

/**
 * A `datetime-local` value read as a wall-clock time in the time zone, as an ISO instant; '' for an empty
 * input. A time that a clock change skips resolves to the offset before the change.
 */
export function fromZonedInput(local: string, timeZone: string): string {
  if (!local) return '';
  const wall = Date.parse(`${local}Z`);
  if (Number.isNaN(wall)) return '';
  const first = wall - zoneOffset(wall, timeZone);
  const second = wall - zoneOffset(first, timeZone);
  return new Date(second).toISOString();
}
