import fs from 'node:fs';
import path from 'node:path';
import type { CaseTypeDefinition } from '../engine/types';
import { coverage, simulate } from './simulate';

const load = (name: string): CaseTypeDefinition =>
  JSON.parse(
    fs.readFileSync(path.join(__dirname, '..', 'definitions', `${name}.json`), 'utf8'),
  ) as CaseTypeDefinition;

const steps = (r: ReturnType<typeof simulate>) => r.tasks.map((t) => `${t.step}:${t.outcome ?? t.status}`);

describe('lead qualification', () => {
  const lead = load('lead');

  it('retries the first call after no answer, qualifies and opens an opportunity sub-case', () => {
    const r = simulate(lead, ['no-answer', 'wait', 'reached', 'qualified'], {
      startData: { subject: 'Web enquiry', estimatedAmount: 5000 },
      entity: { id: 'e1', name: 'ACME', agentId: 'alice' },
    });
    expect(r.error).toBeUndefined();
    expect(steps(r)).toEqual(['contact:no-answer', 'contact:reached', 'qualify:qualified']);
    expect(r.tasks[0]?.assignee).toBe('<round-robin:sales>');
    expect(r.tasks[2]?.assignee).toBe('alice');
    expect(r.subcases).toEqual([
      expect.objectContaining({
        caseType: 'opportunity',
        wait: false,
        data: { subject: 'Web enquiry', amount: 5000 },
      }),
    ]);
    expect(r).toMatchObject({ finalStatus: 'QUALIFIED', ended: true });
  });

  it('ends disqualified when the contact is wrong', () => {
    expect(simulate(lead, ['wrong-contact'], { startData: { subject: 'x' } })).toMatchObject({
      finalStatus: 'DISQUALIFIED',
      ended: true,
    });
  });
});

describe('claim / incident', () => {
  const claim = load('claim');

  it('escalates a late triage: priority raised and the supervisor notified, then reassigned to supervisors', () => {
    const r = simulate(claim, ['timer', 'timer'], { startData: { subject: 'Broken pallet' } });
    expect(r.error).toBeUndefined();
    expect(r.tasks[0]).toMatchObject({
      step: 'triage',
      priority: 'urgent',
      candidates: ['role:supervisor'],
      status: 'open',
    });
    expect(r.emails).toEqual([expect.objectContaining({ template: 'task-notice', to: ['supervisor'] })]);
  });

  it('investigates, chases the customer, resolves and closes two parallel tasks', () => {
    const r = simulate(
      claim,
      ['valid', 'need-customer-info', 'info-received', 'resolved', 'confirmed', 'sent'],
      {
        startData: { subject: 'Late delivery', severity: 'critical' },
      },
    );
    expect(r.error).toBeUndefined();
    expect(steps(r)).toEqual([
      'triage:valid',
      'investigate:need-customer-info',
      'chase-customer:info-received',
      'investigate:resolved',
      'confirm-with-customer:confirmed',
      'send-report:sent',
    ]);
    expect(r.statusChanges.map((c) => c.to)).toEqual([
      'INVESTIGATING',
      'WAITING_CUSTOMER',
      'INVESTIGATING',
      'RESOLVED',
    ]);
    expect(r.emails.map((e) => e.rule)).toEqual(['claim-resolved']);
    expect(r).toMatchObject({ finalStatus: 'RESOLVED', ended: true });
    expect(r.state?.data).toMatchObject({ escalated: true });
  });

  it('rejects the claim when the customer never answers within 14 days', () => {
    const r = simulate(claim, ['valid', 'need-customer-info', 'timer'], { startData: { subject: 'Noise' } });
    expect(r).toMatchObject({ finalStatus: 'REJECTED', ended: true });
  });
});

describe('service request', () => {
  const service = load('service-request');

  it('schedules a visit on the preferred date, reschedules once, and closes with an email', () => {
    const r = simulate(service, ['scheduled', 'reschedule', 'scheduled', 'done'], {
      startData: { subject: 'Boiler check', preferredDate: '2025-01-20' },
    });
    expect(r.error).toBeUndefined();
    expect(steps(r)).toEqual([
      'schedule-visit:scheduled',
      'visit:reschedule',
      'schedule-visit:scheduled',
      'visit:done',
    ]);
    expect(r.tasks[0]).toMatchObject({
      assignee: '<least-busy:support>',
      followUp: '2025-01-19T00:00:00.000Z',
    });
    expect(r.tasks[1]).toMatchObject({ action: 'visit', due: '2025-01-20T00:00:00.000Z' });
    // Visits go to the support team's candidates; the invitation rule fires when one of them claims it.
    expect(r.emails.map((e) => e.template)).toEqual(['case-status']);
    expect(r).toMatchObject({ finalStatus: 'DONE', ended: true });
  });
});

describe('coverage of the shipped definitions by their main paths', () => {
  it('the claim paths above cover every step', () => {
    const report = coverage(load('claim'), [
      ['valid', 'need-customer-info', 'info-received', 'resolved', 'confirmed', 'sent'],
      ['invalid'],
    ]);
    expect(report.steps.uncovered).toEqual([]);
    expect(report.paths.every((p) => p.ended)).toBe(true);
  });
});

describe('campaign follow-up', () => {
  it('is a sequence: call, then email, then visit, and the target counts as a lead once interested', () => {
    const r = simulate(load('campaign-follow-up'), ['interested', 'sent', 'visited'], {
      startData: { subject: 'Spring offer', campaignId: 'c1' },
    });
    expect(r.error).toBeUndefined();
    expect(r.tasks.map((t) => `${t.action}:${t.step}:${t.outcome}`)).toEqual([
      'call:contact:interested',
      'email:send-information:sent',
      'visit:visit:visited',
    ]);
    expect(r.statusChanges.map((c) => c.to)).toEqual(['QUALIFIED']);
    expect(r).toMatchObject({ finalStatus: 'QUALIFIED', finalCategory: 'won', ended: true });
  });

  it('waits three days and calls again when asked to call back', () => {
    const r = simulate(load('campaign-follow-up'), ['call-back', 'wait', 'not-interested'], {
      startData: { subject: 'Spring offer', campaignId: 'c1' },
    });
    expect(r.tasks.map((t) => t.outcome)).toEqual(['call-back', 'not-interested']);
    expect(r).toMatchObject({ finalStatus: 'DISCARDED', ended: true });
  });
});
