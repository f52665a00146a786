/**
 * Issue 15: an opportunity opened from a campaign lead carries the campaign, so the campaign's results
 * (cases whose data holds its id: crm/campaigns.ts) count it. Runs the shipped lead definition.
 */
import fs from 'node:fs';
import path from 'node:path';
import { applyEvent, startCase } from '../engine/interpreter';
import type { Actor, CaseState } from '../engine/state';
import type { CaseTypeDefinition } from '../engine/types';

const lead = JSON.parse(
  fs.readFileSync(path.join(__dirname, '../definitions/lead.json'), 'utf8'),
) as CaseTypeDefinition;
const ana: Actor = { userId: 'ana', role: 'agent', teams: ['sales'] };

function completeOpen(state: CaseState, step: string, outcome: string) {
  const task = Object.values(state.tasks).find((t) => t.step === step && t.status === 'open');
  if (!task) throw new Error(`no open task of ${step}`);
  return applyEvent(lead, state, { type: 'complete', taskId: task.id, outcome, actor: ana }, 2000);
}

function openOpportunity(data: Record<string, unknown>) {
  const started = startCase(
    lead,
    {
      caseId: 'L1',
      caseType: lead.id,
      definitionVersion: 1,
      data,
      entity: { id: 'E1', name: 'ACME', agentId: 'ana' },
      ownerId: 'ana',
    },
    1000,
  );
  const contacted = completeOpen(started.state, 'contact', 'reached');
  const qualified = completeOpen(contacted.state, 'qualify', 'qualified');
  const sub = qualified.commands.find((c) => c.kind === 'startSubcase');
  if (!sub || sub.kind !== 'startSubcase') throw new Error('no opportunity opened');
  return sub;
}

describe('a lead that becomes an opportunity', () => {
  it("passes the lead's campaign on to the opportunity", () => {
    const sub = openOpportunity({ subject: 'Forklifts', campaignId: 'cmp-42', estimatedAmount: 9000 });
    expect(sub.caseType).toBe('opportunity');
    expect(sub.data).toMatchObject({ subject: 'Forklifts', amount: 9000, campaignId: 'cmp-42' });
  });

  it('sets no campaign when the lead has none', () => {
    const sub = openOpportunity({ subject: 'Forklifts', estimatedAmount: 9000 });
    expect(sub.data.campaignId ?? null).toBeNull();
  });
});
