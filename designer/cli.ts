import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../lib/config';
import type { CaseTypeDefinition } from '../engine/types';
import type { Db } from '../db';
import { toHtml, toMermaid } from './diagram';
import { coverage, formatCoverage, formatSimulation, simulate } from './simulate';
import { caseTypeCatalog } from './catalog';
import { checkSoundness, simulateCommand as replayCommand } from './soundness';
import { directoryIssues, DirectoryFileError, parseDirectory, type Directory } from './directory';
import { formatIssues, loadDefinitionFiles, loadDefinitions } from './validate';

const USAGE = `Usage: npm run definitions -- <command>

  validate [files...]                       validate definitions (default: every file in the definitions folder)
           [--directory <file>]             also check the users and teams named in assign and reassign against
                                            a JSON file {"users": [...], "teams": [...]};
                                            without it, the users and teams are not checked
                                            (publish checks them against the database)
  simulate <file> --choose <choices...>     run a case through the interpreter and print its timeline
           [--data '<json>'] [--json]       choices: <outcome> | <step>=<outcome> | wait | wait:<step> |
           [--pick 0,1,...]                 timer:<case timer id> | sub:<won|lost|closed|open> | sub:<step>:<category> |
                                            boundary:<step>:<index> | message:<name> | service:<step>:<ok|fail>
                                            --pick answers the condition decisions in order instead of the data
                                            (0 = first transition that may hold), as the soundness check prints
  check <file...>                           the soundness check alone: states explored, whether exhaustively,
                                            each finding with the simulate command that shows it
  coverage <file> --path a,b,c [--path ...] which steps and outcomes a set of paths covers
  diagram <file> [--html] [--out <file>]    the process as Mermaid text, or an HTML page with an SVG picture
          [--current <step,...>]            highlight where a case is now
  preview <template> [--case <id>]          render an email template with sample data, or a real case
          [--locale es] [--html]            (--case needs DATABASE_URL)
  publish                                   validate every definition and publish each changed one as a new
                                            version (needs DATABASE_URL); running cases keep their version

Every command checks a file the same way: templates from the "templates" folder beside it (else the
definitions folder's), and a sub-case may name any case type in the definitions folder, in the file's own
folder, or among the files named.`;

