/** `npm run temporal:install`: finds, downloads or builds the Temporal CLI and says which route worked. */
import { loadConfig } from '../lib/config';
import {
  cliVersion,
  resolveTemporalCli,
  TemporalCliNotFoundError,
  TemporalCliPathError,
} from '../infra/temporal-cli';

async function main(): Promise<void> {
  const config = loadConfig();
  const started = Date.now();
  const cli = await resolveTemporalCli({
    cacheDir: config.cacheDir,
    cliPathEnv: config.temporalCliPath,
    log: (msg) => console.log(`  ${msg}`),
  });
  const version = (await cliVersion(cli.path)) ?? 'version unknown';
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`Temporal CLI: ${cli.path}`);
  console.log(`  route: ${cli.source} (${seconds} s)`);
  console.log(`  ${version}`);
  if (config.temporalAddress) {
    console.log(
      `  note: TEMPORAL_ADDRESS=${config.temporalAddress} is set, so npm start will not use this CLI.`,
    );
  }
}

main().catch((err: unknown) => {
  if (err instanceof TemporalCliNotFoundError || err instanceof TemporalCliPathError)
    console.error(err.message);
  else console.error(err);
  process.exitCode = 1;
});
