import { decimalMarkOf, parseDecimal } from './spreadsheet';

describe('parseDecimal', () => {
  it.each([
    ['1.234,5', 1234.5],
    ['1234,50', 1234.5],
    ['1.234', 1234],
    ['1.234.567,25', 1234567.25],
    ['-0,5', -0.5],
    ['1 234,5', 1234.5],
    ['1\u00a0234,5', 1234.5],
    ['12', 12],
  ])('reads "%s" with a decimal comma as %d', (text, expected) => {
    expect(parseDecimal(text, ',')).toBe(expected);
  });

  it.each([
    ['1,234.5', 1234.5],
    ['1234.50', 1234.5],
    ['1.234', 1.234],
    ['1,234,567.25', 1234567.25],
    ['+3', 3],
  ])('reads "%s" with a decimal point as %d', (text, expected) => {
    expect(parseDecimal(text, '.')).toBe(expected);
  });

  it.each([
    ['1,234.5', ','],
    ['1.23,5', ','],
    ['12abc', ','],
    ['1.234,5', '.'],
    ['1234,5', '.'],
    ['1,23', '.'],
    ['', '.'],
    ['1e3', '.'],
  ] as const)('refuses "%s" with "%s" as the decimal mark', (text, mark) => {
    expect(parseDecimal(text, mark)).toBeNull();
  });
});

describe('decimalMarkOf', () => {
  it('gives the comma to Spanish and the point to English and unknown locales', () => {
    expect(decimalMarkOf('es')).toBe(',');
    expect(decimalMarkOf('es-ES')).toBe(',');
    expect(decimalMarkOf('en')).toBe('.');
    expect(decimalMarkOf(null)).toBe('.');
  });
});
