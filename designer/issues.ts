/** One problem found in a case-type definition, located by file and RFC 6901 JSON pointer. */
export interface DefinitionIssue {
  file: string;
  /** RFC 6901 JSON pointer into the definition; "" is the whole document. */
  pointer: string;
  message: string;
  hint?: string;
  severity: 'error' | 'warning';
}

/** Builds an issue, leaving `hint` out when there is none. */
export function issue(
  file: string,
  pointer: string,
  message: string,
  hint?: string,
  severity: 'error' | 'warning' = 'error',
): DefinitionIssue {
  const result: DefinitionIssue = { file, pointer, message, severity };
  if (hint !== undefined && hint !== '') result.hint = hint;
  return result;
}

/** Edit distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    let diagonal = previous[0] as number;
    previous[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const above = previous[j] as number;
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1;
      previous[j] = Math.min(above + 1, (previous[j - 1] as number) + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return previous[b.length] as number;
}

/** The closest candidate to a misspelt name, if one is close enough to be a likely typo. */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/** "did you mean X? known: a, b, c" */
export function suggest(name: string, candidates: string[], noun: string, plural = `${noun}s`): string {
  const near = closest(name, candidates);
  const list = candidates.length > 12 ? `${candidates.slice(0, 12).join(', ')}, ...` : candidates.join(', ');
  const known = candidates.length === 0 ? `no ${plural} are defined` : `known ${plural}: ${list}`;
  return near === undefined ? known : `did you mean "${near}"? ${known}`;
}
