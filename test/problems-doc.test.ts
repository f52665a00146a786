/**
 * Every problem type the code can answer with is documented in docs/problems.md: the slugs passed to
 * `new ProblemError(status, slug, ...)`, to the domain errors of lib/domain-errors.ts
 * (`new ConflictError(code, ...)`, `{ code: slug }` of an `InvalidInputError`) anywhere in the sources, the engine's
 * rejection codes (the gateway turns them into slugs) and the types the HTTP layer sends itself.
 */
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const SKIP = new Set(['node_modules', '.git', '.data', 'dist', 'coverage']);

function sources(dir: string, out: string[] = []): string[] {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) sources(full, out);
    else if (full.endsWith('.ts') && !full.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

const documented = new Set(
  [...fs.readFileSync(path.join(ROOT, 'docs/problems.md'), 'utf8').matchAll(/^### ([a-z0-9-]+)$/gm)].map(
    (m) => m[1],
  ),
);

describe('docs/problems.md', () => {
  it('documents every problem type thrown in the code', () => {
    const thrown = new Map<string, string>();
    for (const file of sources(ROOT)) {
      const text = fs.readFileSync(file, 'utf8');
      const patterns = [
        /new ProblemError\(\s*\d{3},\s*'([a-z0-9-]+)'/g,
        /new (?:ConflictError|TooLargeError|UnprocessableError)\(\s*'([a-z0-9-]+)'/g,
        /\{\s*code: '([a-z0-9-]+)',\s*title:/g,
      ];
      for (const m of patterns.flatMap((p) => [...text.matchAll(p)])) {
        thrown.set(m[1] as string, path.relative(ROOT, file));
      }
    }
    expect(thrown.size).toBeGreaterThan(10);
    const missing = [...thrown]
      .filter(([slug]) => !documented.has(slug))
      .map(([slug, file]) => `${slug} (${file})`);
    expect(missing).toEqual([]);
  });

  it('documents every engine rejection code and the types the HTTP layer sends', () => {
    const errors = fs.readFileSync(path.join(ROOT, 'engine/errors.ts'), 'utf8');
    const union = /export type RejectionCode =([^;]+);/.exec(errors)?.[1] ?? '';
    const codes = [...union.matchAll(/'([A-Z_]+)'/g)].map((m) => m[1] as string);
    expect(codes.length).toBeGreaterThan(10);
    const slugs = [...codes, 'CASE_STARTING'].map((c) => c.toLowerCase().replace(/_/g, '-'));
    const http = [
      'bad-request',
      'headers-too-large',
      'validation-error',
      'not-found',
      'forbidden',
      'unauthorized',
    ];
    expect([...slugs, ...http].filter((s) => !documented.has(s))).toEqual([]);
  });
});
