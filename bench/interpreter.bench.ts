import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { applyEvent, startCase } from '../engine/interpreter';
import type { Actor, CaseState } from '../engine/state';
import { checkSoundness } from '../designer/soundness';
import { definitionFiles } from '../designer/validate';
import type { CaseTypeDefinition } from '../engine/types';
import { DEFINITIONS_DIR, shippedDefinition, silentLogger } from '../test/support/env';
import fs from 'node:fs';
import { WORKFLOWS_PATH } from '../worker';
import type { BenchResult } from './run';
import { ms } from './stats';

const actor: Actor = { userId: 'alice', role: 'agent', teams: ['sales'] };

/** Microseconds per event of `cases` opportunity cases run under the given token semantics. */
function perEvent(def: CaseTypeDefinition, semantics: 1 | 2, cases: number): { us: number; events: number } {
  let events = 0;
  const run = () => {
    let now = Date.UTC(2030, 0, 1);
    let state: CaseState = startCase(
      def,
      { caseId: 'c', caseType: def.id, definitionVersion: 1, data: { subject: 'x' }, semantics },
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
  return { us: (elapsedMs * 1000) / events, events };
}

/** The soundness check's time for one definition: the median of `runs` runs, in ms. */
function soundnessMs(def: CaseTypeDefinition, runs: number): { ms: number; states: number } {
  const times: number[] = [];
  let states = 0;
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    states = checkSoundness(def).states;
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)] ?? 0, states };
}

/**
 * The pure interpreter's cost per event under token semantics 1 (the rules before, which cases started
 * before keep) and 2, the soundness check's time per shipped definition, and the workflow bundle's size.
 */
export default async function interpreterBench(): Promise<BenchResult> {
  const def = shippedDefinition('opportunity');
  const cases = 20_000;
  // Interleaved so that a load change on the machine hits both alike.
  const before = perEvent(def, 1, cases / 2);
  const after = perEvent(def, 2, cases / 2);
  const before2 = perEvent(def, 1, cases / 2);
  const after2 = perEvent(def, 2, cases / 2);
  const figures: Record<string, number | string> = {
    'events applied per semantics': before.events + before2.events,
    'interpreter cost per event, semantics 1 (µs)': ms((before.us + before2.us) / 2),
    'interpreter cost per event, semantics 2 (µs)': ms((after.us + after2.us) / 2),
  };
  for (const file of definitionFiles(DEFINITIONS_DIR)) {
    const shipped = JSON.parse(fs.readFileSync(file, 'utf8')) as CaseTypeDefinition;
    const check = soundnessMs(shipped, 21);
    figures[`soundness check ${shipped.id} (ms, ${check.states} states)`] = ms(check.ms);
  }
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: silentLogger });
  figures['workflow bundle size (KiB)'] = Math.round(Buffer.byteLength(code) / 1024);
  return {
    name: 'Interpreter, soundness check and workflow bundle',
    figures,
    notes: [
      `${cases} opportunity cases per semantics (start + 5 claim/complete pairs each), in two interleaved halves`,
      'soundness check: median of 21 runs per shipped definition',
      `${path.basename(WORKFLOWS_PATH)} bundled with webpack`,
    ],
  };
}
