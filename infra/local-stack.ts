/**
 * What `npm start` does before it starts its servers: claim DATA_DIR (one npm start per data directory),
 * stop the servers an earlier start left running (after a `kill -9` or a crash), and check that every
 * port it is about to bind is free, naming the setting to change when a stranger holds one.
 */
import fs from 'node:fs';
import {
  commandLineOf,
  pidFilePath,
  readPidFile,
  removePidFile,
  runs,
  stopLeftover,
  writePidFile,
} from './pid-files';
import { isPortFree } from './ports';

/** The pid files in DATA_DIR: this supervisor's and its servers'. */
export const PID_FILES = { start: 'start', temporal: 'temporal', postgres: 'postgres' } as const;

/** How a leftover is stopped: the signal each server shuts down cleanly on first, then harder ones. */
const STOP_SIGNALS = {
  // The dev server ends on SIGTERM (SQLite is consistent at every commit).
  temporal: [
    ['SIGTERM', 10_000],
    ['SIGKILL', 5_000],
  ],
  // Fast shutdown, then immediate shutdown (recovers at the next start), then kill.
  postgres: [
    ['SIGINT', 15_000],
    ['SIGQUIT', 5_000],
    ['SIGKILL', 5_000],
  ],
} as const;

const LABEL = { temporal: 'Temporal dev server', postgres: 'PostgreSQL' } as const;

/** Another `npm start` runs with the same DATA_DIR. */
export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError';
  readonly code = 'DATA_DIR_IN_USE';
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `Another npm start (pid ${pid}) is running with DATA_DIR ${dataDir}: stop it first, or set DATA_DIR to another directory.`,
    );
  }
}

/** A port npm start needs is held by a process it did not start. */
export class PortInUseError extends Error {
  override name = 'PortInUseError';
  readonly code = 'PORT_IN_USE';
  constructor(readonly busy: { setting: string; host: string; port: number }[]) {
    super(
      busy
        .map(
          (b) =>
            `Port ${b.host}:${b.port} (${b.setting}) is in use by a process this data directory did not start; ` +
            `it is left alone: stop it, or set ${b.setting} to another port.`,
        )
        .join('\n'),
    );
  }
}

/**
 * Records this process as DATA_DIR's npm start (removed again when it exits) and stops the servers an
 * earlier start left behind: only those its pid files name and that still run the command line that
 * start spawned. Logs what it did.
 */
export async function claimDataDir(dataDir: string, log: (msg: string) => void): Promise<void> {
  fs.mkdirSync(dataDir, { recursive: true });
  const own = pidFilePath(dataDir, PID_FILES.start);
  const earlier = readPidFile(own);
  if (earlier && earlier.pid !== process.pid && runs(earlier.pid, earlier.argv)) {
    throw new DataDirInUseError(dataDir, earlier.pid);
  }
  writePidFile(own, { pid: process.pid, argv: commandLineOf(process.pid) ?? process.argv });
  process.once('exit', () => removePidFile(own, process.pid));

  for (const name of ['temporal', 'postgres'] as const) {
    const leftover = await stopLeftover(dataDir, PID_FILES[name], STOP_SIGNALS[name]);
    if (leftover?.outcome === 'stopped') {
      log(`stopped the ${LABEL[name]} (pid ${leftover.pid}) an earlier npm start left running`);
    } else if (leftover?.outcome === 'foreign') {
      log(`${LABEL[name]} pid file named pid ${leftover.pid}, now another program: left alone`);
    }
  }
}

/** Throws PortInUseError listing every port of `ports` that cannot be bound now. */
export async function checkPorts(ports: { setting: string; host: string; port: number }[]): Promise<void> {
  const busy: typeof ports = [];
  for (const p of ports) if (!(await isPortFree(p.port, p.host))) busy.push(p);
  if (busy.length > 0) throw new PortInUseError(busy);
}
