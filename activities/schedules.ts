import type { Queryable } from '../db';
import { latestDefinition } from '../db/definitions';
import type { CaseTypeDefinition } from '../engine/types';
import {
  deliver,
  type EmailRequest,
  type MailDeps,
  type PreparedMessage,
  type SkippedMessage,
} from './email';
import { NoRecipientsError } from './errors';
import { resolveRecipients } from './recipients';
import type { SendEmailResult } from './types';
import { inboxPage, taskPage } from '../lib/web-links';

/** Activities of the scheduled emails (calendar rules): who gets a digest, and one digest per person. */

export type DigestKind = 'agent-digest' | 'pipeline-summary';

export interface DigestRule {
  caseType: string;
  ruleId: string;
  kind: DigestKind;
  template: string;
  timezone?: string;
}

export interface DigestMessageInput extends DigestRule {
  /** Identifies the scheduled run (the workflow id the schedule gave it): with the user, the idempotency key. */
  runKey: string;
  userId: string;
}

const MAX_TASKS = 200;

/** The users a scheduled email goes to: agents with open tasks of the case type, or their supervisors. */
export async function planDigest(db: Queryable, rule: DigestRule): Promise<{ userIds: string[] }> {
  const rows =
    rule.kind === 'agent-digest'
      ? await db.query<{ id: string }>(
          `SELECT u.id FROM users u WHERE u.active AND EXISTS (
             SELECT 1 FROM tasks t WHERE t.case_type = $1 AND t.status = 'open' AND (t.assignee = u.id
               OR (t.assignee IS NULL AND t.candidate_teams && ARRAY(SELECT team_id FROM team_members WHERE user_id = u.id))))
           ORDER BY u.id`,
          [rule.caseType],
        )
      : await db.query<{ id: string }>(
          `SELECT DISTINCT u.id FROM users u JOIN teams tm ON tm.supervisor_id = u.id
           WHERE u.active AND tm.id IN (
             SELECT unnest(candidate_teams) FROM tasks WHERE case_type = $1
             UNION SELECT m.team_id FROM team_members m JOIN cases c ON c.owner_id = m.user_id WHERE c.case_type = $1)
           ORDER BY u.id`,
          [rule.caseType],
        );
  return { userIds: rows.map((r) => r.id) };
}

type TaskRow = {
  id: string;
  title: string;
  action: string;
  case_id: string;
  case_title: string;
  entity_name: string | null;
  case_status: string;
  due_at: string | null;
  priority: string;
  assignee: string | null;
  overdue: boolean;
};

async function agentDigest(db: Queryable, caseType: string, userId: string, publicUrl: string) {
  const rows = await db.query<TaskRow>(
    `SELECT t.id, t.title, t.action, t.case_id, t.case_title, t.entity_name, t.case_status, t.due_at, t.priority,
       t.assignee, (t.due_at IS NOT NULL AND t.due_at < now()) AS overdue
     FROM tasks t
     WHERE t.case_type = $1 AND t.status = 'open' AND (t.assignee = $2 OR (t.assignee IS NULL
       AND t.candidate_teams && ARRAY(SELECT team_id FROM team_members WHERE user_id = $2)))
     ORDER BY t.due_at NULLS LAST, t.priority_rank DESC, t.id LIMIT $3`,
    [caseType, userId, MAX_TASKS],
  );
  const view = (t: TaskRow) => ({
    id: t.id,
    title: t.title,
    action: t.action,
    caseId: t.case_id,
    caseTitle: t.case_title,
    entityName: t.entity_name,
    status: t.case_status,
    dueAt: t.due_at,
    priority: t.priority,
    overdue: t.overdue,
    url: taskPage(publicUrl, t.id),
  });
  const mine = rows.filter((t) => t.assignee === userId);
  const tasks = {
    pending: mine.filter((t) => !t.overdue).map(view),
    overdue: mine.filter((t) => t.overdue).map(view),
    available: rows.filter((t) => t.assignee === null).map(view),
  };
  const counts = {
    pending: tasks.pending.length,
    overdue: tasks.overdue.length,
    available: tasks.available.length,
  };
  return { tasks, counts, empty: rows.length === 0 };
}

