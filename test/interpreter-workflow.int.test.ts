import fc from 'fast-check';
import { applyEvent, startCase } from '../engine/interpreter';
import type { CaseState } from '../engine/state';
import type { CaseTypeDefinition } from '../engine/types';
import { actUpdate, CASE_WORKFLOW_TYPE, readyUpdate, stateQuery } from '../workflows/messages';
import { startTestEnv, type TestEnv } from './support/env';
import { buildDefinition, possibleEvents, tapes } from './support/random-definitions';

/**
 * A sample of random definitions (with parallels, forks and joins) run through the real worker on the
 * real Temporal server, event by event, beside the pure interpreter: after each event the workflow's own
 * state (read with the state Query) must be what the interpreter computes.
 */

let env: TestEnv;
beforeAll(async () => {
  env = await startTestEnv();
});
afterAll(async () => env.stop());

/** What must agree: status, end, every task's step, status and outcome, the live tokens and joins. */
function view(state: CaseState): unknown {
  return {
    status: state.status,
    ended: state.ended,
    tasks: Object.values(state.tasks).map((t) => [t.id, t.step, t.status, t.outcome]),
    tokens: state.tokens.map((t) => [t.id, t.step, t.groups]),
    joins: state.joins,
    visits: state.visits,
  };
}

/** Definitions with a parallel and no wait that takes real time (a one-day wait would stop the sample). */
function sample(): { def: CaseTypeDefinition; picks: number[] }[] {
  const found: { def: CaseTypeDefinition; picks: number[] }[] = [];
  const candidates = fc.sample(fc.tuple(tapes(), fc.array(fc.nat(), { minLength: 12, maxLength: 12 })), {
    seed: 20261202,
    numRuns: 400,
  });
  for (const [tape, picks] of candidates) {
    const def = buildDefinition(tape);
    const steps = Object.values(def.steps);
    if (!steps.some((s) => s.type === 'parallel')) continue;
    if (steps.some((s) => s.type === 'wait' && s.until !== 'PT0S')) continue;
    found.push({ def, picks });
    if (found.length === 4) break;
  }
  return found;
}

describe('the workflow runs a definition exactly as the interpreter does', () => {
  const cases = sample();

  it('has a sample of definitions with parallels', () => {
    expect(cases).toHaveLength(4);
  });

  it.each(cases.map((c, i) => [i, c] as const))('random definition %i', async (i, { def, picks }) => {
    const caseId = `${env.prefix}-gen-${i}`;
    const start = { caseId, caseType: def.id, definitionVersion: 1 };
    const handle = await env.client.workflow.start(CASE_WORKFLOW_TYPE, {
      workflowId: caseId,
      taskQueue: env.taskQueue,
      args: [{ definition: def, start }],
    });
    await handle.executeUpdate(readyUpdate);
    let expected = startCase(def, start, Date.now()).state;
    expect(view(await handle.query(stateQuery))).toEqual(view(expected));
    for (const pick of picks) {
      const events = possibleEvents(def, expected).filter((e) => e.type === 'complete');
      const event = events[pick % Math.max(1, events.length)];
      if (!event || event.type !== 'complete') break;
      expected = applyEvent(def, expected, event, Date.now()).state;
      await handle.executeUpdate(actUpdate, { args: [event] });
      expect(view(await handle.query(stateQuery))).toEqual(view(expected));
    }
    if (expected.ended) await handle.result();
  });
});
