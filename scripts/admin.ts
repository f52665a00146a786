/**
 * `npm run admin -- <command>`: creates the first users and API tokens of a deployment, and resets
 * passwords, straight in the database (DATABASE_URL), so it works before anyone can sign in. The work is
 * done by the identity domain (identity/); this file reads arguments and prints.
 */
import { createDb, type Db } from '../db';
import { migrate } from '../db/migrate';
import { issuePasswordToken, setPasswordHash, setPasswordLink } from '../identity/password-links';
import { getToken, issueToken, listTokens, revokeToken, type ApiToken } from '../identity/tokens';
import {
  USER_ROLES,
  createUser,
  listUsersWithTeams,
  userByEmail,
  type UserRole,
  type UserRow,
} from '../identity/users';
import { ConfigError, loadConfig, type Config } from '../lib/config';
import { DomainError } from '../lib/domain-errors';
import { emailAddressProblem } from '../lib/email-address';
import { hashPassword, passwordProblem } from '../lib/passwords';

const USAGE = `Usage: npm run admin -- <command> [options]

  create-user --email <e> --name <n> --role <admin|supervisor|agent|designer>
              [--team <id> ...] [--id <id>] [--locale <en|es|...>] [--password-stdin]
                                  creates a user; without --password-stdin prints a one-time link
                                  to set the password (valid INVITE_VALID_HOURS)
  list-users                      every user: id, email, name, role, teams, active
  reset-password --email <e> [--password-stdin]
                                  sets the password read from stdin (ending the user's sessions),
                                  or prints a one-time link to set one
  create-token --email <e> [--name <label>] [--expires-in <n>(s|m|h|d)]
                                  issues an API token and prints it once (stored hashed);
                                  without --expires-in it works until revoked
  list-tokens [--email <e>]       tokens (never their secrets), of one user or of everyone
  revoke-token --id <token id>    revokes a token (idempotent)

Connects to DATABASE_URL and applies pending migrations first. --password-stdin reads the password
from standard input (one trailing newline is dropped): echo "$PW" | npm run -s admin -- ...
Links use PUBLIC_URL. Exit status: 0 done, 1 refused or failed, 2 bad arguments.`;

/** A mistake in how the command was called: one line on stderr, exit status 2. */
class UsageError extends Error {
  override name = 'UsageError';
}

/** A refusal the CLI itself makes (an inactive user, an unknown token): one line, exit status 1. */
class Refused extends Error {
  override name = 'Refused';
}

/** The options of each command: value options (multi: may repeat) and switches. */
const COMMANDS = {
  'create-user': {
    values: ['email', 'name', 'role', 'id', 'locale'],
    multi: ['team'],
    switches: ['password-stdin'],
  },
  'list-users': { values: [], multi: [], switches: [] },
  'reset-password': { values: ['email'], multi: [], switches: ['password-stdin'] },
  'create-token': { values: ['email', 'name', 'expires-in'], multi: [], switches: [] },
  'list-tokens': { values: ['email'], multi: [], switches: [] },
  'revoke-token': { values: ['id'], multi: [], switches: [] },
} as const satisfies Record<
  string,
  { values: readonly string[]; multi: readonly string[]; switches: readonly string[] }
>;
type Command = keyof typeof COMMANDS;

interface Args {
  command: Command;
  values: Map<string, string[]>;
  switches: Set<string>;
}

const isCommand = (name: string): name is Command => Object.hasOwn(COMMANDS, name);

