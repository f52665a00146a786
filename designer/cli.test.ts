import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.join(__dirname, '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

/** Runs `npm run definitions -- <args>` as a designer would, with the default definitions folder. */
function cli(...args: string[]): { code: number | null; out: string } {
  const env = { ...process.env };
  delete env.DEFINITIONS_DIR;
  const run = spawnSync(TSX, [path.join(ROOT, 'designer', 'cli.ts'), ...args], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: run.status, out: `${run.stdout}${run.stderr}` };
}

const statuses = [
  { code: 'OPEN', name: 'Open', category: 'open' },
  { code: 'DONE', name: 'Done', category: 'won' },
  { code: 'LOST', name: 'Lost', category: 'lost' },
];

/** A case type that waits for a sub-case of `childType`. */
function parent(childType: string): Record<string, unknown> {
  return {
    $schema: './case-type.schema.json',
    dslVersion: '1',
    id: 'cli-parent',
    version: '1',
    name: 'Parent',
    statuses,
    initialStatus: 'OPEN',
    start: 'qualify',
    steps: {
      qualify: {
        type: 'human',
        action: 'call',
        title: 'Qualify',
        assign: { team: 'sales' },
        outcomes: { ok: { next: 'child' } },
      },
      child: {
        type: 'subcase',
        caseType: childType,
        wait: true,
        outcomes: { won: { status: 'DONE', end: true } },
        then: { status: 'LOST', end: true },
      },
    },
  };
}

const child = {
  $schema: './case-type.schema.json',
  dslVersion: '1',
  id: 'cli-child',
  version: '1',
  name: 'Child',
  statuses,
  initialStatus: 'OPEN',
  start: 'work',
  steps: {
    work: {
      type: 'human',
      action: 'task',
      title: 'Work',
      assign: { team: 'sales' },
      outcomes: { done: { status: 'DONE', end: true } },
    },
  },
};

function folder(files: Record<string, unknown>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-test-'));
  for (const [name, json] of Object.entries(files)) {
    fs.writeFileSync(path.join(dir, name), JSON.stringify(json, null, 2));
  }
  return dir;
}

describe('every command resolves sub-case types the same way', () => {
  // The parent names a case type defined beside it, outside the definitions folder.
  const dir = folder({ 'parent.json': parent('cli-child'), 'child.json': child });
  const file = path.join(dir, 'parent.json');

  it('validate accepts the parent file alone', () => {
    const run = cli('validate', file);
    expect(run.out).toContain('1 definition valid');
    expect(run.code).toBe(0);
  });

  it('simulate runs it through the sub-case', () => {
    const run = cli('simulate', file, '--choose', 'ok', 'sub:won');
    expect(run.out).not.toContain('unknown case type');
    expect(run.out).toContain('sub-case cli-child started (waiting for it)');
    expect(run.out).toMatch(/status OPEN -> DONE/);
    expect(run.code).toBe(0);
  });

  it('coverage covers the sub-case outcome', () => {
    const run = cli('coverage', file, '--path', 'ok,sub:won');
    expect(run.out).not.toContain('unknown case type');
    expect(run.out).toMatch(/steps: 2\/2/);
    expect(run.code).toBe(0);
  });

  it('diagram draws it', () => {
    const run = cli('diagram', file);
    expect(run.out).not.toContain('unknown case type');
    expect(run.out).toContain('cli-child');
    expect(run.code).toBe(0);
  });

  it('all four refuse a case type that exists nowhere, with the same message', () => {
    const lonely = path.join(folder({ 'parent.json': parent('cli-nowhere') }), 'parent.json');
    const line = `${lonely}#/steps/child/caseType: unknown case type "cli-nowhere"`;
    for (const args of [
      ['validate', lonely],
      ['simulate', lonely, '--choose', 'ok'],
      ['coverage', lonely, '--path', 'ok'],
      ['diagram', lonely],
    ]) {
      const run = cli(...args);
      expect({ args, code: run.code, reported: run.out.includes(line) }).toEqual({
        args,
        code: 1,
        reported: true,
      });
    }
  });
});

describe('validate --directory', () => {
  const dir = folder({
    'parent.json': parent('cli-child'),
    'child.json': child,
    'directory.json': { users: [], teams: ['support'] },
  });
  const file = path.join(dir, 'parent.json');

  it('reports a team the directory does not have, with file, pointer and hint', () => {
    const run = cli('validate', file, '--directory', path.join(dir, 'directory.json'));
    expect(run.out).toContain(
      `${file}#/steps/qualify/assign/team: unknown team "sales" (known teams: support; create the team first, or name one that exists)`,
    );
    expect(run.code).toBe(1);
  });

  it('without a directory the names are not checked, and the help says so', () => {
    expect(cli('validate', file).code).toBe(0);
    expect(cli('help').out).toMatch(/--directory <file>[\s\S]*without it, the users and teams/);
  });
});