async function pipelineSummary(
  db: Queryable,
  def: CaseTypeDefinition | undefined,
  caseType: string,
  userId: string,
) {
  // The cases a supervisor oversees: owned by members of their teams, or holding tasks of their teams.
  const rows = await db.query<{ status: string; count: number; amount: number }>(
    `SELECT c.status, count(*)::int AS count,
       COALESCE(sum(CASE WHEN jsonb_typeof(c.data->'amount') = 'number' THEN (c.data->>'amount')::numeric END), 0) AS amount
     FROM cases c
     WHERE c.case_type = $1 AND (
       c.owner_id IN (SELECT m.user_id FROM team_members m JOIN teams tm ON tm.id = m.team_id WHERE tm.supervisor_id = $2)
       OR EXISTS (SELECT 1 FROM tasks t JOIN teams tm ON tm.id = ANY(t.candidate_teams)
                  WHERE t.case_id = c.id AND tm.supervisor_id = $2))
     GROUP BY c.status`,
    [caseType, userId],
  );
  const byStatus = new Map(rows.map((r) => [r.status, r]));
  const known = def?.statuses ?? [];
  const statuses = [
    ...known.map((s) => ({ code: s.code, name: s.name, category: s.category })),
    ...rows
      .filter((r) => !known.some((s) => s.code === r.status))
      .map((r) => ({ code: r.status, name: r.status, category: 'open' })),
  ].map((s) => ({
    ...s,
    count: byStatus.get(s.code)?.count ?? 0,
    amount: byStatus.get(s.code)?.amount ?? 0,
  }));
  const sum = (category: string) =>
    statuses
      .filter((s) => s.category === category)
      .reduce((acc, s) => ({ count: acc.count + s.count, amount: acc.amount + s.amount }), {
        count: 0,
        amount: 0,
      });
  return { statuses, total: sum('open'), won: sum('won'), empty: rows.length === 0 };
}

function currencyOf(def: CaseTypeDefinition | undefined): string {
  const currency = (def?.fields?.properties as Record<string, { default?: unknown }> | undefined)?.currency
    ?.default;
  return typeof currency === 'string' && /^[A-Z]{3}$/.test(currency) ? currency : 'EUR';
}

/** Builds one person's digest; skipped when there is nothing to report. */
export async function prepareDigestMessage(
  deps: MailDeps,
  request: EmailRequest,
): Promise<PreparedMessage | SkippedMessage> {
  const digest = request.digest;
  if (!digest) throw new Error('prepareDigestMessage needs a digest request');
  const recipients = await resolveRecipients(
    deps.db,
    request,
    { caseId: null },
    { respectOptOuts: request.bypassOptOut !== true },
  );
  const main = recipients.to[0];
  if (!main) {
    if (recipients.optedOut.length > 0)
      return { skip: 'the recipient opted out', skipped: recipients.skipped };
    throw new NoRecipientsError(`Digest ${request.ruleId}: user ${digest.userId} has no valid address`);
  }
  const def = (await latestDefinition(deps.db, digest.caseType))?.definition;
  const base = {
    recipient: { name: main.name, email: main.address, locale: main.locale },
    caseType: { id: digest.caseType, name: def?.name ?? digest.caseType },
    links: { inbox: inboxPage(deps.publicUrl) },
    generatedAt: new Date().toISOString(),
    now: new Date().toISOString(),
    currency: currencyOf(def),
    timezone: digest.timezone ?? 'UTC',
    unsubscribe: null,
  };
  let context: Record<string, unknown>;
  if (digest.kind === 'agent-digest') {
    const { empty, ...data } = await agentDigest(deps.db, digest.caseType, digest.userId, deps.publicUrl);
    if (empty) return { skip: 'no open tasks', skipped: [] };
    context = { ...base, ...data };
  } else {
    const { empty, ...pipeline } = await pipelineSummary(deps.db, def, digest.caseType, digest.userId);
    if (empty) return { skip: 'no cases', skipped: [] };
    context = { ...base, pipeline };
  }
  const rendered = deps.templates.render(request.template, context, main.locale);
  return {
    to: recipients.to,
    cc: [],
    bcc: [],
    skipped: recipients.skipped,
    subject: rendered.subject,
    text: rendered.text,
    html: rendered.html,
    locale: rendered.locale,
    headers: { 'X-CRM-Rule': request.ruleId, 'X-CRM-Digest': digest.kind },
    attachments: [],
  };
}

/** The outbox request of one person's digest. */
export function digestRequest(input: DigestMessageInput): EmailRequest {
  return {
    kind: 'digest',
    caseId: null,
    ruleId: input.ruleId,
    eventKey: input.runKey,
    template: input.template,
    to: [`user:${input.userId}`],
    cc: [],
    bcc: [],
    digest: {
      caseType: input.caseType,
      kind: input.kind,
      userId: input.userId,
      ...(input.timezone !== undefined ? { timezone: input.timezone } : {}),
    },
  };
}

/** Sends one person's digest for one scheduled run, exactly once (key `<runKey>/<userId>`). */
export async function sendDigest(deps: MailDeps, input: DigestMessageInput): Promise<SendEmailResult> {
  const request = digestRequest(input);
  const { outboxId: _id, ...result } = await deliver(deps, `${input.runKey}/${input.userId}`, request, () =>
    prepareDigestMessage(deps, request),
  );
  return result;
}