/** `--option value` (value options; `--team a b` and `--team a --team b` both give two), `--switch`. */
function parseArgs(argv: string[]): Args {
  const [command, ...rest] = argv;
  if (command === undefined) throw new UsageError('no command given (npm run admin -- --help)');
  if (!isCommand(command)) throw new UsageError(`unknown command "${command}" (npm run admin -- --help)`);
  const spec = COMMANDS[command];
  const values = new Map<string, string[]>();
  const switches = new Set<string>();
  let current: { name: string; multi: boolean; taken: number } | undefined;
  for (const arg of rest) {
    if (arg.startsWith('--')) {
      if (current && current.taken === 0) throw new UsageError(`--${current.name} needs a value`);
      const name = arg.slice(2);
      if ((spec.switches as readonly string[]).includes(name)) {
        switches.add(name);
        current = undefined;
      } else if ((spec.values as readonly string[]).includes(name)) {
        if (values.has(name)) throw new UsageError(`--${name} is given twice`);
        values.set(name, []);
        current = { name, multi: false, taken: 0 };
      } else if ((spec.multi as readonly string[]).includes(name)) {
        if (!values.has(name)) values.set(name, []);
        current = { name, multi: true, taken: 0 };
      } else {
        throw new UsageError(`${command} has no option --${name}`);
      }
      continue;
    }
    if (!current || (!current.multi && current.taken > 0))
      throw new UsageError(`unexpected argument "${arg}"`);
    values.get(current.name)?.push(arg);
    current.taken++;
  }
  if (current && current.taken === 0) throw new UsageError(`--${current.name} needs a value`);
  return { command, values, switches };
}

const optional = (args: Args, name: string): string | undefined => args.values.get(name)?.[0];

function required(args: Args, name: string): string {
  const value = optional(args, name);
  if (value === undefined) throw new UsageError(`${args.command} needs --${name}`);
  return value;
}

function email(args: Args, name = 'email'): string {
  const value = required(args, name);
  const problem = emailAddressProblem(value);
  if (problem) throw new UsageError(`--${name} "${value}" is not an email address: ${problem}`);
  return value;
}

function role(args: Args): UserRole {
  const value = required(args, 'role');
  if (!(USER_ROLES as readonly string[]).includes(value))
    throw new UsageError(`unknown role "${value}": use ${USER_ROLES.join(', ')}`);
  return value as UserRole;
}

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;
const MAX_VALID_SECONDS = 10 * 366 * 86_400;

