/**
 * BENCH_TEMPORAL=cluster: the benchmarks run against the real multi-service Temporal server (the cluster
 * test tier's build: frontend, history, matching and worker as separate processes, 4 history shards) on
 * an embedded PostgreSQL of its own, instead of the single-process dev server. Started before the test
 * servers, it hands its address over as TEST_TEMPORAL_ADDRESS, which global-setup uses as is.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../lib/config';
import { freePort } from '../infra/ports';
import { startEmbeddedPostgres } from '../infra/postgres';
import { resolveTemporalServer } from '../infra/temporal-cluster-build';
import { startProjectCluster } from '../infra/temporal-cluster';

/** Starts the cluster, sets TEST_TEMPORAL_ADDRESS, and returns its stop. */
export async function startBenchCluster(log: (msg: string) => void): Promise<() => Promise<void>> {
  const binaries = await resolveTemporalServer({ cacheDir: loadConfig().cacheDir, log });
  const workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'crm-bench-cluster-'));
  const postgres = await startEmbeddedPostgres({
    dataDir: path.join(workDir, 'pg'),
    port: await freePort(),
    log,
    database: 'temporal_bench',
    settings: ['max_connections=300'],
  });
  try {
    const cluster = await startProjectCluster({
      binaries,
      postgresUrl: postgres.url,
      workDir: path.join(workDir, 'temporal'),
      namespace: 'default',
      log,
    });
    process.env.TEST_TEMPORAL_ADDRESS = cluster.address;
    // Its databases (temporal, temporal_visibility), for the disk figures of the capacity bench.
    process.env.BENCH_TEMPORAL_DATABASE_URL = postgres.url;
    log(`Temporal cluster (server ${binaries.source}) at ${cluster.address}, on its own PostgreSQL`);
    return async () => {
      await cluster.stop();
      await postgres.stop();
      await fs.rm(workDir, { recursive: true, force: true });
    };
  } catch (err) {
    await postgres.stop();
    throw err;
  }
}
