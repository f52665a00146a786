/**
 * Builds the web app (web/dist) when it is missing or older than any of its sources, so `npm start`
 * and the end-to-end tests always serve the current screens without a separate build step.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const WEB_DIR = path.join(__dirname, '..', 'web');
const SOURCES = ['src', 'public', 'index.html', 'vite.config.mts', 'package.json'];

function newestMtime(p: string): number {
  if (!fs.existsSync(p)) return 0;
  const stat = fs.statSync(p);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of fs.readdirSync(p)) newest = Math.max(newest, newestMtime(path.join(p, entry)));
  return newest;
}

/** Whether web/dist is missing or older than a source file. */
export function webBuildStale(): boolean {
  const index = path.join(WEB_DIR, 'dist', 'index.html');
  if (!fs.existsSync(index)) return true;
  const built = fs.statSync(index).mtimeMs;
  return SOURCES.some((s) => newestMtime(path.join(WEB_DIR, s)) > built);
}

/** Runs the Vite build if needed; throws with its output when it fails. Returns whether it built. */
export function ensureWebBuild(log: (msg: string) => void): boolean {
  if (!webBuildStale()) return false;
  log('building the web app (web/dist)');
  const vite = path.join(__dirname, '..', 'node_modules', '.bin', 'vite');
  const result = spawnSync(vite, ['build', '--logLevel', 'warn'], { cwd: WEB_DIR, encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`web app build failed:\n${result.stdout ?? ''}${result.stderr ?? ''}`);
  }
  return true;
}