/** `90d`, `12h`, `30m`, `45s` in seconds. */
function parseExpiresIn(text: string): number {
  const m = /^([1-9][0-9]{0,8})([smhd])$/.exec(text);
  if (!m) throw new UsageError(`--expires-in "${text}" is not a duration like 90d, 12h, 30m or 45s`);
  const seconds = Number(m[1]) * UNIT_SECONDS[m[2] as keyof typeof UNIT_SECONDS];
  if (seconds > MAX_VALID_SECONDS) throw new UsageError(`--expires-in "${text}" is longer than ten years`);
  return seconds;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The password piped in, checked as the API checks one. */
async function stdinPassword(): Promise<string> {
  const password = (await readStdin()).replace(/\r?\n$/, '');
  if (password === '') throw new UsageError('--password-stdin: standard input is empty');
  const weak = passwordProblem(password);
  if (weak) throw new UsageError(`the password ${weak}`);
  return password;
}

const out = (line = '') => process.stdout.write(`${line}\n`);
const note = (line: string) => process.stderr.write(`${line}\n`);

/** Left-aligned columns separated by two spaces. */
function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [headers, ...rows]
    .map((cells) =>
      cells
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

async function printLink(config: Config, db: Db, user: UserRow, purpose: 'invite' | 'reset'): Promise<void> {
  const { token, expiresAt } = await issuePasswordToken(
    db,
    user.id,
    purpose,
    config.auth.inviteValidHours * 60,
  );
  out(`One-time link to set the password of ${user.email} (works once, until ${expiresAt}):`);
  out(setPasswordLink(config.publicUrl, token));
}

function tokenState(t: ApiToken, now: number): string {
  if (t.revokedAt !== null) return 'revoked';
  if (t.expiresAt !== null && Date.parse(t.expiresAt) <= now) return 'expired';
  return 'active';
}

/** Work on the database, prepared once the arguments were checked. */
type Work = (config: Config, db: Db) => Promise<void>;

/** Checks a command's arguments (and reads a piped password) before anything connects. */
async function prepare(args: Args): Promise<Work> {
  switch (args.command) {
    case 'create-user': {
      const id = optional(args, 'id');
      const locale = optional(args, 'locale');
      const input = {
        email: email(args),
        name: required(args, 'name'),
        role: role(args),
        teams: args.values.get('team') ?? [],
        ...(id === undefined ? {} : { id }),
        ...(locale === undefined ? {} : { locale }),
      };
      const password = args.switches.has('password-stdin') ? await stdinPassword() : undefined;
      return async (config, db) => {
        const user = await createUser(db, { ...input, ...(password === undefined ? {} : { password }) });
        const teams = input.teams.length > 0 ? `, teams ${input.teams.join(', ')}` : '';
        out(`Created user ${user.id} (${user.email}, ${user.role}${teams})`);
        if (password === undefined) await printLink(config, db, user, 'invite');
        else out('The password is set.');
      };
    }
    case 'list-users':
      return async (_config, db) => {
        const users = await listUsersWithTeams(db);
        out(
          table(
            ['ID', 'EMAIL', 'NAME', 'ROLE', 'TEAMS', 'ACTIVE'],
            users.map((u) => [u.id, u.email, u.name, u.role, u.teams.join(','), u.active ? 'yes' : 'no']),
          ),
        );
      };
    case 'reset-password': {
      const address = email(args);
      const password = args.switches.has('password-stdin') ? await stdinPassword() : undefined;
      return async (config, db) => {
        const user = await activeUser(db, address);
        if (password === undefined) return printLink(config, db, user, 'reset');
        const hash = await hashPassword(password);
        await db.transaction((tx) => setPasswordHash(tx, user.id, hash));
        out(`The password of ${user.email} is set; their sessions have ended.`);
      };
    }
    case 'create-token': {
      const address = email(args);
      const label = optional(args, 'name') ?? 'admin-cli';
      if (label.length > 100) throw new UsageError('--name has at most 100 characters');
      const expiresIn = optional(args, 'expires-in');
      const validity = expiresIn === undefined ? {} : { validSeconds: parseExpiresIn(expiresIn) };
      return async (_config, db) => {
        const user = await activeUser(db, address);
        const { id, token } = await issueToken(db, user.id, label, validity);
        const issued = (await getToken(db, id)) as ApiToken;
        const until = issued.expiresAt ? `until ${issued.expiresAt}` : 'until revoked';
        note(
          `Token ${id} "${label}" for ${user.email} (${user.role}), ${until}. It is shown only now: keep it.`,
        );
        out(token);
      };
    }
    case 'list-tokens': {
      const address = args.values.has('email') ? email(args) : undefined;
      return async (_config, db) => {
        const user = address === undefined ? undefined : await userByEmail(db, address);
        const tokens = await listTokens(db, user?.id);
        const now = Date.now();
        out(
          table(
            ['ID', 'USER', 'NAME', 'CREATED', 'LAST USED', 'EXPIRES', 'STATE'],
            tokens.map((t) => [
              t.id,
              t.userId,
              t.name,
              t.createdAt,
              t.lastUsedAt ?? '-',
              t.expiresAt ?? 'never',
              tokenState(t, now),
            ]),
          ),
        );
      };
    }
    case 'revoke-token': {
      const id = required(args, 'id');
      return async (_config, db) => {
        if (!(await revokeToken(db, id))) throw new Refused(`no token has the id ${id}`);
        out(`Token ${id} is revoked.`);
      };
    }
  }
}

/** The user with this address, who must be active. */
async function activeUser(db: Db, address: string): Promise<UserRow> {
  const user = await userByEmail(db, address);
  if (!user.active) throw new Refused(`user ${user.id} (${user.email}) is deactivated`);
  return user;
}

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) {
    (argv.length === 0 ? note : out)(USAGE);
    return argv.length === 0 ? 2 : 0;
  }
  const work = await prepare(parseArgs(argv));
  const config = loadConfig();
  if (!config.databaseUrl)
    throw new ConfigError('DATABASE_URL is not set: npm run admin works on the database of a deployment');
  const db = createDb(config.databaseUrl, { max: 2 });
  try {
    await migrate(db);
    await work(config, db);
    return 0;
  } finally {
    await db.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const usage = err instanceof UsageError;
    const known = usage || err instanceof Refused || err instanceof DomainError || err instanceof ConfigError;
    const message = err instanceof Error ? err.message : String(err);
    note(`admin: ${known ? message : `failed: ${message}`}`);
    process.exitCode = usage ? 2 : 1;
  },
);
