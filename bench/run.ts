/**
 * `npm run bench [-- name...]`: runs every `bench/*.bench.ts` (or the named ones) against real servers
 * started the way the integration tests start them, and prints each benchmark's figures.
 * Results also go to `.data/bench/<name>.json` so docs/benchmarks.md can be refreshed from them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import globalSetup from '../test/global-setup';
import globalTeardown from '../test/global-teardown';
import { startBenchCluster } from './temporal-cluster';

export interface BenchResult {
  name: string;
  /** Figure name -> value (numbers in ms unless the name says otherwise). */
  figures: Record<string, number | string>;
  notes?: string[];
}

export type Bench = () => Promise<BenchResult>;

/** Benchmarks that run only when named (`npm run bench -- capacity`): they take far longer than the rest. */
const ON_DEMAND = ['capacity'];

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.ts'))
    .map((f) => f.replace(/\.bench\.ts$/, ''))
    .filter((name) => (wanted.length === 0 ? !ON_DEMAND.includes(name) : wanted.includes(name)))
    .sort();
  if (files.length === 0) {
    console.error(`No benchmark matches ${wanted.join(', ')}`);
    process.exit(2);
  }
  console.log(
    `Machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  );
  // Postgres sized for the 1M-task data sets (the inbox's tasks and their indexes take about 470 MB), as
  // a server holding them would be; Postgres's default is 128 MB.
  process.env.EMBEDDED_POSTGRES_SETTINGS ??= 'shared_buffers=1GB';
  console.log(`Embedded PostgreSQL settings: ${process.env.EMBEDDED_POSTGRES_SETTINGS}`);
  // BENCH_TEMPORAL=cluster: the real multi-service Temporal server instead of the dev server.
  const stopCluster =
    process.env.BENCH_TEMPORAL === 'cluster'
      ? await startBenchCluster((msg) => console.log(`  [cluster] ${msg}`))
      : undefined;
  if (process.env.BENCH_TEMPORAL && process.env.BENCH_TEMPORAL !== 'cluster') {
    console.error(`BENCH_TEMPORAL=${process.env.BENCH_TEMPORAL}: the only value is "cluster"`);
    process.exit(2);
  }
  console.log(`Temporal: ${stopCluster ? 'cluster (4 services, PostgreSQL)' : 'CLI dev server'}`);
  await globalSetup();
  const outDir = path.resolve(__dirname, '..', '.data', 'bench');
  fs.mkdirSync(outDir, { recursive: true });
  try {
    for (const name of files) {
      const mod = (await import(`./${name}.bench`)) as { default: Bench };
      const started = Date.now();
      const result = await mod.default();
      console.log(`\n## ${result.name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      for (const [figure, value] of Object.entries(result.figures))
        console.log(`  ${figure.padEnd(48)} ${value}`);
      for (const note of result.notes ?? []) console.log(`  note: ${note}`);
      fs.writeFileSync(
        path.join(outDir, `${name}.json`),
        JSON.stringify({ ...result, at: new Date().toISOString() }, null, 2),
      );
    }
  } finally {
    await globalTeardown();
    await stopCluster?.();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
