import { isoTimestamp } from './index';

describe('isoTimestamp', () => {
  it('prints what Date#toISOString prints for every form Postgres sends', () => {
    const texts = [
      '2026-11-28 07:33:10.123456+00',
      '2026-11-28 07:33:10.1+00',
      '2026-11-28 07:33:10.999999+00',
      '2026-11-28 07:33:10+00',
      '2026-02-28 23:59:59.000500+00',
      '0999-01-01 00:00:00+00',
      '2026-11-28 08:33:10.123456+01',
      '2026-11-28 02:03:10.5-05:30',
    ];
    for (const text of texts) expect(isoTimestamp(text)).toBe(new Date(text).toISOString());
  });

  it('agrees with Date over a year of instants at random sub-millisecond precision', () => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 5000; i++) {
      const at = new Date(Date.UTC(2026, 0, 1) + Math.floor(random() * 365 * 86_400_000));
      const micros = String(Math.floor(random() * 1_000_000)).padStart(6, '0');
      const digits = micros.slice(0, 1 + Math.floor(random() * 6)).replace(/0+$/, '');
      const text = `${at.toISOString().slice(0, 10)} ${at.toISOString().slice(11, 19)}${digits ? `.${digits}` : ''}+00`;
      expect(isoTimestamp(text)).toBe(new Date(text).toISOString());
    }
  });
});
