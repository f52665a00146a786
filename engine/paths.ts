/** Dot-path access into plain JSON values (`data.amount`, `lines.0.qty`). Pure. */

/** Reads a dot path; undefined when any segment is missing. */
export function getPath(root: unknown, path: string): unknown {
  let current: unknown = root;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/** Returns a copy of `root` with the dot path set to `value` (objects created as needed). */
export function setPath(
  root: Record<string, unknown>,
  path: string,
  value: unknown,
): Record<string, unknown> {
  const [head, ...rest] = path.split('.');
  if (head === undefined || head === '') return root;
  if (rest.length === 0) return { ...root, [head]: value };
  const child = root[head];
  const base =
    child !== null && typeof child === 'object' && !Array.isArray(child)
      ? (child as Record<string, unknown>)
      : {};
  return { ...root, [head]: setPath(base, rest.join('.'), value) };
}

/** Renders `{{ path }}` placeholders from a context; missing values render as empty text. */
export function renderText(template: string, context: Record<string, unknown>): string {
  return template.replace(/\{\{\s*([\w.-]+)\s*\}\}/g, (_, path: string) => {
    const value = getPath(context, path);
    return value === undefined || value === null ? '' : String(value);
  });
}
