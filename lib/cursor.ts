/**
 * Keyset cursors: opaque to clients, a JSON value in base64url to us. The one codec of every paged list;
 * each list decides what its value holds (the last row's keys, a digest of its filters) and checks it.
 */

/** The cursor of `value`. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** The value a cursor made by `encodeCursor` holds, or undefined when `text` is not one. */
export function decodeCursor(text: string): unknown {
  try {
    return JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
