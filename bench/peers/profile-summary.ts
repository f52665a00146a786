/**
 * Where a Node process spent its time, from a `--cpu-prof` file: self time by package (or our folder)
 * and the top functions. Run: `npx tsx bench/peers/profile-summary.ts <file.cpuprofile>...`
 */
import fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The bucket a script belongs to: an npm package, a folder of ours, or Node's internals. */
function bucket(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg?.[1]) return pkg[1];
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const ours = /\/(api|engine|crm|db|workflows|activities|worker|identity|lib|email|cases|tasks)\//.exec(url);
  if (ours) return `ours: ${ours[1] ?? ''}/`;
  return url.split('/').slice(-2).join('/');
}

function summarise(file: string): void {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self.entries()]
    .filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)')
    .reduce((a, [, t]) => a + t, 0);
  const busy = total - idle;
  const buckets = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, t] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    const b = bucket(url, functionName);
    buckets.set(b, (buckets.get(b) ?? 0) + t);
    const key = `${functionName || '(anonymous)'} ${b} :${lineNumber + 1}`;
    functions.set(key, (functions.get(key) ?? 0) + t);
  }
  const pct = (t: number) => `${((100 * t) / busy).toFixed(1).padStart(5)} %`;
  console.log(`\n${file}: busy ${(busy / 1e6).toFixed(1)} s of ${(total / 1e6).toFixed(1)} s sampled`);
  console.log('  self time by package / folder:');
  for (const [b, t] of [...buckets].sort((a, c) => c[1] - a[1]).slice(0, 14))
    console.log(`  ${pct(t)}  ${b}`);
  console.log('  top functions (self):');
  for (const [f, t] of [...functions].sort((a, c) => c[1] - a[1]).slice(0, 12))
    console.log(`  ${pct(t)}  ${f}`);
}

for (const file of process.argv.slice(2)) summarise(file);
