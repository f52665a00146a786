import type { Queryable } from '../db';
import { definitionVersion } from '../db/definitions';
import { BUILTIN_ACTION_TYPES, type CaseTypeDefinition, type JsonSchema } from '../engine/types';
import { casePage, inboxPage, taskPage } from '../lib/web-links';

/**
 * What email templates can read. `loadCaseContext` builds it from the read model; `caseContextShape` and
 * `digestContextShape` describe it for the publish-time template check; `sampleCaseContext` fills it for
 * previews. Keep the three in step: a variable the shape allows must be one the loader provides.
 */

/** The shape of a template context, for checking the variables a template references. */
export type Shape =
  | { type: 'object'; props: Record<string, Shape>; open?: boolean }
  | { type: 'array'; items: Shape }
  | { type: 'value' }
  | { type: 'any' };

const value: Shape = { type: 'value' };
const any: Shape = { type: 'any' };
const obj = (props: Record<string, Shape>, open = false): Shape => ({ type: 'object', props, open });
const arr = (items: Shape): Shape => ({ type: 'array', items });
const valueProps = (...names: string[]): Record<string, Shape> =>
  Object.fromEntries(names.map((n) => [n, value]));
const values = (...names: string[]): Shape => obj(valueProps(...names));

/** The shape of values described by a JSON Schema (case fields, lines). */
export function shapeOfSchema(schema: JsonSchema | undefined): Shape {
  if (!schema || typeof schema !== 'object') return any;
  const type = schema.type;
  if (type === 'array') return arr(shapeOfSchema(schema.items as JsonSchema | undefined));
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  if (type === 'object' || properties !== undefined) {
    const props: Record<string, Shape> = {};
    for (const [name, sub] of Object.entries(properties ?? {})) props[name] = shapeOfSchema(sub);
    return obj(props, schema.additionalProperties !== false);
  }
  return type === undefined ? any : value;
}

const USER = values('id', 'name', 'email');
const TASK = obj({
  ...valueProps(
    'id',
    'title',
    'description',
    'action',
    'actionName',
    'dueAt',
    'priority',
    'status',
    'outcome',
    'url',
  ),
  assignee: USER,
});
const COMMON = {
  recipient: values('name', 'email', 'locale'),
  locale: value,
  timezone: value,
  now: value,
  unsubscribe: values('url'),
};

/** The context of case emails (rules, step emails, escalations) for a case type. */
export function caseContextShape(def: Pick<CaseTypeDefinition, 'fields' | 'lines'>): Shape {
  return obj({
    ...COMMON,
    case: values('id', 'type', 'title', 'url', 'createdAt'),
    data: def.fields ? shapeOfSchema(def.fields) : obj({}, true),
    lines: arr(def.lines ? shapeOfSchema(def.lines) : any),
    status: values('code', 'name', 'category'),
    entity: values('id', 'code', 'name', 'kind'),
    owner: USER,
    task: TASK,
    links: values('case', 'inbox'),
    rule: values('id', 'trigger'),
  });
}

const TRIGGER_KINDS = [
  'statusEntered',
  'statusLeft',
  'taskCreated',
  'taskAssigned',
  'taskCompleted',
  'taskOverdue',
  'beforeDue',
  'caseEnded',
] as const;

/** The rule an email comes from, for templates shared by several triggers (`rule.trigger`). */
export function ruleInfo(
  def: CaseTypeDefinition | null | undefined,
  ruleId: string,
): { id: string; trigger: string } {
  const rule = def?.emailRules?.find((r) => r.id === ruleId);
  // Key order is not kept by jsonb, so pick the trigger kind by name (`beforeDue` comes with `step`).
  const trigger = rule
    ? (TRIGGER_KINDS.find((k) => k in rule.on) ?? 'unknown')
    : (ruleId.split(':')[0] ?? 'unknown');
  return { id: ruleId, trigger };
}

const DIGEST_TASK = values(
  'id',
  'title',
  'action',
  'caseId',
  'caseTitle',
  'entityName',
  'status',
  'dueAt',
  'priority',
  'overdue',
  'url',
);
const PIPELINE_STATUS = values('code', 'name', 'category', 'count', 'amount');

/** The context of a scheduled email of the given kind. */
export function digestContextShape(kind: 'agent-digest' | 'pipeline-summary'): Shape {
  const base = {
    ...COMMON,
    caseType: values('id', 'name'),
    links: values('inbox'),
    generatedAt: value,
    currency: value,
  };
  if (kind === 'agent-digest') {
    return obj({
      ...base,
      tasks: obj({ pending: arr(DIGEST_TASK), overdue: arr(DIGEST_TASK), available: arr(DIGEST_TASK) }),
      counts: values('pending', 'overdue', 'available'),
    });
  }
  return obj({
    ...base,
    pipeline: obj({
      statuses: arr(PIPELINE_STATUS),
      total: values('count', 'amount'),
      won: values('count', 'amount'),
    }),
  });
}

