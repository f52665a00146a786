/**
 * `node dist/scripts/prune-node-modules.js <node_modules>` (compiled by `npm run build`): removes from a production node_modules what no
 * running process reads, for the image (the Dockerfile's deps stage and scripts/image-check.sh run it):
 *   - the Temporal core bridge's native libraries for other platforms (it ships five, about 27 MB each;
 *     the one kept is the one its own loader picks on this machine: `getPrebuiltTargetName()`), and its
 *     Rust sources;
 *   - type declarations, source maps and TypeScript sources (`*.d.ts`, `*.map`, `*.ts`, `*.tsx`),
 *     Markdown files other than licences;
 *   - exceljs's browser bundles (`dist/`: Node loads `lib/`).
 * Licence and notice files stay. Node built-ins only: it runs on a node_modules that has no dev dependencies.
 * Prints what it removed.
 */
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(process.argv[2] ?? 'node_modules');
if (!fs.existsSync(root)) {
  console.error(`prune-node-modules: ${root} does not exist`);
  process.exit(1);
}

let removed = 0;
function sizeOf(p: string): number {
  const st = fs.lstatSync(p);
  if (!st.isDirectory()) return st.size;
  return fs.readdirSync(p).reduce((sum, name) => sum + sizeOf(path.join(p, name)), 0);
}
function remove(p: string): void {
  if (!fs.existsSync(p)) return;
  removed += sizeOf(p);
  fs.rmSync(p, { recursive: true, force: true });
}

// The core bridge: keep the native library its loader resolves here.
const bridge = path.join(root, '@temporalio', 'core-bridge');
if (fs.existsSync(bridge)) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the bridge's own loader, by path
  const { getPrebuiltTargetName } = require(path.join(bridge, 'common.js')) as {
    getPrebuiltTargetName: () => string;
  };
  const keep = getPrebuiltTargetName();
  const releases = path.join(bridge, 'releases');
  if (!fs.existsSync(path.join(releases, keep, 'index.node'))) {
    console.error(`prune-node-modules: no core bridge library for ${keep}; nothing pruned`);
    process.exit(1);
  }
  for (const target of fs.readdirSync(releases)) if (target !== keep) remove(path.join(releases, target));
  for (const name of ['sdk-core', 'src', 'bridge-macros', 'Cargo.toml', 'Cargo.lock'])
    remove(path.join(bridge, name));
}

remove(path.join(root, 'exceljs', 'dist'));

const licence = /^(licen[cs]e|notice|copying)/i;
const dropped = /(\.d\.ts|\.d\.mts|\.d\.cts|\.map|\.tsx?|\.mts|\.cts|\.md|\.markdown)$/i;
function walk(dir: string): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(p);
    else if (entry.isFile() && dropped.test(entry.name) && !licence.test(entry.name)) remove(p);
  }
}
walk(root);

console.log(`prune-node-modules: removed ${(removed / 1048576).toFixed(1)} MB from ${root}`);
