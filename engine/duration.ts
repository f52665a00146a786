/** ISO 8601 durations and date arithmetic, deterministic (no clock reads). */

const DURATION =
  /^(-)?P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

export interface ParsedDuration {
  sign: 1 | -1;
  years: number;
  months: number;
  weeks: number;
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
}

/** Parses an ISO 8601 duration; returns undefined when the text is not one. */
export function parseDuration(text: string): ParsedDuration | undefined {
  const m = DURATION.exec(text);
  if (!m || text === 'P' || text.endsWith('T') || text === '-P') return undefined;
  const n = (i: number): number => (m[i] ? Number(m[i]) : 0);
  return {
    sign: m[1] ? -1 : 1,
    years: n(2),
    months: n(3),
    weeks: n(4),
    days: n(5),
    hours: n(6),
    minutes: n(7),
    seconds: n(8),
  };
}

/** Adds a duration (calendar-aware for years and months, in UTC) to an epoch time in milliseconds. */
export function addDuration(epochMs: number, duration: string): number {
  const d = parseDuration(duration);
  if (!d) throw new RangeError(`Not an ISO 8601 duration: "${duration}"`);
  const date = new Date(epochMs);
  if (d.years || d.months) {
    date.setUTCMonth(date.getUTCMonth() + d.sign * (d.years * 12 + d.months));
  }
  const ms = ((d.weeks * 7 + d.days) * 86_400 + d.hours * 3600 + d.minutes * 60 + d.seconds) * 1000 * d.sign;
  return date.getTime() + ms;
}
