/** `npm run temporal:server:install`: builds (or finds cached) the real Temporal server and its SQL tool for `npm run test:cluster`. */
import { loadConfig } from '../lib/config';
import { resolveTemporalServer, serverVersion } from '../infra/temporal-cluster-build';

async function main(): Promise<void> {
  const config = loadConfig();
  const started = Date.now();
  const bin = await resolveTemporalServer({
    cacheDir: config.cacheDir,
    log: (msg) => console.log(`  ${msg}`),
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`Temporal server: ${bin.server}`);
  console.log(`  SQL tool: ${bin.sqlTool}`);
  console.log(`  schema: ${bin.schemaDir}`);
  console.log(`  route: ${bin.source} (${seconds} s)`);
  console.log(`  ${await serverVersion(bin.server)}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
