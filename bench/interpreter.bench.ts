import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { applyEvent, startCase } from '../engine/interpreter';
import type { Actor, CaseState } from '../engine/state';
import { shippedDefinition, silentLogger } from '../test/support/env';
import { WORKFLOWS_PATH } from '../worker';
import type { BenchResult } from './run';
import { ms } from './stats';

const actor: Actor = { userId: 'alice', role: 'agent', teams: ['sales'] };

/** The pure interpreter's cost per event, and the size of the workflow bundle workers load. */
export default async function interpreterBench(): Promise<BenchResult> {
  const def = shippedDefinition('opportunity');
  const cases = 20_000;
  let events = 0;
  const run = () => {
    let now = Date.UTC(2030, 0, 1);
    let state: CaseState = startCase(
      def,
      { caseId: 'c', caseType: def.id, definitionVersion: 1, data: { subject: 'x' } },
      now,
    ).state;
    events += 1;
    for (const outcome of ['interested', 'presented', 'postponed', 'ready', 'won']) {
      const task = Object.values(state.tasks).find((t) => t.status === 'open');
      if (!task) break;
      now += 1000;
      state = applyEvent(def, state, { type: 'claim', taskId: task.id, actor }, now).state;
      state = applyEvent(def, state, { type: 'complete', taskId: task.id, outcome, actor }, now).state;
      events += 2;
    }
  };
  for (let i = 0; i < 2000; i++) run(); // warm-up
  events = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < cases; i++) run();
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: silentLogger });
  return {
    name: 'Interpreter and workflow bundle',
    figures: {
      'events applied': events,
      'interpreter cost per event (µs)': ms((elapsedMs * 1000) / events),
      'workflow bundle size (KiB)': Math.round(Buffer.byteLength(code) / 1024),
    },
    notes: [
      `${cases} opportunity cases (start + 5 claim/complete pairs each), ${path.basename(WORKFLOWS_PATH)} bundled with webpack`,
    ],
  };
}
