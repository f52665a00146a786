/**
 * The bare Temporal baseline of the completion benchmark: the same Temporal work as completing a case's
 * last task (a started workflow, one update whose handler runs one local activity, then completion),
 * without the interpreter, the projection's SQL or HTTP.
 */
import { allHandlersFinished, condition, proxyLocalActivities, setHandler } from '@temporalio/workflow';
import { finishUpdate } from './messages';

const { touch } = proxyLocalActivities<{ touch(input: string): Promise<string> }>({
  startToCloseTimeout: '10 seconds',
});

export async function baselineWorkflow(): Promise<void> {
  let finished = false;
  setHandler(finishUpdate, async (input) => {
    const result = await touch(input);
    finished = true;
    return result;
  });
  await condition(() => finished);
  await condition(allHandlersFinished);
}