/** A dated action type (a visit, a presentation) can be sent as a calendar invitation. */
export function isDatedAction(def: CaseTypeDefinition | null | undefined, action: string): boolean {
  const declared = def?.actionTypes?.find((a) => a.code === action);
  return (declared ?? BUILTIN_ACTION_TYPES.find((a) => a.code === action))?.dated === true;
}

export function actionName(def: CaseTypeDefinition | null | undefined, action: string): string {
  const declared = def?.actionTypes?.find((a) => a.code === action);
  return (declared ?? BUILTIN_ACTION_TYPES.find((a) => a.code === action))?.name ?? action;
}

export interface LoadedCaseContext {
  context: Record<string, unknown>;
  definition: CaseTypeDefinition | null;
  /** The task the email is about, raw, for calendar invitations. */
  task: {
    id: string;
    title: string;
    description: string | null;
    action: string;
    dueAt: string | null;
    createdAt: string;
  } | null;
}

type CaseRow = {
  id: string;
  case_type: string;
  title: string;
  status: string;
  data: Record<string, unknown>;
  lines: unknown[];
  created_at: string;
  entity_id: string | null;
  entity_code: string | null;
  entity_name: string | null;
  entity_kind: string | null;
  owner_id: string | null;
  owner_name: string | null;
  owner_email: string | null;
  definition_version: number;
};

/** Published versions never change, so each is read once per process (bounded). */
const definitions = new Map<string, Promise<CaseTypeDefinition | null>>();
const MAX_CACHED_DEFINITIONS = 500;

function publishedDefinition(
  db: Queryable,
  caseType: string,
  version: number,
): Promise<CaseTypeDefinition | null> {
  const key = `${caseType}@${version}`;
  let found = definitions.get(key);
  if (!found) {
    if (definitions.size >= MAX_CACHED_DEFINITIONS) definitions.clear();
    found = definitionVersion(db, caseType, version).then((d) => d?.definition ?? null);
    definitions.set(key, found);
    found.catch(() => definitions.delete(key));
  }
  return found;
}

type TaskRow = {
  id: string;
  title: string;
  description: string | null;
  action: string;
  due_at: string | null;
  priority: string;
  status: string;
  outcome: string | null;
  created_at: string;
  assignee: string | null;
  assignee_name: string | null;
  assignee_email: string | null;
};

/**
 * Loads what templates may use about a case (and its task); undefined when the case is not projected.
 * `status` is the status of the triggering event, rendered instead of the case's current one.
 */
export async function loadCaseContext(
  db: Queryable,
  caseId: string,
  taskId: string | undefined,
  publicUrl: string,
  status?: string,
): Promise<LoadedCaseContext | undefined> {
  const [row] = await db.query<CaseRow>(
    `SELECT c.id, c.case_type, c.title, c.status, c.data, c.lines, c.created_at, c.entity_id,
       e.code AS entity_code, COALESCE(e.name, c.entity_name) AS entity_name, e.kind AS entity_kind,
       c.owner_id, o.name AS owner_name, o.email AS owner_email, c.definition_version
     FROM cases c
     LEFT JOIN entities e ON e.id = c.entity_id
     LEFT JOIN users o ON o.id = c.owner_id
     WHERE c.id = $1`,
    [caseId],
  );
  if (!row) return undefined;
  const [task] =
    taskId === undefined
      ? []
      : await db.query<TaskRow>(
          `SELECT t.id, t.title, t.description, t.action, t.due_at, t.priority, t.status, t.outcome, t.created_at,
             t.assignee, u.name AS assignee_name, u.email AS assignee_email
           FROM tasks t LEFT JOIN users u ON u.id = t.assignee WHERE t.id = $1`,
          [taskId],
        );
  // A task email for a task the read model does not hold yet: not projected, like a missing case.
  if (taskId !== undefined && !task) return undefined;
  const def = await publishedDefinition(db, row.case_type, row.definition_version);
  const code = status ?? row.status;
  const statusDef = def?.statuses.find((s) => s.code === code);
  const caseUrl = casePage(publicUrl, row.id);
  const context: Record<string, unknown> = {
    case: { id: row.id, type: row.case_type, title: row.title, url: caseUrl, createdAt: row.created_at },
    data: row.data,
    lines: row.lines,
    status: { code, name: statusDef?.name ?? code, category: statusDef?.category ?? null },
    entity: row.entity_id
      ? { id: row.entity_id, code: row.entity_code, name: row.entity_name, kind: row.entity_kind }
      : { id: null, code: null, name: row.entity_name, kind: null },
    owner: row.owner_id ? { id: row.owner_id, name: row.owner_name, email: row.owner_email } : null,
    task: task
      ? {
          id: task.id,
          title: task.title,
          description: task.description,
          action: task.action,
          actionName: actionName(def, task.action),
          dueAt: task.due_at,
          priority: task.priority,
          status: task.status,
          outcome: task.outcome,
          url: taskPage(publicUrl, task.id),
          assignee: task.assignee
            ? { id: task.assignee, name: task.assignee_name, email: task.assignee_email }
            : null,
        }
      : null,
    links: { case: caseUrl, inbox: inboxPage(publicUrl) },
  };
  return {
    context,
    definition: def,
    task: task
      ? {
          id: task.id,
          title: task.title,
          description: task.description,
          action: task.action,
          dueAt: task.due_at,
          createdAt: task.created_at,
        }
      : null,
  };
}

