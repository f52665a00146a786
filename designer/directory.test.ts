import fs from 'node:fs';
import path from 'node:path';
import type { CaseTypeDefinition } from '../engine/types';
import { directoryIssues, parseDirectory } from './directory';
import { formatIssues } from './validate';

const opportunity = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', 'definitions', 'opportunity.json'), 'utf8'),
) as CaseTypeDefinition;

const directory = parseDirectory({
  users: ['ana', { id: 'old', active: false }],
  teams: [{ id: 'sales' }, 'support'],
});

function withSteps(edit: (steps: Record<string, Record<string, unknown>>) => void): CaseTypeDefinition {
  const def = JSON.parse(JSON.stringify(opportunity)) as CaseTypeDefinition;
  edit(def.steps as unknown as Record<string, Record<string, unknown>>);
  return def;
}

describe('assignments against the directory', () => {
  it('the shipped opportunity names only teams that exist', () => {
    expect(directoryIssues(opportunity, 'opportunity.json', directory)).toEqual([]);
  });

  it('an unknown team, an unknown user and a deactivated user, each with file, pointer and hint', () => {
    const def = withSteps((steps) => {
      (steps.present as Record<string, unknown>).assign = { team: 'salse', strategy: 'round-robin' };
      (steps.decide as Record<string, unknown>).assign = { user: 'old' };
      (steps.decide as Record<string, unknown>).escalations = [{ after: 'P1D', reassign: { user: 'anna' } }];
    });
    expect(formatIssues(directoryIssues(def, 'opportunity.json', directory)).split('\n')).toEqual([
      'opportunity.json#/steps/present/assign/team: unknown team "salse" (did you mean "sales"? known teams: sales, support; create the team first, or name one that exists)',
      'opportunity.json#/steps/decide/assign/user: user "old" is deactivated (their tasks would reach nobody; assign to an active user or a team)',
      'opportunity.json#/steps/decide/escalations/0/reassign/user: unknown user "anna" (did you mean "ana"? known users: ana, old; create the user first, or name one that exists)',
    ]);
  });

  it('roles and field assignments are not directory references', () => {
    const def = withSteps((steps) => {
      for (const step of Object.values(steps)) {
        if (step.type !== 'human') continue;
        step.assign = { role: 'supervisor' };
        delete step.escalations;
      }
      (steps.decide as Record<string, unknown>).assign = { field: 'data.ownerId' };
    });
    expect(directoryIssues(def, 'x.json', parseDirectory({ users: [], teams: [] }))).toEqual([]);
  });

  it('a directory file of the wrong shape is refused with what it should look like', () => {
    expect(() => parseDirectory({ users: 'ana' })).toThrow(/"users": \[/);
  });
});
