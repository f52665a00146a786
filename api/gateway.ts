import { randomUUID } from 'node:crypto';
import {
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { ActorEvent, StartInput } from '../engine/state';
import type { CaseTypeDefinition } from '../engine/types';
import { CASE_TYPE } from '../workflows/search-attributes';
import {
  actUpdate,
  readyUpdate,
  CASE_WORKFLOW_TYPE,
  type ActionResult,
  type CaseSummary,
  type CaseWorkflowInput,
} from '../workflows/messages';
import { ProblemError } from './problem';

/** HTTP status for each interpreter rejection code. */
const STATUS_FOR: Record<string, number> = {
  TASK_NOT_FOUND: 404,
  NOT_A_CANDIDATE: 403,
  FORBIDDEN: 403,
  UNKNOWN_OUTCOME: 400,
  UNKNOWN_STATUS: 400,
  STATUS_NOT_MANUAL: 400,
  FIELD_NOT_EDITABLE: 400,
  INVALID_ACTION: 400,
};

function slug(code: string): string {
  return code.toLowerCase().replace(/_/g, '-');
}

/** Talks to case workflows; turns Temporal failures into problems. */
export class CaseGateway {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    private readonly timeoutMs: number,
  ) {}

  private async bounded<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await this.client.withDeadline(Date.now() + this.timeoutMs, fn);
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (code === 4 /* DEADLINE_EXCEEDED */ || /deadline/i.test(String((err as Error).message))) {
        throw new ProblemError(
          503,
          'engine-unavailable',
          'The case engine did not answer in time',
          'No worker processed the request in time; retry with the same Idempotency-Key.',
        );
      }
      throw err;
    }
  }

  /** Starts a case workflow and waits until its first state is projected. */
  async start(definition: CaseTypeDefinition, start: StartInput): Promise<CaseSummary> {
    const input: CaseWorkflowInput = { definition, start };
    const operation = new WithStartWorkflowOperation(CASE_WORKFLOW_TYPE, {
      workflowId: start.caseId,
      taskQueue: this.taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: [{ key: CASE_TYPE, value: start.caseType }],
    });
    return this.bounded(() =>
      this.client.workflow.executeUpdateWithStart(readyUpdate, { startWorkflowOperation: operation }),
    );
  }

  /**
   * Sends a user's action to the case workflow as an Update. `requestId` is the update id: a retried
   * request with the same id returns the first result instead of acting twice.
   */
  async act(caseId: string, event: ActorEvent, requestId?: string): Promise<ActionResult> {
    const handle = this.client.workflow.getHandle(caseId);
    try {
      return await this.bounded(() =>
        handle.executeUpdate(actUpdate, { args: [event], updateId: requestId ?? randomUUID() }),
      );
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        throw new ProblemError(
          409,
          'case-ended',
          'The case has ended',
          `Case ${caseId} is no longer running`,
        );
      }
      if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
        const code = err.cause.type ?? 'INVALID_ACTION';
        throw new ProblemError(
          STATUS_FOR[code] ?? 409,
          slug(code),
          code.replace(/_/g, ' ').toLowerCase(),
          err.cause.message,
          { code },
        );
      }
      throw err;
    }
  }
}
