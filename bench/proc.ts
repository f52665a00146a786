/** What processes used, read from /proc (Linux): CPU seconds and resident memory, for the benchmarks. */
import fs from 'node:fs';
import type { Db } from '../db';

const TICK = 100; // clock ticks per second on Linux

function statFields(pid: number): string[] {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** CPU seconds (user + system) used so far by each process, by pid. */
export function cpuByPid(pids: number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    try {
      const fields = statFields(pid);
      out.set(pid, (Number(fields[11]) + Number(fields[12])) / TICK);
    } catch {
      // The process ended.
    }
  }
  return out;
}

/** CPU seconds used between two samples by the processes alive at both (pooled backends live that long). */
export function cpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, end] of after) {
    const start = before.get(pid);
    if (start !== undefined) total += end - start;
  }
  return total;
}

/**
 * CPU seconds used between two samples, counting in full the processes that started in between (a pool's
 * new backends); processes that ended in between are missed.
 */
export function cpuSince(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, end] of after) total += end - (before.get(pid) ?? 0);
  return total;
}

/** Resident set size in MiB of each process (VmRSS), summed. */
export function rssMiB(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      const match = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      kb += Number(match?.[1] ?? 0);
    } catch {
      // The process ended.
    }
  }
  return kb / 1024;
}

/** Pids of the Postgres server behind `db`: the postmaster (parent of the checkpointer) and all its children. */
export async function postgresPids(db: Db): Promise<number[]> {
  const [row] = await db.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'`,
  );
  if (!row) return [];
  const ppidOf = (pid: number) => Number(statFields(pid)[1]);
  const postmaster = ppidOf(row.pid);
  const children = fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => {
      try {
        return ppidOf(pid) === postmaster;
      } catch {
        return false;
      }
    });
  return [postmaster, ...children];
}
