/** The baseline's worker, in its own process like the case worker. Prints "ready" once polling. */
import { NativeConnection, Worker } from '@temporalio/worker';

async function main(): Promise<void> {
  const address = process.env.TEST_TEMPORAL_ADDRESS;
  const taskQueue = process.env.TASK_QUEUE;
  if (!address || !taskQueue) throw new Error('TEST_TEMPORAL_ADDRESS and TASK_QUEUE are required');
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    namespace: 'default',
    taskQueue,
    workflowsPath: require.resolve('./workflows'),
    activities: { touch: async (input: string) => input },
  });
  const running = worker.run();
  process.stdout.write('ready\n');
  await running;
}

void main();
