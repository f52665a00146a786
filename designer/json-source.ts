import { escapePointer } from '../engine/conditions';

/** A JSON text parsed for designers: syntax errors carry a line and column, duplicate keys are reported. */
export type ParsedSource =
  | { ok: true; value: unknown; duplicateKeys: { pointer: string; key: string; line: number }[] }
  | { ok: false; message: string; line: number; column: number };

const MAX_DEPTH = 200;

class SyntaxProblem extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/**
 * Parses JSON text. `JSON.parse` in Node 20 often omits the position of an error and silently keeps
 * the last of duplicate keys (a duplicated step id would vanish), so this scanner checks the text first.
 */
export function parseJsonSource(text: string): ParsedSource {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const duplicateKeys: { pointer: string; key: string; line: number }[] = [];
  let pos = 0;

  const lineOf = (offset: number): { line: number; column: number } => {
    let line = 1;
    let start = 0;
    for (let i = 0; i < offset && i < source.length; i += 1) {
      if (source[i] === '\n') {
        line += 1;
        start = i + 1;
      }
    }
    return { line, column: offset - start + 1 };
  };
  const describe = (offset: number): string =>
    offset >= source.length ? 'end of file' : `"${source[offset] ?? ''}"`;
  const fail = (message: string): never => {
    throw new SyntaxProblem(message, pos);
  };
  const skipSpace = (): void => {
    while (pos < source.length && ' \t\n\r'.includes(source[pos] as string)) pos += 1;
  };
  const expect = (char: string, what: string): void => {
    skipSpace();
    if (source[pos] !== char) fail(`expected ${what} but found ${describe(pos)}`);
    pos += 1;
  };

  const readString = (): string => {
    const start = pos;
    pos += 1;
    while (pos < source.length) {
      const c = source[pos] as string;
      if (c === '"') {
        pos += 1;
        return JSON.parse(source.slice(start, pos)) as string;
      }
      if (c === '\\') {
        const n = source[pos + 1];
        if (n === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(source.slice(pos + 2, pos + 6))) fail('invalid \\u escape in string');
          pos += 6;
          continue;
        }
        if (n === undefined || !'"\\/bfnrt'.includes(n)) {
          pos += 1;
          fail(`invalid escape "\\${n ?? ''}" in string`);
        }
        pos += 2;
        continue;
      }
      if (c === '\n') fail('unterminated string (line break inside a string)');
      if (c.charCodeAt(0) < 0x20) fail('control character inside a string');
      pos += 1;
    }
    pos = start;
    return fail('unterminated string');
  };

  const readValue = (pointer: string, depth = 0): void => {
    if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH} levels`);
    skipSpace();
    const c = source[pos];
    if (c === '{') {
      pos += 1;
      const seen = new Set<string>();
      skipSpace();
      if (source[pos] === '}') {
        pos += 1;
        return;
      }
      for (;;) {
        skipSpace();
        if (source[pos] !== '"') {
          fail(
            source[pos] === '}'
              ? 'trailing comma before "}"'
              : `expected a property name in double quotes but found ${describe(pos)}`,
          );
        }
        const keyAt = pos;
        const key = readString();
        const childPointer = `${pointer}/${escapePointer(key)}`;
        if (seen.has(key)) duplicateKeys.push({ pointer: childPointer, key, line: lineOf(keyAt).line });
        seen.add(key);
        expect(':', '":" after a property name');
        readValue(childPointer, depth + 1);
        skipSpace();
        if (source[pos] === ',') {
          pos += 1;
          continue;
        }
        if (source[pos] === '}') {
          pos += 1;
          return;
        }
        fail(`expected "," or "}" after a property value but found ${describe(pos)}`);
      }
    }
    if (c === '[') {
      pos += 1;
      skipSpace();
      if (source[pos] === ']') {
        pos += 1;
        return;
      }
      for (let i = 0; ; i += 1) {
        skipSpace();
        if (source[pos] === ']') fail('trailing comma before "]"');
        readValue(`${pointer}/${i}`, depth + 1);
        skipSpace();
        if (source[pos] === ',') {
          pos += 1;
          continue;
        }
        if (source[pos] === ']') {
          pos += 1;
          return;
        }
        fail(`expected "," or "]" after an array item but found ${describe(pos)}`);
      }
    }
    if (c === '"') {
      readString();
      return;
    }
    const literal = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(
      source.slice(pos),
    );
    if (literal) {
      pos += literal[0].length;
      return;
    }
    fail(c === undefined ? 'unexpected end of file' : `unexpected ${describe(pos)}`);
  };

  try {
    readValue('');
    skipSpace();
    if (pos < source.length) fail(`unexpected ${describe(pos)} after the end of the JSON value`);
    return { ok: true, value: JSON.parse(source) as unknown, duplicateKeys };
  } catch (error) {
    const offset = error instanceof SyntaxProblem ? error.offset : pos;
    const { line, column } = lineOf(offset);
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, message, line, column };
  }
}
