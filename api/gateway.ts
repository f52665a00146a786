import { randomUUID } from 'node:crypto';
import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { ActorEvent, StartInput } from '../engine/state';
import type { CaseTypeDefinition } from '../engine/types';
import { isUnprocessed, sendAction, startCaseWorkflow } from '../lib/case-updates';
import type { ActionResult, CaseSummary } from '../workflows/messages';
import type { ProjectionInput } from '../activities/types';
import { currentRequestId } from '../lib/request-context';
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
  UNKNOWN_MESSAGE: 400,
  SEPARATION_OF_DUTIES: 403,
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
    /**
     * Writes the read model from an update's committed result before the API answers, so the inbox shows
     * a completed action before its HTTP answer returns (docs/projection.md).
     */
    private readonly writeCommitted: (projection: ProjectionInput) => Promise<void>,
    /** Times each start and action (api/metrics.ts); untimed without it. */
    private readonly time: <T>(call: string, fn: () => Promise<T>) => Promise<T> = (_call, fn) => fn(),
  ) {}

  private async committed<T extends { projection?: ProjectionInput }>(result: T): Promise<T> {
    if (result.projection) await this.writeCommitted(result.projection);
    return result;
  }

  private async bounded<T>(fn: () => Promise<T>): Promise<T> {
    // The HTTP request's id goes along as gRPC metadata (x-request-id), for the frontend's logs and proxies.
    const requestId = currentRequestId();
    const call = () => this.client.withDeadline(Date.now() + this.timeoutMs, fn);
    try {
      return await (requestId ? this.client.withMetadata({ 'x-request-id': requestId }, call) : call());
    } catch (err) {
      const code = (err as { code?: number }).code;
      const timedOut =
        err instanceof WorkflowUpdateRPCTimeoutOrCancelledError ||
        code === 4 /* DEADLINE_EXCEEDED */ ||
        /deadline/i.test(String((err as Error).message));
      if (timedOut) {
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
  start(definition: CaseTypeDefinition, start: StartInput): Promise<CaseSummary> {
    return this.time('start', () => this.startCase(definition, start));
  }

  private async startCase(definition: CaseTypeDefinition, start: StartInput): Promise<CaseSummary> {
    // The request that started the case, to find its logs from the workflow (Temporal UI, describe).
    const requestId = currentRequestId();
    const bounded = <T>(fn: () => Promise<T>) => this.bounded(fn);
    return this.committed(
      await startCaseWorkflow(
        this.client,
        this.taskQueue,
        definition,
        start,
        bounded,
        requestId ? { requestId } : undefined,
      ),
    );
  }

  /**
   * Sends a user's action to the case workflow as an Update. `requestId` is the update id: a retried
   * request with the same id returns the first result instead of acting twice.
   */
  act(caseId: string, event: ActorEvent, requestId?: string): Promise<ActionResult> {
    return this.time(event.type, () => this.actOn(caseId, event, requestId));
  }

  private async actOn(caseId: string, event: ActorEvent, requestId?: string): Promise<ActionResult> {
    const bounded = <T>(fn: () => Promise<T>) => this.bounded(fn);
    try {
      const result = await sendAction(this.client, caseId, event, requestId ?? randomUUID(), bounded);
      return await this.committed(result);
    } catch (err) {
      throw this.problem(caseId, err);
    }
  }

  /** The problem a failed update answers with (or the error itself when it is not a known one). */
  private problem(caseId: string, err: unknown): unknown {
    if (err instanceof WorkflowNotFoundError) {
      return new ProblemError(409, 'case-ended', 'The case has ended', `Case ${caseId} is no longer running`);
    }
    if (isUnprocessed(err)) {
      return new ProblemError(
        503,
        'engine-busy',
        'The case is busy',
        'The case received too many actions at once; retry with the same Idempotency-Key.',
      );
    }
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
      const code = err.cause.type ?? 'INVALID_ACTION';
      return new ProblemError(
        STATUS_FOR[code] ?? 409,
        slug(code),
        code.replace(/_/g, ' ').toLowerCase(),
        err.cause.message,
        { code },
      );
    }
    return err;
  }
}
