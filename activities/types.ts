import type { Command, EmailCommand, TaskState, TimelineEntry } from '../engine/state';
import type { CaseTypeDefinition } from '../engine/types';

/** The case row the projection writes (times in epoch ms). */
export interface CaseRow {
  caseId: string;
  caseType: string;
  definitionVersion: number;
  title: string;
  status: string;
  statusCategory: string;
  entityId: string | null;
  entityName: string | null;
  ownerId: string | null;
  parentCaseId: string | null;
  data: Record<string, unknown>;
  lines: Record<string, unknown>[];
  currentSteps: string[];
  createdAt: number;
  updatedAt: number;
  endedAt: number | null;
  version: number;
  /** On hold since, by whom (absent in rows from workers before it: not held). */
  suspendedAt?: number | null;
  suspendedBy?: string | null;
  /** The business key (the case type's `businessKey` field as text); absent from workers before it: kept. */
  businessKey?: string | null;
}

export interface ProjectionInput {
  state: CaseRow;
  tasks: TaskState[];
  timeline: TimelineEntry[];
}

export type SendEmailInput = EmailCommand & {
  caseId: string;
  /**
   * The change the email reports, written to the read model before the email is rendered from it (the
   * workflow then needs no write of its own first; docs/projection.md). Absent on older workflows' emails,
   * which waited for the workflow's write.
   */
  projection?: ProjectionInput;
};

export interface SendEmailResult {
  state: 'sent' | 'failed' | 'skipped';
  messageId: string;
  /** True when the outbox already held a sent message for this key: nothing was sent again. */
  duplicate: boolean;
}

export interface PublishedDefinition {
  definition: CaseTypeDefinition;
  version: number;
  /** With data to check: its errors against the definition's fields (empty when it fits). */
  dataErrors?: { pointer: string; message: string }[];
}

export type CallServiceInput = Extract<Command, { kind: 'callService' }> & {
  caseId: string;
};

/** A service step's successful call: the HTTP status and the JSON (or text) response. */
export interface CallServiceResult {
  status: number;
  response: unknown;
}

/** The activities the case workflow calls. Implemented by `createActivities`. */
export interface CaseActivities {
  /** Calls a service step's endpoint (allowlisted address, secrets from the configuration). */
  callService(input: CallServiceInput): Promise<CallServiceResult>;
  projectCase(input: ProjectionInput): Promise<void>;
  sendEmail(input: SendEmailInput): Promise<SendEmailResult>;
  resolveAssignee(input: {
    caseId: string;
    team: string;
    strategy: 'round-robin' | 'least-busy' | 'supervisor';
    /** Never picked: the task's four-eyes exclusions. */
    exclude?: string[];
  }): Promise<string | null>;
  /** Of `user:<id>` and `team:<id>` references, those not in the directory (unknown, or a deactivated user). */
  checkDirectory(refs: string[]): Promise<string[]>;
  /** The latest version of a case type; given `data`, also how that data fails its fields. */
  latestDefinition(caseType: string, data?: Record<string, unknown>): Promise<PublishedDefinition>;
}
