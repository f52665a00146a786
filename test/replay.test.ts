import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { workflowBundle } from './support/env';

const DIR = path.join(__dirname, 'fixtures/histories');
const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.json'));

/** Histories recorded from real runs (scripts/record-histories.ts) must replay on today's workflow code. */
describe('recorded case histories replay deterministically', () => {
  it('has recorded histories to check', () => {
    expect(files.length).toBeGreaterThanOrEqual(2);
  });

  it.each(files)('%s', async (file) => {
    const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8')));
    await expect(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, file),
    ).resolves.toBeUndefined();
  });
});
