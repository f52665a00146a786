/**
 * Pid files of the servers `npm start` runs (DATA_DIR/<name>.pid), so a start after a crash (a `kill -9`
 * of npm start leaves the Temporal dev server and PostgreSQL running: they are in their own process
 * groups) can stop its own leftovers. A leftover is stopped only when its pid file names it AND the
 * process still runs the very command line we started; a pid reused by another program is left alone.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface PidRecord {
  pid: number;
  /** The command line as spawned: the program, then its arguments. */
  argv: string[];
}

export interface Leftover {
  name: string;
  pid: number;
  /** What happened to it: stopped (it was ours), gone (the pid file was stale), foreign (pid reused). */
  outcome: 'stopped' | 'gone' | 'foreign';
}

/** The pid file of server `name` in `dataDir`. */
export function pidFilePath(dataDir: string, name: string): string {
  return path.join(dataDir, `${name}.pid`);
}

export function writePidFile(file: string, record: PidRecord): void {
  fs.writeFileSync(file, `${JSON.stringify(record)}\n`);
}

/** Removes `file` if it still names `pid` (a newer start may have written its own meanwhile). */
export function removePidFile(file: string, pid: number): void {
  if (readPidFile(file)?.pid === pid) fs.rmSync(file, { force: true });
}

export function readPidFile(file: string): PidRecord | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<PidRecord>;
    if (!Number.isInteger(parsed.pid) || (parsed.pid as number) <= 0 || !Array.isArray(parsed.argv))
      return undefined;
    return { pid: parsed.pid as number, argv: parsed.argv.map(String) };
  } catch {
    return undefined;
  }
}

/**
 * The command line of a live process: /proc/<pid>/cmdline on Linux, `ps` elsewhere (arguments joined
 * by spaces there). Undefined when the process is gone, a zombie (Z) or dying (X).
 */
export function commandLineOf(pid: number): string[] | undefined {
  if (fs.existsSync('/proc/self/cmdline')) {
    try {
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      if (/^State:\s+[ZX]/m.test(status)) return undefined;
      const raw = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return raw.split('\0').slice(0, raw.endsWith('\0') ? -1 : undefined);
    } catch {
      return undefined;
    }
  }
  try {
    const line = execFileSync('ps', ['-ww', '-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    return line ? [line] : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `pid` runs exactly `argv` (on systems without /proc: the same text, arguments joined). */
export function runs(pid: number, argv: string[]): boolean {
  const actual = commandLineOf(pid);
  if (actual === undefined) return false;
  if (actual.length === 1 && argv.length > 1) return actual[0] === argv.join(' ');
  return actual.length === argv.length && actual.every((arg, i) => arg === argv[i]);
}

/**
 * Stops the server a pid file names if it is still ours: `signals` in order, each given its time to
 * end the process. Removes the pid file in every case. Returns undefined when there is no pid file.
 */
export async function stopLeftover(
  dataDir: string,
  name: string,
  signals: readonly (readonly [NodeJS.Signals, number])[],
): Promise<Leftover | undefined> {
  const file = pidFilePath(dataDir, name);
  if (!fs.existsSync(file)) return undefined;
  const record = readPidFile(file);
  if (!record || commandLineOf(record.pid) === undefined) {
    fs.rmSync(file, { force: true });
    return { name, pid: record?.pid ?? 0, outcome: 'gone' };
  }
  if (!runs(record.pid, record.argv)) {
    fs.rmSync(file, { force: true });
    return { name, pid: record.pid, outcome: 'foreign' };
  }
  for (const [signal, waitMs] of signals) {
    try {
      process.kill(record.pid, signal);
    } catch {
      break; // gone meanwhile
    }
    if (await endsWithin(record.pid, record.argv, waitMs)) break;
  }
  if (runs(record.pid, record.argv)) {
    throw new Error(`could not stop the leftover ${name} (pid ${record.pid}) of an earlier start`);
  }
  fs.rmSync(file, { force: true });
  return { name, pid: record.pid, outcome: 'stopped' };
}

async function endsWithin(pid: number, argv: string[], ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  let delay = 10;
  while (Date.now() < deadline) {
    if (!runs(pid, argv)) return true;
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 200);
  }
  return !runs(pid, argv);
}
