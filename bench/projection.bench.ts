/**
 * The case projection (activities/projection.ts) under concurrency: 1,000 cases of one case type, status and
 * owner (so they share one pipeline-totals row) move from OPEN to DONE, 4 or 16 projections at a time, as
 * completions arriving together at a busy team's cases do. Reports projections per second and the latency
 * of one projection.
 */
import { projectCase } from '../activities/projection';
import type { ProjectionInput } from '../activities/types';
import { startTestEnv } from '../test/support/env';
import { inBatches } from '../test/support/matrix';
import { caseProjection, projectedTask } from '../test/support/projection';
import type { BenchResult } from './run';
import { ms, percentile } from './stats';

const CASES = 1000;
const CONCURRENCY = [4, 16];

export default async function projectionBench(): Promise<BenchResult> {
  const env = await startTestEnv({ worker: false });
  const at = Date.now();
  const caseType = `${env.prefix}-projection-bench`;
  const projection = (caseId: string, version: number): ProjectionInput => {
    const done = version > 1;
    return caseProjection(env, {
      caseId,
      caseType,
      version,
      status: done ? 'DONE' : 'OPEN',
      at,
      tasks: [
        projectedTask(env, `${caseId}-work`, at, {
          status: done ? 'completed' : 'open',
          assignee: env.users.alice.id,
          priority: 'normal',
          claimedAt: at,
          completedAt: done ? at + version : null,
          completedBy: done ? env.users.alice.id : null,
          outcome: done ? 'close' : null,
          formData: done ? { note: 'done' } : null,
          version,
        }),
      ],
      timeline: [
        {
          seq: version,
          at: at + version,
          kind: done ? 'task.completed' : 'case.started',
          actor: 'bench',
          detail: {},
        },
      ],
    });
  };
  const figures: Record<string, number | string> = {};
  try {
    for (const concurrency of CONCURRENCY) {
      const ids = [...Array(CASES).keys()].map((i) => `${env.prefix}-proj-${concurrency}-${i}`);
      await inBatches(ids, concurrency, (id) => projectCase(env.db, projection(id, 1)));
      const samples: number[] = [];
      const started = performance.now();
      await inBatches(ids, concurrency, async (id) => {
        const t0 = performance.now();
        await projectCase(env.db, projection(id, 2));
        samples.push(performance.now() - t0);
      });
      const seconds = (performance.now() - started) / 1000;
      figures[`projections/s, ${concurrency} at a time`] = ms(CASES / seconds);
      figures[`projection latency p50 / p99 ms, ${concurrency} at a time`] =
        `${ms(percentile(samples, 50))} / ${ms(percentile(samples, 99))}`;
    }
    return {
      name: 'case projection',
      figures,
      notes: [
        `${CASES} cases sharing one pipeline-totals row move from OPEN to DONE: case row, one task, one timeline entry each.`,
      ],
    };
  } finally {
    await env.stop();
  }
}
