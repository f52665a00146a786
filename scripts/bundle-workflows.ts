/**
 * `npm run build` step: bundles the case workflows once (webpack, as the worker would at every start) into
 * dist/workflow-bundle.js, which a compiled worker loads (worker/index.ts, PREBUILT_BUNDLE_PATH).
 * Run compiled, from dist/scripts/, so it bundles the same JavaScript the image ships.
 */
import fs from 'node:fs';
import { bundleWorkflowCode } from '@temporalio/worker';
import { logger } from '../lib/logger';
import { PREBUILT_BUNDLE_PATH, WORKFLOWS_PATH } from '../worker';

async function main(): Promise<void> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger() });
  fs.writeFileSync(PREBUILT_BUNDLE_PATH, code);
  logger.info({ file: PREBUILT_BUNDLE_PATH, bytes: code.length }, 'workflow bundle written');
}

/** webpack's report comes at INFO; keep warnings and errors. */
function quietLogger(): Parameters<typeof bundleWorkflowCode>[0]['logger'] {
  const noop = (): void => undefined;
  return {
    trace: noop,
    debug: noop,
    info: noop,
    warn: (message, meta) => logger.warn(meta ?? {}, message),
    error: (message, meta) => logger.error(meta ?? {}, message),
    log: noop,
  };
}

main().catch((err: unknown) => {
  logger.fatal({ err }, 'bundling the workflows failed');
  process.exit(1);
});
