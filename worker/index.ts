import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type LogLevel,
  type WorkerOptions,
} from '@temporalio/worker';
import type { CaseActivities } from '../activities/types';

export interface WorkerSetup {
  address: string;
  namespace: string;
  taskQueue: string;
  activities: CaseActivities;
  /** A pre-built bundle (tests, benchmarks); otherwise the worker bundles `workflows/` itself. */
  workflowBundle?: { code: string } | { codePath: string };
  maxConcurrentActivityTaskExecutions?: number;
}

let runtimeInstalled = false;

/** Sets the SDK's log level (its INFO lines include webpack's bundle report). Call before creating workers. */
export function installRuntimeLogging(level: LogLevel = 'WARN'): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger(level) });
}

/** Path of the workflow entry point, for bundling. */
export const WORKFLOWS_PATH = require.resolve('../workflows');

/** Creates a worker for case workflows and their activities. The caller runs and shuts it down. */
export async function createWorker(
  setup: WorkerSetup,
): Promise<{ worker: Worker; connection: NativeConnection }> {
  installRuntimeLogging();
  const connection = await NativeConnection.connect({ address: setup.address });
  const options: WorkerOptions = {
    connection,
    namespace: setup.namespace,
    taskQueue: setup.taskQueue,
    activities: setup.activities as unknown as WorkerOptions['activities'],
    maxConcurrentActivityTaskExecutions: setup.maxConcurrentActivityTaskExecutions ?? 50,
    ...(setup.workflowBundle ? { workflowBundle: setup.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
  };
  const worker = await Worker.create(options);
  return { worker, connection };
}
