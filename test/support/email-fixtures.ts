/** A case type exercising every email trigger with second-scale durations, and helpers to find its mail. */
import type { ReceivedMail } from '../../infra/smtp-sink';
import type { CaseTypeDefinition } from '../../engine/types';
import { scoped, type TestEnv } from './env';

/** The definition, scoped to the environment (its id and team get the prefix). */
export function mailDefinition(env: Pick<TestEnv, 'prefix'>): CaseTypeDefinition {
  const user = (name: string) => `${env.prefix}-${name}`;
  const def: CaseTypeDefinition = {
    dslVersion: '1',
    id: 'mail',
    version: '1.0.0',
    name: 'Mail rules',
    title: '{{entity.name}}: {{data.subject}}',
    statuses: [
      { code: 'NEW', name: 'New', category: 'open' },
      { code: 'WORKING', name: 'Working', category: 'open' },
      { code: 'PRESENTING', name: 'Presenting', category: 'open' },
      { code: 'WON', name: 'Won', category: 'won' },
      { code: 'LOST', name: 'Lost', category: 'lost' },
    ],
    initialStatus: 'NEW',
    fields: {
      type: 'object',
      properties: {
        subject: { type: 'string' },
        amount: { type: 'number' },
        currency: { type: 'string', default: 'EUR' },
        expectedCloseDate: { type: 'string', format: 'date' },
      },
      additionalProperties: false,
    },
    start: 'qualify',
    steps: {
      qualify: {
        type: 'human',
        action: 'call',
        title: 'Qualify {{data.subject}}',
        assign: { team: 'sales' },
        due: 'P2D',
        outcomes: {
          work: { status: 'WORKING', next: 'visit' },
          present: { status: 'PRESENTING', next: 'decide' },
          chase: { next: 'chase' },
          prepare: { next: 'prepare' },
          drop: { status: 'LOST', end: true },
        },
      },
      visit: {
        type: 'human',
        action: 'visit',
        title: 'Visit {{entity.name}}',
        assign: { user: user('bob') },
        due: 'P1D',
        outcomes: { done: { status: 'WON', end: true } },
      },
      decide: {
        type: 'human',
        action: 'call',
        title: 'Decide {{data.subject}}',
        assign: { team: 'sales' },
        outcomes: { back: { status: 'WORKING', next: 'visit' }, won: { status: 'WON', end: true } },
      },
      chase: {
        type: 'human',
        action: 'call',
        title: 'Chase {{entity.name}}',
        assign: { user: user('alice') },
        due: 'PT2S',
        outcomes: { done: { status: 'LOST', end: true } },
      },
      prepare: {
        type: 'human',
        action: 'task',
        title: 'Prepare the offer for {{entity.name}}',
        assign: { user: user('alice') },
        due: 'PT4S',
        outcomes: { done: { status: 'LOST', end: true } },
      },
    },
    emailRules: [
      {
        id: 'entered-en',
        on: { statusEntered: 'NEW' },
        template: 'opportunity-update',
        to: ['owner'],
        cc: ['supervisor'],
      },
      {
        id: 'entered-es',
        on: { statusEntered: 'NEW' },
        template: 'opportunity-update',
        to: [`user:${user('bob')}`],
      },
      {
        id: 'left-new',
        on: { statusLeft: 'NEW' },
        template: 'case-status',
        to: ['owner', 'deals@example.com'],
      },
      { id: 'created', on: { taskCreated: 'qualify' }, template: 'task-notice', to: ['candidates'] },
      {
        id: 'assigned-invite',
        on: { taskAssigned: 'visit' },
        template: 'task-notice',
        to: ['assignee'],
        attachInvite: true,
      },
      {
        id: 'completed',
        on: { taskCompleted: 'qualify' },
        template: 'task-notice',
        to: ['owner', `user:${user('alice')}`],
        cc: ['owner'],
        bcc: ['supervisor'],
      },
      {
        id: 'overdue',
        on: { taskOverdue: 'chase' },
        template: 'task-notice',
        to: ['assignee'],
        cc: ['supervisor'],
      },
      {
        id: 'due-soon',
        on: { beforeDue: 'PT2S', step: 'prepare' },
        template: 'task-notice',
        to: ['assignee'],
      },
      {
        id: 'still-working',
        on: { statusEntered: 'WORKING' },
        delay: 'PT2S',
        ifStillInStatus: true,
        template: 'case-status',
        to: ['owner'],
      },
      {
        id: 'still-presenting',
        on: { statusEntered: 'PRESENTING' },
        delay: 'PT2S',
        ifStillInStatus: true,
        template: 'case-status',
        to: ['owner'],
      },
      {
        id: 'presenting-later',
        on: { statusEntered: 'PRESENTING' },
        delay: 'PT3S',
        template: 'case-status',
        to: ['owner'],
      },
      {
        id: 'won-news',
        on: { statusEntered: 'WON' },
        template: 'newsletter',
        to: ['contact:all'],
        marketing: true,
      },
      {
        id: 'won-service',
        on: { statusEntered: 'WON' },
        template: 'case-status',
        to: ['contact:primary'],
        bypassOptOut: true,
      },
      { id: 'won-plain', on: { statusEntered: 'WON' }, template: 'case-status', to: ['contact:primary'] },
      {
        id: 'won-billing',
        on: { statusEntered: 'WON' },
        template: 'case-status',
        to: ['contact:role:billing'],
      },
    ],
    scheduledEmails: [
      {
        id: 'digest',
        cron: '0 8 * * 1-5',
        timezone: 'Europe/Madrid',
        kind: 'agent-digest',
        template: 'agent-digest',
      },
      { id: 'pipeline', cron: '0 8 * * 1', kind: 'pipeline-summary', template: 'pipeline-summary' },
    ],
  };
  return scoped(def, env.prefix);
}

/** A header of a received message (first occurrence), from its raw source. */
export function header(mail: ReceivedMail, name: string): string | undefined {
  const head = mail.raw.split(/\r?\n\r?\n/)[0] ?? '';
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  const match = new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(unfolded);
  return match?.[1]?.trim();
}

/** Mail of a case sent by a rule (optionally to an address). */
export function byRule(caseId: string, ruleId: string, to?: string): (m: ReceivedMail) => boolean {
  return (m) =>
    header(m, 'X-CRM-Case') === caseId &&
    header(m, 'X-CRM-Rule') === ruleId &&
    (to === undefined || m.envelopeTo.includes(to));
}
