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
