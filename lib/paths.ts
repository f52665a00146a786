import fs from 'node:fs';
import path from 'node:path';

/**
 * The directory holding package.json, found upwards from this file: the repository when run from source
 * (lib/), the same directory when run compiled (dist/lib/). Shipped files (definitions/, db/migrations/,
 * web/dist/) are found from here, so source and compiled code read the same ones.
 */
export const PROJECT_ROOT = findRoot(__dirname);

function findRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(start, '..');
  }
}