/** A sample value for a JSON Schema: its example, default or first enum value, else one by type. */
export function sampleOf(schema: JsonSchema | undefined, name = 'value'): unknown {
  if (!schema || typeof schema !== 'object') return `Sample ${name}`;
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0];
  if (schema.default !== undefined) return schema.default;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  switch (schema.type) {
    case 'array':
      return [sampleOf(schema.items as JsonSchema | undefined, name)];
    case 'number':
    case 'integer':
      return /amount|price|total/i.test(name) ? 12500 : 42;
    case 'boolean':
      return true;
    case 'string':
      if (schema.format === 'date') return '2025-03-04';
      if (schema.format === 'date-time') return '2025-03-04T09:30:00Z';
      if (schema.format === 'email') return 'someone@example.com';
      if (/currency/i.test(name)) return 'EUR';
      return `Sample ${name}`;
    default:
      if (schema.type === 'object' || properties) {
        const out: Record<string, unknown> = {};
        for (const [key, sub] of Object.entries(properties ?? {})) out[key] = sampleOf(sub, key);
        return out;
      }
      return `Sample ${name}`;
  }
}

/** Sample data for previewing a case email without a real case. */
export function sampleCaseContext(
  def: CaseTypeDefinition | undefined,
  publicUrl: string,
): Record<string, unknown> {
  const status = def?.statuses.find((s) => s.code === def.initialStatus) ?? def?.statuses[0];
  const firstHuman = Object.values(def?.steps ?? {}).find((s) => s.type === 'human');
  const action = firstHuman?.type === 'human' ? firstHuman.action : 'call';
  return {
    case: {
      id: 'case-sample',
      type: def?.id ?? 'sample',
      title: 'ACME Corp: Sample case',
      url: casePage(publicUrl, 'case-sample'),
      createdAt: '2025-03-04T09:30:00Z',
    },
    data: def?.fields ? sampleOf(def.fields, 'data') : {},
    lines: def?.lines ? [sampleOf(def.lines, 'line')] : [],
    status: {
      code: status?.code ?? 'OPEN',
      name: status?.name ?? 'Open',
      category: status?.category ?? 'open',
    },
    entity: { id: 'entity-sample', code: 'C0001', name: 'ACME Corp', kind: 'CL' },
    owner: { id: 'owner-sample', name: 'Olivia Owner', email: 'olivia@example.com' },
    task: {
      id: 'case-sample-T1',
      title: firstHuman?.type === 'human' ? firstHuman.title : 'Call the customer',
      description: null,
      action,
      actionName: actionName(def, action),
      dueAt: '2025-03-06T10:00:00Z',
      priority: 'normal',
      status: 'open',
      outcome: null,
      url: taskPage(publicUrl, 'case-sample-T1'),
      assignee: { id: 'agent-sample', name: 'Alex Agent', email: 'alex@example.com' },
    },
    links: { case: casePage(publicUrl, 'case-sample'), inbox: inboxPage(publicUrl) },
    unsubscribe: { url: `${publicUrl}/unsubscribe/sample-token` },
    rule: { id: 'sample', trigger: 'taskAssigned' },
  };
}

/** Sample data for previewing a scheduled email. */
export function sampleDigestContext(
  kind: 'agent-digest' | 'pipeline-summary',
  def: CaseTypeDefinition | undefined,
  publicUrl: string,
): Record<string, unknown> {
  const task = (n: number, overdue: boolean) => ({
    id: `case-sample-T${n}`,
    title: `Sample task ${n}`,
    action: 'call',
    caseId: 'case-sample',
    caseTitle: 'ACME Corp: Sample case',
    entityName: 'ACME Corp',
    status: def?.statuses[0]?.code ?? 'OPEN',
    dueAt: overdue ? '2025-03-01T10:00:00Z' : '2025-03-10T10:00:00Z',
    priority: 'normal',
    overdue,
    url: taskPage(publicUrl, `case-sample-T${n}`),
  });
  const base = {
    caseType: { id: def?.id ?? 'sample', name: def?.name ?? 'Sample' },
    links: { inbox: inboxPage(publicUrl) },
    generatedAt: '2025-03-04T08:00:00Z',
    currency: 'EUR',
  };
  if (kind === 'agent-digest') {
    return {
      ...base,
      tasks: { pending: [task(1, false)], overdue: [task(2, true)], available: [task(3, false)] },
      counts: { pending: 1, overdue: 1, available: 1 },
    };
  }
  const statuses = (def?.statuses ?? [{ code: 'OPEN', name: 'Open', category: 'open' }]).map((s, i) => ({
    code: s.code,
    name: s.name,
    category: s.category,
    count: i + 1,
    amount: (i + 1) * 12500,
  }));
  return {
    ...base,
    pipeline: {
      statuses,
      total: { count: statuses.length, amount: statuses.reduce((sum, s) => sum + s.amount, 0) },
      won: { count: 1, amount: 12500 },
    },
  };
}
