/**
 * Keeps `engine/types.ts` and `definitions/case-type.schema.json` from drifting: each key list below is
 * checked exhaustively by the compiler against the TypeScript type (a missing or extra key fails
 * `npm run typecheck`), and by this test against the schema's properties.
 */
import schema from '../definitions/case-type.schema.json';
import type {
  ActionTypeDef,
  AutomaticStep,
  CaseTimer,
  CaseTypeDefinition,
  EmailRule,
  Escalation,
  HumanStep,
  JoinStep,
  ParallelStep,
  ScheduledEmail,
  StatusDef,
  ServiceStep,
  SubcaseStep,
  Transition,
  WaitStep,
} from '../engine/types';

type Keys<T> = Record<keyof Required<T>, true>;

const keys = {
  root: {
    $schema: true,
    dslVersion: true,
    id: true,
    version: true,
    name: true,
    description: true,
    title: true,
    statuses: true,
    initialStatus: true,
    actionTypes: true,
    fields: true,
    lines: true,
    businessKey: true,
    editableFields: true,
    start: true,
    steps: true,
    timers: true,
    emailRules: true,
    scheduledEmails: true,
    messages: true,
    soundness: true,
  } satisfies Keys<CaseTypeDefinition>,
  humanStep: {
    type: true,
    action: true,
    title: true,
    description: true,
    assign: true,
    due: true,
    followUp: true,
    priority: true,
    form: true,
    outcomes: true,
    escalations: true,
    boundary: true,
    forEach: true,
    separateFrom: true,
    chained: true,
  } satisfies Keys<HumanStep>,
  waitStep: { type: true, until: true, message: true, then: true, boundary: true } satisfies Keys<WaitStep>,
  automaticStep: { type: true, do: true, then: true } satisfies Keys<AutomaticStep>,
  parallelStep: { type: true, branches: true, join: true, conditions: true } satisfies Keys<ParallelStep>,
  joinStep: { type: true, complete: true, rest: true, then: true } satisfies Keys<JoinStep>,
  subcaseStep: {
    type: true,
    caseType: true,
    data: true,
    wait: true,
    outcomes: true,
    then: true,
  } satisfies Keys<SubcaseStep>,
  serviceStep: {
    type: true,
    request: true,
    saveAs: true,
    retry: true,
    then: true,
    onFailure: true,
  } satisfies Keys<ServiceStep>,
  emailRule: {
    id: true,
    on: true,
    template: true,
    to: true,
    cc: true,
    bcc: true,
    delay: true,
    ifStillInStatus: true,
    marketing: true,
    bypassOptOut: true,
    attachInvite: true,
  } satisfies Keys<EmailRule>,
  caseTimer: { id: true, inStatus: true, after: true, then: true } satisfies Keys<CaseTimer>,
  status: {
    code: true,
    name: true,
    category: true,
    probability: true,
    manual: true,
  } satisfies Keys<StatusDef>,
  escalation: { after: true, notify: true, reassign: true, priority: true } satisfies Keys<Escalation>,
  transition: {
    if: true,
    next: true,
    status: true,
    end: true,
    cancel: true,
    set: true,
  } satisfies Keys<Transition>,
  scheduledEmail: {
    id: true,
    cron: true,
    timezone: true,
    kind: true,
    template: true,
  } satisfies Keys<ScheduledEmail>,
  actionType: { code: true, name: true, dated: true, fields: true } satisfies Keys<ActionTypeDef>,
};

type SchemaNode = { properties?: Record<string, unknown> };
const defs = (schema as { $defs: Record<string, SchemaNode> }).$defs;

describe('the definition schema and the TypeScript types agree', () => {
  it.each(Object.entries(keys))('%s has the same properties', (name, typeKeys) => {
    const node = name === 'root' ? (schema as SchemaNode) : defs[name];
    expect(Object.keys(node?.properties ?? {}).sort()).toEqual(Object.keys(typeKeys).sort());
  });
});
