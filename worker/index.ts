import fs from 'node:fs';
import path from 'node:path';
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type LogLevel,
  type WorkerOptions,
} from '@temporalio/worker';
import type { CaseActivities } from '../activities/types';
import type { Config, TemporalSecurity } from '../lib/config';
import { PLAINTEXT, temporalConnectionOptions } from '../lib/temporal';

export interface WorkerSetup {
  address: string;
  /** TLS and API key for `address` (config.temporalSecurity); plaintext when absent. */
  security?: TemporalSecurity;
  namespace: string;
  taskQueue: string;
  activities: CaseActivities;
  /**
   * A pre-built bundle (tests, benchmarks); otherwise the one `npm run build` wrote beside the compiled
   * code (PREBUILT_BUNDLE_PATH), or, run from source, the worker bundles `workflows/` itself.
   */
  workflowBundle?: { code: string } | { codePath: string };
  maxConcurrentActivityTaskExecutions?: number;
  maxConcurrentWorkflowTaskExecutions?: number;
  /** Workflows kept in the sticky cache (bounds the worker's memory; evicted ones replay when needed). */
  maxCachedWorkflows?: number;
  /**
   * After shutdown(): how long running activities may finish before they are cancelled (the SDK's
   * shutdownGraceTime; default 0, cancel at once). Ten seconds more and shutdown gives up on them.
   */
  shutdownGraceMs?: number;
}

/** The worker's capacity from the configuration (WORKER_MAX_*), as `createWorker` takes it. */
export function workerTuning(
  tuning: Config['workerTuning'],
): Pick<
  WorkerSetup,
  'maxCachedWorkflows' | 'maxConcurrentWorkflowTaskExecutions' | 'maxConcurrentActivityTaskExecutions'
> {
  return {
    maxConcurrentWorkflowTaskExecutions: tuning.maxConcurrentWorkflowTaskExecutions,
    maxConcurrentActivityTaskExecutions: tuning.maxConcurrentActivityTaskExecutions,
    ...(tuning.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: tuning.maxCachedWorkflows } : {}),
  };
}

let runtimeInstalled = false;

/**
 * Installs the SDK's runtime once per process, before any worker or native connection: its log level
 * (its INFO lines include webpack's bundle report) and, with `prometheusBindAddress` (`127.0.0.1:9465`),
 * its Prometheus exporter of worker and connection metrics. Later calls change nothing.
 */
export function installRuntime(options: { level?: LogLevel; prometheusBindAddress?: string } = {}): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({
    logger: new DefaultLogger(options.level ?? 'WARN'),
    ...(options.prometheusBindAddress
      ? { telemetryOptions: { metrics: { prometheus: { bindAddress: options.prometheusBindAddress } } } }
      : {}),
  });
}

/** `installRuntime` with the SDK's log level only. */
export function installRuntimeLogging(level: LogLevel = 'WARN'): void {
  installRuntime({ level });
}

/** Path of the workflow entry point, for bundling. */
export const WORKFLOWS_PATH = require.resolve('../workflows');

/**
 * Where `npm run build` writes the workflow bundle: dist/workflow-bundle.js beside the compiled worker/.
 * Run from source, this names a file that never exists, so a stale bundle cannot shadow edited workflows.
 */
export const PREBUILT_BUNDLE_PATH = path.join(__dirname, '..', 'workflow-bundle.js');

/**
 * The bundle a worker runs when its caller passes none: the prebuilt one if present. Compiled code in
 * production (NODE_ENV=production) must have it: bundling at start needs webpack and a minute of CPU.
 */
export function defaultWorkflowBundle(): { codePath: string } | undefined {
  if (fs.existsSync(PREBUILT_BUNDLE_PATH)) return { codePath: PREBUILT_BUNDLE_PATH };
  if (process.env.NODE_ENV === 'production' && __filename.endsWith('.js')) {
    throw new Error(`No prebuilt workflow bundle at ${PREBUILT_BUNDLE_PATH}: run npm run build`);
  }
  return undefined;
}

/** Creates a worker for case workflows and their activities. The caller runs and shuts it down. */
export async function createWorker(
  setup: WorkerSetup,
): Promise<{ worker: Worker; connection: NativeConnection }> {
  installRuntimeLogging();
  const connection = await NativeConnection.connect({
    address: setup.address,
    ...temporalConnectionOptions(setup.security ?? PLAINTEXT),
  });
  const options: WorkerOptions = {
    connection,
    namespace: setup.namespace,
    taskQueue: setup.taskQueue,
    activities: setup.activities as unknown as WorkerOptions['activities'],
    maxConcurrentActivityTaskExecutions: setup.maxConcurrentActivityTaskExecutions ?? 50,
    ...(setup.maxConcurrentWorkflowTaskExecutions !== undefined
      ? { maxConcurrentWorkflowTaskExecutions: setup.maxConcurrentWorkflowTaskExecutions }
      : {}),
    ...(setup.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: setup.maxCachedWorkflows } : {}),
    ...(setup.shutdownGraceMs !== undefined
      ? { shutdownGraceTime: setup.shutdownGraceMs, shutdownForceTime: setup.shutdownGraceMs + 10_000 }
      : {}),
    ...workflowSource(setup.workflowBundle ?? defaultWorkflowBundle()),
  };
  const worker = await Worker.create(options);
  return { worker, connection };
}

function workflowSource(
  bundle: WorkerSetup['workflowBundle'],
): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  return bundle ? { workflowBundle: bundle } : { workflowsPath: WORKFLOWS_PATH };
}
