import fs from 'node:fs';
import { readState } from './support/stack';

/** Stops the stack like Ctrl-C does (scripts/start.ts stops every server in order), then removes its data. */
export default async function globalTeardown(): Promise<void> {
  const state = readState();
  if (state.pid === 0) return;
  const alive = () => {
    try {
      process.kill(state.pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (alive()) process.kill(state.pid, 'SIGINT');
  const deadline = Date.now() + 60_000;
  while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  if (alive()) process.kill(state.pid, 'SIGKILL');
  if (!process.env.E2E_KEEP_DATA) fs.rmSync(state.dataDir, { recursive: true, force: true });
}