/** A mistake in how the command was called or in its input: reported without a stack trace. */
class UserError extends Error {
  override name = 'UserError';
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

interface Args {
  positional: string[];
  options: Map<string, string[]>;
}

/** `--name v1 v2` collects values until the next `--option`; repeated options accumulate. */
function parseArgs(argv: string[]): Args {
  const args: Args = { positional: [], options: new Map() };
  let current: string[] | undefined;
  for (const arg of argv) {
    if (arg.startsWith('--')) {
      const name = arg.slice(2);
      current = args.options.get(name) ?? [];
      args.options.set(name, current);
    } else if (current) current.push(arg);
    else args.positional.push(arg);
  }
  return args;
}

function definitionsDir(): string {
  return loadConfig().definitionsDir;
}

/**
 * Every command loads definition files the same way: templates beside them (else the configured folder),
 * and the sub-case types of the catalog (the definitions folder, the files' own folders, the files).
 */
function loadFiles(files: string[], skipSoundness = false): ReturnType<typeof loadDefinitionFiles> {
  return loadDefinitionFiles(files, templatesFor(files), caseTypeCatalog(files, definitionsDir()), {
    skipSoundness,
  });
}

/**
 * Reads and validates one definition file; prints its issues, and stops on errors. The soundness check's
 * findings do not stop `simulate`, `coverage`, `diagram` and `check`: they are how a designer looks at them.
 */
function readDefinition(file: string | undefined): CaseTypeDefinition {
  if (!file) throw new UserError('Name a definition file.');
  if (!fs.existsSync(file)) throw new UserError(`Cannot read ${file}.`);
  const { definitions, issues } = loadFiles([file], true);
  if (issues.length > 0) console.log(formatIssues(issues));
  const loaded = definitions[0];
  if (!loaded || issues.some((i) => i.severity === 'error'))
    throw new UserError(`${file} has errors; fix them first.`, 1);
  return loaded.definition;
}

/** Templates live beside the definitions (`<folder>/templates`), else in the configured folder. */
function templatesFor(files: string[]): string {
  const first = files[0];
  const beside = first === undefined ? undefined : path.join(path.dirname(first), 'templates');
  return beside !== undefined && fs.existsSync(beside) ? beside : path.join(definitionsDir(), 'templates');
}

/** The `--directory <file>` of a command, if given. */
function readDirectoryOption(args: Args): Directory | undefined {
  const values = args.options.get('directory');
  if (values === undefined) return undefined;
  const [file, ...rest] = values;
  // `--directory d.json a.json b.json`: the files after the directory are files to check.
  args.positional.push(...rest);
  if (file === undefined) throw new UserError('--directory needs a file: {"users": [...], "teams": [...]}');
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError(`Cannot read the directory ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    return parseDirectory(json);
  } catch (e) {
    if (e instanceof DirectoryFileError) throw new UserError(`${file}: ${e.message}`);
    throw e;
  }
}

function validateCommand(args: Args): number {
  const directory = readDirectoryOption(args);
  const files = args.positional.slice(1);
  const result = files.length === 0 ? loadDefinitions(definitionsDir()) : loadFiles(files);
  if (directory) {
    for (const d of result.definitions)
      result.issues.push(...directoryIssues(d.definition, d.file, directory));
  }
  if (result.issues.length > 0) console.log(formatIssues(result.issues));
  const errors = result.issues.filter((i) => i.severity === 'error').length;
  const warnings = result.issues.length - errors;
  if (errors > 0) {
    console.log(`${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`);
    return 1;
  }
  const n = result.definitions.length;
  console.log(
    `${n} definition${n === 1 ? '' : 's'} valid${warnings > 0 ? ` (${warnings} warning${warnings === 1 ? '' : 's'})` : ''}`,
  );
  return 0;
}

function simulateCommand(args: Args): number {
  const def = readDefinition(args.positional[1]);
  const choices = args.options.get('choose') ?? [];
  const rawData = args.options.get('data')?.join(' ');
  let startData: Record<string, unknown> | undefined;
  if (rawData !== undefined) {
    try {
      startData = JSON.parse(rawData) as Record<string, unknown>;
    } catch {
      throw new UserError(`--data is not JSON: ${rawData}`);
    }
  }
  const rawPicks = args.options.get('pick')?.join(',');
  let picks: number[] | undefined;
  if (rawPicks !== undefined) {
    picks = rawPicks
      .split(',')
      .filter((p) => p.trim() !== '')
      .map((p) => {
        const n = Number(p);
        if (!Number.isInteger(n) || n < 0) throw new UserError(`--pick takes whole numbers, got "${p}"`);
        return n;
      });
  }
  const result = simulate(def, choices, {
    ...(startData === undefined ? {} : { startData }),
    ...(picks === undefined ? {} : { picks }),
  });
  if (args.options.has('json')) {
    const { state: _state, ...rest } = result;
    console.log(JSON.stringify(rest, null, 2));
  } else {
    console.log(formatSimulation(result));
    if (result.emails.length > 0) {
      console.log('\nemails:');
      for (const e of result.emails) {
        console.log(
          `  ${e.rule}: template ${e.template} to ${[...e.to, ...e.cc.map((c) => `cc:${c}`)].join(', ')}`,
        );
      }
    }
  }
  return result.error === undefined ? 0 : 1;
}

function checkCommand(files: string[]): number {
  if (files.length === 0) throw new UserError('Name at least one definition file.');
  let failed = 0;
  for (const file of files) {
    const def = readDefinition(file);
    const started = performance.now();
    const report = checkSoundness(def);
    const ms = (performance.now() - started).toFixed(1);
    console.log(
      `${file}: ${report.states} states, ${report.transitions} transitions, ${report.exhaustive ? 'exhaustive' : `not exhaustive (${report.truncated ?? ''})`}, ${ms} ms`,
    );
    for (const f of report.findings) {
      console.log(
        `  ${f.severity} ${f.check} at ${f.pointer || '/'}: ${f.message}\n    ${replayCommand(file, f)}`,
      );
      if (f.severity === 'error') failed += 1;
    }
    for (const f of report.accepted) console.log(`  accepted ${f.check} at ${f.pointer || '/'}`);
  }
  return failed > 0 ? 1 : 0;
}

function coverageCommand(args: Args): number {
  const def = readDefinition(args.positional[1]);
  const paths = (args.options.get('path') ?? []).map((p) =>
    p
      .split(',')
      .map((c) => c.trim())
      .filter((c) => c !== ''),
  );
  if (paths.length === 0) throw new UserError('Give at least one --path a,b,c');
  const report = coverage(def, paths);
  console.log(formatCoverage(report));
  return report.paths.some((p) => p.error !== undefined) ? 1 : 0;
}

function diagramCommand(args: Args): number {
  const def = readDefinition(args.positional[1]);
  const currentSteps = (args.options.get('current') ?? [])
    .flatMap((c) => c.split(','))
    .filter((c) => c !== '');
  const unknown = currentSteps.filter((s) => !(s in def.steps));
  if (unknown.length > 0) throw new UserError(`Unknown step(s) for --current: ${unknown.join(', ')}`);
  const highlight = currentSteps.length > 0 ? { currentSteps } : undefined;
  const output = args.options.has('html') ? toHtml(def, highlight) : toMermaid(def, highlight);
  const out = args.options.get('out')?.[0];
  if (out === undefined) {
    console.log(output);
    return 0;
  }
  try {
    fs.writeFileSync(out, output);
  } catch {
    throw new UserError(`Cannot write ${out}.`);
  }
  console.log(`wrote ${out}`);
  return 0;
}

async function previewCommand(args: Args): Promise<number> {
  const template = args.positional[1];
  if (!template) throw new UserError(`preview needs a template name.\n\n${USAGE}`);
  const { previewTemplate, PreviewError } = await import('./preview');
  const { TemplateError } = await import('../activities/errors');
  const config = loadConfig();
  const caseId = args.options.get('case')?.[0];
  const locale = args.options.get('locale')?.[0];
  const { definitions } = loadDefinitions(definitionsDir());
  let db: Db | undefined;
  if (caseId !== undefined) {
    if (!config.databaseUrl) throw new UserError('preview --case needs DATABASE_URL');
    db = (await import('../db')).createDb(config.databaseUrl);
  }
  try {
    const preview = await previewTemplate({
      templatesDir: path.join(definitionsDir(), 'templates'),
      template,
      definitions: definitions.map((d) => d.definition),
      publicUrl: config.publicUrl,
      ...(caseId !== undefined ? { caseId } : {}),
      ...(locale !== undefined ? { locale } : {}),
      ...(db ? { db } : {}),
    });
    console.log(`Subject: ${preview.subject}\n(${preview.data} data, locale ${locale ?? 'en'})\n`);
    console.log(args.options.has('html') ? preview.html : preview.text);
    return 0;
  } catch (e) {
    if (e instanceof PreviewError || e instanceof TemplateError) throw new UserError(e.message, 1);
    throw e;
  } finally {
    await db?.close();
  }
}

async function publishCommand(): Promise<number> {
  const config = loadConfig();
  if (!config.databaseUrl)
    throw new UserError('publish needs DATABASE_URL (npm start publishes at start-up by itself)');
  const { createDb } = await import('../db');
  const { migrate } = await import('../db/migrate');
  const { publishDefinitions, InvalidDefinitionsError } = await import('../lib/publish');
  const db = createDb(config.databaseUrl);
  try {
    await migrate(db);
    const published = await publishDefinitions(db, definitionsDir());
    for (const p of published) {
      console.log(
        `${p.created ? 'published' : 'unchanged'} ${p.stored.caseType} v${p.stored.version} (${p.stored.label})`,
      );
    }
    return 0;
  } catch (e) {
    if (e instanceof InvalidDefinitionsError) throw new UserError(e.message, 1);
    throw e;
  } finally {
    await db.close();
  }
}

function main(argv: string[]): number | Promise<number> {
  const args = parseArgs(argv);
  const command = args.positional[0];
  switch (command) {
    case 'validate':
      return validateCommand(args);
    case 'simulate':
      return simulateCommand(args);
    case 'coverage':
      return coverageCommand(args);
    case 'check':
      return checkCommand(args.positional.slice(1));
    case 'diagram':
      return diagramCommand(args);
    case 'publish':
      return publishCommand();
    case 'preview':
      return previewCommand(args);
    case undefined:
    case 'help':
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UserError(`Unknown command "${command}".\n\n${USAGE}`);
  }
}

Promise.resolve()
  .then(() => main(process.argv.slice(2)))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      if (e instanceof UserError) {
        console.log(e.message);
        process.exitCode = e.exitCode;
      } else {
        console.log(`Internal error: ${e instanceof Error ? e.message : String(e)}`);
        if (process.env.DEBUG) console.log(e);
        process.exitCode = 3;
      }
    },
  );
