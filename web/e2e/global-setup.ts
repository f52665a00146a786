import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../infra/ports';
import { STATE_ENV, type StackState } from './support/stack';

const ROOT = path.join(__dirname, '..', '..');

/**
 * Starts the whole stack the way `npm start` does (scripts/start.ts: Temporal dev server, embedded
 * PostgreSQL, SMTP sink, worker, API serving web/dist, which it builds when stale) on free ports in a
 * fresh data directory, and hands the tests its URL and the demo admin's token.
 */
export default async function globalSetup(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-e2e-'));
  if (process.env.E2E_BASE_URL && process.env.E2E_ADMIN_TOKEN) {
    // A stack someone already runs (npm start): only for a quick local loop, never in CI.
    return writeState({
      baseUrl: process.env.E2E_BASE_URL,
      adminToken: process.env.E2E_ADMIN_TOKEN,
      pid: 0,
      dataDir,
    });
  }
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: String(port),
    PUBLIC_URL: `http://localhost:${port}`,
    TEMPORAL_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
    EMBEDDED_POSTGRES_PORT: String(await freePort()),
    SMTP_SINK_PORT: String(await freePort()),
    TASK_QUEUE: 'crm-e2e',
    SEED_DEMO: 'true',
    LOG_LEVEL: 'warn',
  };
  delete env.DATABASE_URL;
  delete env.TEMPORAL_ADDRESS;
  delete env.SMTP_URL;
  const log = fs.openSync(path.join(dataDir, 'stack.log'), 'a');
  const child = spawn(path.join(ROOT, 'node_modules', '.bin', 'tsx'), ['scripts/start.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', log],
  });
  const output: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`stack did not start in 240 s:\n${output.join('')}`)),
      240_000,
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      output.push(chunk.toString());
      fs.writeSync(log, chunk);
      if (output.join('').includes('Press Ctrl-C to stop.')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`stack exited with ${code}; log in ${dataDir}/stack.log:\n${output.join('')}`));
    });
  });
  child.stdout?.on('data', (chunk: Buffer) => fs.writeSync(log, chunk));
  child.removeAllListeners('exit');
  const demo = JSON.parse(fs.readFileSync(path.join(dataDir, 'demo-tokens.json'), 'utf8')) as {
    id: string;
    token: string;
  }[];
  const admin = demo.find((u) => u.id === 'admin');
  if (!admin) throw new Error('no demo admin token');
  writeState({ baseUrl: `http://localhost:${port}`, adminToken: admin.token, pid: child.pid ?? 0, dataDir });
}

function writeState(state: StackState): void {
  const stateFile = path.join(state.dataDir, 'e2e-state.json');
  fs.writeFileSync(stateFile, JSON.stringify(state));
  process.env[STATE_ENV] = stateFile;
}
