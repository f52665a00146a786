/** Why the interpreter refuses an action. Codes are stable; the API maps them to HTTP statuses. */
export type RejectionCode =
  | 'CASE_ENDED'
  | 'TASK_NOT_FOUND'
  | 'TASK_NOT_OPEN'
  | 'TASK_NOT_CLOSED'
  | 'TASK_ALREADY_CLAIMED'
  | 'TASK_CLAIMED_BY_OTHER'
  | 'TASK_NOT_CLAIMED'
  | 'DELEGATION_PENDING'
  | 'NOT_DELEGATED'
  | 'NOT_A_CANDIDATE'
  | 'FORBIDDEN'
  | 'UNKNOWN_OUTCOME'
  | 'UNKNOWN_STATUS'
  | 'STATUS_NOT_MANUAL'
  | 'FIELD_NOT_EDITABLE'
  | 'INVALID_ACTION'
  | 'UNKNOWN_MESSAGE'
  | 'SEPARATION_OF_DUTIES'
  | 'CASE_SUSPENDED'
  | 'TASK_SUSPENDED'
  | 'NOT_SUSPENDED';

export interface Rejection {
  code: RejectionCode;
  message: string;
}

/** Raised when a definition drives the interpreter into a state it cannot handle (e.g. an endless automatic loop). */
export class DefinitionRuntimeError extends Error {
  override name = 'DefinitionRuntimeError';
}
