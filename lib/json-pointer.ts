/** JSON pointers (RFC 6901): the one escaper of every pointer the product reports. Pure, no imports. */

/** Escapes one reference token: `~` as `~0`, `/` as `~1`. */
export function escapePointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** `base` followed by each token, escaped: pointerTo('/body', 'a/b', 0) is `/body/a~1b/0`. */
export function pointerTo(base: string, ...tokens: (string | number)[]): string {
  return base + tokens.map((t) => `/${escapePointer(String(t))}`).join('');
}
