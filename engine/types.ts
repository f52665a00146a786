/**
 * The case-type definition language (DSL version 1), as TypeScript types.
 * `definitions/case-type.schema.json` is the normative form; `test/schema-types.test.ts` checks both agree.
 */

/** DSL versions this engine runs. Definitions declaring another version are rejected before schema validation. */
export const SUPPORTED_DSL_VERSIONS = ['1'] as const;
export type DslVersion = (typeof SUPPORTED_DSL_VERSIONS)[number];

export type StatusCategory = 'open' | 'won' | 'lost' | 'closed';
export type Priority = 'low' | 'normal' | 'high' | 'urgent';
export const PRIORITIES: readonly Priority[] = ['low', 'normal', 'high', 'urgent'];

/** ISO 8601 duration such as `P3D`, `PT4H`, `P1M2DT3H`. */
export type Duration = string;

/** A point in time: a duration from now, or a case field (a date) plus an optional signed offset. */
export type DateSpec = Duration | { field: string; offset?: string };

/** JSON Logic expression restricted to the operations listed in `engine/conditions.ts`. */
export type Condition = unknown;

export type JsonSchema = Record<string, unknown>;

export interface StatusDef {
  code: string;
  name: string;
  category: StatusCategory;
  /** Default close probability in percent (0-100) for the forecast. */
  probability?: number;
  /** A user may set this status by hand. */
  manual?: boolean;
}

export interface ActionTypeDef {
  code: string;
  name: string;
  /** Whether the action is dated (appears in calendars and may send invitations). */
  dated?: boolean;
  /** Extra fields this action type records, as JSON Schema. */
  fields?: JsonSchema;
}

export type Assignment =
  | { user: string }
  | { team: string; strategy?: 'candidates' | 'round-robin' | 'least-busy' }
  | { role: 'agent' | 'supervisor' | 'designer' | 'admin' }
  | { field: string }
  | { performerOf: string }
  | { owner: true }
  /** The supervisor of a team (looked up when the task opens). */
  | { supervisorOf: string };

/** Who receives an email: see `definitions/README.md#recipients`. */
export type Recipient = string;

export interface Transition {
  /** Taken only when the condition holds; the first matching transition of a list wins. */
  if?: Condition;
  next?: string | string[];
  status?: string;
  end?: boolean;
  /**
   * Steps cancelled before the rest of the transition: their live tokens are withdrawn (open tasks cancelled);
   * a parallel or multi-instance step cancels its whole region.
   */
  cancel?: string[];
  /** Case fields to set (dot paths under `data`). */
  set?: Record<string, unknown>;
}

export type Transitions = Transition | Transition[];

export interface EmailAction {
  template: string;
  to: Recipient[];
  cc?: Recipient[];
  bcc?: Recipient[];
}

export interface Escalation {
  after: Duration;
  notify?: EmailAction;
  reassign?: Assignment;
  priority?: Priority;
}

export interface HumanStep {
  type: 'human';
  action: string;
  title: string;
  description?: string;
  assign: Assignment;
  due?: DateSpec;
  followUp?: DateSpec;
  priority?: Priority;
  form?: JsonSchema;
  outcomes: Record<string, Transitions>;
  escalations?: Escalation[];
  boundary?: BoundaryEvent[];
  /** Multi-instance: one task per item of a list in the case (or per count). */
  forEach?: ForEach;
  /** Four eyes: who completed a task of these steps may not do this one. */
  separateFrom?: string[];
  /** Chained execution: opened by completing a task, this step's task goes at once to whoever completed it. */
  chained?: boolean;
}

/**
 * One task per item of `items` (a path such as `lines` or `data.contacts`, or a number): in parallel or one
 * after another, until `complete` of them are done (`all`, `any`, or a count); the others are withdrawn.
 * Titles, descriptions and `field` assignments read the item as `item` (and its position as `index`).
 */
export interface ForEach {
  items: string;
  mode?: 'parallel' | 'sequential';
  complete?: 'all' | 'any' | number;
  /** The outcome taken when the list is empty (default: the first outcome). */
  emptyOutcome?: string;
}

/**
 * An event that may happen while a step waits (a task open, a wait pending): a timer or a message.
 * Interrupting (default) withdraws the step and takes `then`; non-interrupting adds `then`'s work.
 */
export interface BoundaryEvent {
  after?: Duration;
  message?: string;
  interrupting?: boolean;
  then: Transition;
}

/** A message cases of a type can receive; `buffer` keeps one that arrives before its catch. */
export interface MessageDef {
  name: string;
  buffer?: boolean;
  description?: string;
}

export interface WaitStep {
  type: 'wait';
  /** Either a duration, or a date (`{ field, offset }`). Exactly one of `until` and `message`. */
  until?: DateSpec;
  /** Waits for this message instead of a time. */
  message?: string;
  then: Transitions;
  boundary?: BoundaryEvent[];
}

export type AutoAction =
  { setStatus: string } | { setField: { path: string; value: unknown } } | { email: EmailAction };

export interface AutomaticStep {
  type: 'automatic';
  do?: AutoAction[];
  then: Transitions;
}

