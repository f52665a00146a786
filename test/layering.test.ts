import fs from 'node:fs';
import path from 'node:path';

const ROUTES_DIR = path.join(__dirname, '..', 'api', 'routes');

/**
 * Every route file: none holds SQL, the domain (identity/, crm/, cases/, the task and case services) owns its
 * statements (issue 15). A new route file is checked as soon as it exists.
 */
const ROUTE_FILES = fs
  .readdirSync(ROUTES_DIR)
  .filter((f) => f.endsWith('.ts'))
  .sort()
  .map((f) => `api/routes/${f}`);

/**
 * SQL statement openings as this codebase writes them (keywords in upper case, names in lower case); `\s`
 * spans line breaks, so a statement split over lines is found where it starts.
 */
const SQL_PATTERNS: { name: string; pattern: RegExp }[] = [
  { name: 'INSERT INTO', pattern: /\bINSERT\s+INTO\b/g },
  { name: 'UPDATE … SET', pattern: /\bUPDATE\s+[a-z_][a-z0-9_]*(?:\s+[a-z_][a-z0-9_]*)?\s+SET\b/g },
  { name: 'DELETE FROM', pattern: /\bDELETE\s+FROM\b/g },
  { name: 'WITH … AS', pattern: /\bWITH\s+(?:RECURSIVE\s+)?[a-z_][a-z0-9_]*\s+AS\s*(?:MATERIALIZED\s*)?\(/g },
  { name: 'SELECT', pattern: /\bSELECT(?:\s|$)/gm },
];

/** Each line of `text` where SQL starts, as `file:line: KIND: text`, in line order. */
function sqlLines(file: string, text: string): string[] {
  const lines = text.split('\n');
  const found = new Map<number, string>();
  for (const { name, pattern } of SQL_PATTERNS) {
    for (const match of text.matchAll(pattern)) {
      const line = text.slice(0, match.index).split('\n').length;
      if (!found.has(line)) found.set(line, `${file}:${line}: ${name}: ${(lines[line - 1] ?? '').trim()}`);
    }
  }
  return [...found.entries()].sort(([a], [b]) => a - b).map(([, entry]) => entry);
}

describe('layering: no SQL text in any route file', () => {
  it('finds each kind of statement, with its file and line', () => {
    const sample = [
      'const a = 1;',
      "await db.query('SELECT id FROM users WHERE id = $1', [id]);",
      '  `INSERT INTO teams (id) VALUES ($1)`,',
      "await tx.query('UPDATE password_tokens t SET used_at = now()');",
      "'DELETE FROM segments WHERE id = $1'",
      '`WITH picked AS (SELECT 1)`',
      '`SELECT ${COLUMNS} FROM tasks t`',
      '  `UPDATE users',
      '     SET name = $2`',
      '// Select the one the user picked; delete from the list; update the set.',
    ].join('\n');
    expect(sqlLines('x.ts', sample)).toEqual([
      "x.ts:2: SELECT: await db.query('SELECT id FROM users WHERE id = $1', [id]);",
      'x.ts:3: INSERT INTO: `INSERT INTO teams (id) VALUES ($1)`,',
      "x.ts:4: UPDATE … SET: await tx.query('UPDATE password_tokens t SET used_at = now()');",
      "x.ts:5: DELETE FROM: 'DELETE FROM segments WHERE id = $1'",
      'x.ts:6: WITH … AS: `WITH picked AS (SELECT 1)`',
      'x.ts:7: SELECT: `SELECT ${COLUMNS} FROM tasks t`',
      'x.ts:8: UPDATE … SET: `UPDATE users',
    ]);
  });

  it('reads every route file (33 when the SQL left the last of them)', () => {
    expect(ROUTE_FILES.length).toBeGreaterThanOrEqual(33);
  });

  it.each(ROUTE_FILES)('%s holds no SQL', (file) => {
    const text = fs.readFileSync(path.join(__dirname, '..', file), 'utf8');
    expect(sqlLines(file, text)).toEqual([]);
  });
});
