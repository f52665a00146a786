import type { Assignment, CaseTypeDefinition } from '../engine/types';
import { escapePointer } from '../engine/conditions';
import { issue, suggest, type DefinitionIssue } from './issues';

/** The users and teams assignments may name: what `publish` reads from the database, `--directory` from a file. */
export interface Directory {
  /** Every user by id, and whether they are active. */
  users: ReadonlyMap<string, { active: boolean }>;
  teams: ReadonlySet<string>;
}

/** A directory file that is not `{ "users": [...], "teams": [...] }`. */
export class DirectoryFileError extends Error {
  override name = 'DirectoryFileError';
}

const SHAPE =
  'a directory is {"users": ["ana", {"id": "bob", "active": false}], "teams": ["sales", {"id": "support"}]} (GET /api/users and GET /api/teams list them)';

function ids(value: unknown, what: string): { id: string; active: boolean }[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new DirectoryFileError(`"${what}" must be a list: ${SHAPE}`);
  return value.map((entry) => {
    if (typeof entry === 'string') return { id: entry, active: true };
    if (entry !== null && typeof entry === 'object' && typeof (entry as { id?: unknown }).id === 'string') {
      const e = entry as { id: string; active?: unknown };
      return { id: e.id, active: e.active !== false };
    }
    throw new DirectoryFileError(`each of "${what}" is an id or an object with "id": ${SHAPE}`);
  });
}

/** Reads a directory from parsed JSON (ids, or objects with `id` and optional `active`). */
export function parseDirectory(json: unknown): Directory {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new DirectoryFileError(SHAPE);
  const { users, teams } = json as { users?: unknown; teams?: unknown };
  return {
    users: new Map(ids(users, 'users').map((u) => [u.id, { active: u.active }])),
    teams: new Set(ids(teams, 'teams').map((t) => t.id)),
  };
}

/** Every assignment of a definition (steps' `assign`, escalations' `reassign`) with its JSON pointer. */
function assignments(def: CaseTypeDefinition): { pointer: string; assignment: Assignment }[] {
  const found: { pointer: string; assignment: Assignment }[] = [];
  for (const [id, step] of Object.entries(def.steps)) {
    if (step.type !== 'human') continue;
    const at = `/steps/${escapePointer(id)}`;
    found.push({ pointer: `${at}/assign`, assignment: step.assign });
    (step.escalations ?? []).forEach((e, i) => {
      if (e.reassign) found.push({ pointer: `${at}/escalations/${i}/reassign`, assignment: e.reassign });
    });
  }
  return found;
}

/**
 * The users and teams a definition assigns work to that the directory does not have (or, for users, has
 * deactivated): their tasks would reach nobody. Roles and `field` assignments are resolved at run time.
 */
export function directoryIssues(
  def: CaseTypeDefinition,
  file: string,
  directory: Directory,
): DefinitionIssue[] {
  const out: DefinitionIssue[] = [];
  for (const { pointer, assignment } of assignments(def)) {
    if ('user' in assignment) {
      const user = directory.users.get(assignment.user);
      if (!user) {
        out.push(
          issue(
            file,
            `${pointer}/user`,
            `unknown user "${assignment.user}"`,
            `${suggest(assignment.user, [...directory.users.keys()], 'user')}; create the user first, or name one that exists`,
          ),
        );
      } else if (!user.active) {
        out.push(
          issue(
            file,
            `${pointer}/user`,
            `user "${assignment.user}" is deactivated`,
            'their tasks would reach nobody; assign to an active user or a team',
          ),
        );
      }
    } else if ('team' in assignment || 'supervisorOf' in assignment) {
      const [key, team] =
        'team' in assignment ? ['team', assignment.team] : ['supervisorOf', assignment.supervisorOf];
      if (!directory.teams.has(team))
        out.push(
          issue(
            file,
            `${pointer}/${key}`,
            `unknown team "${team}"`,
            `${suggest(team, [...directory.teams], 'team')}; create the team first, or name one that exists`,
          ),
        );
    }
  }
  return out;
}