export interface ParallelStep {
  type: 'parallel';
  branches: string[];
  /** The join step where all branches meet. */
  join: string;
  /** Inclusive split: a branch named here starts only when its condition holds. */
  conditions?: Record<string, Condition>;
}

/**
 * Where the branches of a parallel step meet. `complete` says how many arrivals fire it: `all` (default: every
 * branch started has arrived or ended), `any` (the first), or a count N of the branches started (a partial
 * join; capped at the branches started). `rest` says what happens then to the branches still running:
 * `withdraw` (default: cancelled, their tasks leave the inbox) or `absorb` (they run on, their arrivals are
 * swallowed, and the join resets once all have arrived; another instance of the region waits until then).
 */
export interface JoinStep {
  type: 'join';
  complete?: 'all' | 'any' | number;
  rest?: 'withdraw' | 'absorb';
  then: Transitions;
}

export interface SubcaseStep {
  type: 'subcase';
  caseType: string;
  /** Data for the sub-case: values, or `{ "var": "data.x" }` references to this case. */
  data?: Record<string, unknown>;
  /** Wait for the sub-case to end; its final status category selects the outcome. */
  wait?: boolean;
  outcomes?: Partial<Record<StatusCategory | 'started', Transitions>>;
  then?: Transitions;
}

/**
 * Calls another system over HTTP (a Temporal activity, retried with backoff), maps the JSON response into
 * case data, and takes `then` on success or `onFailure` once the retries are spent or the call is refused.
 */
export interface ServiceStep {
  type: 'service';
  request: {
    method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
    /** Text template (`{{data.x}}`); must start with an address of the service allowlist. */
    url: string;
    /** Header name -> name of a secret from the configuration (SERVICE_SECRET_<NAME>). */
    secretHeaders?: Record<string, string>;
    /** JSON body; string values are text templates. */
    body?: Record<string, unknown>;
  };
  /** Case field (dot path under `data`) that receives the JSON response. */
  saveAs?: string;
  retry?: { maximumAttempts?: number; initialInterval?: Duration };
  then: Transitions;
  onFailure?: Transition;
}

export type Step = HumanStep | WaitStep | AutomaticStep | ParallelStep | JoinStep | SubcaseStep | ServiceStep;
export type StepType = Step['type'];

export interface CaseTimer {
  id: string;
  /** Armed while the case is in this status; cancelled when it leaves. */
  inStatus: string;
  after: Duration;
  then: Transition;
}

export type EmailTrigger =
  | { statusEntered: string }
  | { statusLeft: string }
  | { taskCreated: string | '*' }
  | { taskAssigned: string | '*' }
  | { taskCompleted: string | '*' }
  | { taskOverdue: string | '*' }
  | { beforeDue: Duration; step: string | '*' }
  | { caseEnded: true };

export interface EmailRule extends EmailAction {
  id: string;
  on: EmailTrigger;
  /** Send this long after the event. */
  delay?: Duration;
  /** With a delay: send only if the case is still in the status the event entered. */
  ifStillInStatus?: boolean;
  /** Marketing email: respects contact opt-outs and carries an unsubscribe link. */
  marketing?: boolean;
  /** A service email may bypass opt-outs when this is true. */
  bypassOptOut?: boolean;
  /** Attach an ICS invitation for the task (task triggers on dated actions). */
  attachInvite?: boolean;
}

export interface ScheduledEmail {
  id: string;
  /** Cron expression (5 fields) in `timezone`. */
  cron: string;
  timezone?: string;
  kind: 'agent-digest' | 'pipeline-summary';
  template: string;
}

export interface CaseTypeDefinition {
  $schema?: string;
  dslVersion: DslVersion;
  id: string;
  version: string;
  name: string;
  description?: string;
  /** Title of each case, templated from case data (`{{data.subject}}`). */
  title?: string;
  statuses: StatusDef[];
  initialStatus: string;
  actionTypes?: ActionTypeDef[];
  /** The case field (string or integer) that names the case to other systems; messages correlate by it. */
  businessKey?: string;
  fields?: JsonSchema;
  lines?: JsonSchema;
  /** Case fields a user may edit after the case started. `*` means all. */
  editableFields?: string[];
  start: string | string[];
  steps: Record<string, Step>;
  timers?: CaseTimer[];
  emailRules?: EmailRule[];
  scheduledEmails?: ScheduledEmail[];
  messages?: MessageDef[];
  soundness?: { accept?: SoundnessAcceptance[] };
}

/** What the soundness check finds (designer/soundness.ts). */
export type SoundnessCheck =
  'deadlock' | 'ends-with-live-work' | 'dead-step' | 'join-fires-twice' | 'unbounded-subcases' | 'ends-open';

/** A finding the designer knows and accepts, with the reason. */
export interface SoundnessAcceptance {
  check: SoundnessCheck;
  step?: string;
  because: string;
}

/** Action types every definition may use without declaring them. */
export const BUILTIN_ACTION_TYPES: readonly ActionTypeDef[] = [
  { code: 'call', name: 'Phone call', dated: true },
  { code: 'email', name: 'Email' },
  { code: 'visit', name: 'Visit', dated: true },
  { code: 'send-documents', name: 'Send documents' },
  { code: 'presentation', name: 'Presentation', dated: true },
  { code: 'task', name: 'Task' },
];
