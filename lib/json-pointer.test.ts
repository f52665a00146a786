import { decodeCursor, encodeCursor } from './cursor';
import { escapePointer, pointerTo } from './json-pointer';
import { fieldErrors, validatorFor } from './json-validation';

describe('JSON pointers (RFC 6901)', () => {
  it('escapes ~ before /, so each token reads back as it was', () => {
    expect(escapePointer('a/b~c')).toBe('a~1b~0c');
    expect(escapePointer('~1')).toBe('~01');
    expect(pointerTo('/body', 'lines', 0, 'a/b')).toBe('/body/lines/0/a~1b');
    expect(pointerTo('/query')).toBe('/query');
  });

  it('points validation errors at the exact property, missing or not allowed, names with / and ~ included', () => {
    const schema = {
      type: 'object',
      properties: { 'a/b': { type: 'string' } },
      required: ['a/b'],
      additionalProperties: false,
    };
    const validate = validatorFor(schema);
    expect(validate({ 'x~y': 1 })).toBe(false);
    expect(
      fieldErrors(validate.errors, '/body')
        .map((e) => e.pointer)
        .sort(),
    ).toEqual(['/body/a~1b', '/body/x~0y']);
  });
});

describe('cursors', () => {
  it('carry any JSON value and read back only what was encoded', () => {
    const value = { v: 1, k: ['2026-12-04 10:00:00+00', 'T-1'], h: 'abc' };
    expect(decodeCursor(encodeCursor(value))).toEqual(value);
    expect(decodeCursor(encodeCursor(['u1']))).toEqual(['u1']);
    expect(decodeCursor('not a cursor!')).toBeUndefined();
    expect(decodeCursor(Buffer.from('{"broken', 'utf8').toString('base64url'))).toBeUndefined();
  });
});
