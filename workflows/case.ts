import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  currentUpdateInfo,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { emailActivityOptions } from './email-options';
import type * as activityTypes from '../activities/types';
import { applyEvent, checkEvent, nextTimer, startCase } from '../engine/interpreter';
import { casePlan, migrateState } from '../engine/migration';
import type { CaseEvent, CaseState, Command, EmailCommand, StepResult } from '../engine/state';
import type { ProjectionInput } from '../activities/types';
import type { CaseTypeDefinition } from '../engine/types';
import { CASE_STATUS, CASE_TYPE } from './search-attributes';
import {
  actUpdate,
  migrateUpdate,
  readyUpdate,
  stateQuery,
  subcaseEndedSignal,
  type ActionResult,
  type CaseOutcome,
  type CaseSummary,
  type CaseWorkflowInput,
} from './messages';

const { projectCase } = proxyLocalActivities<activityTypes.CaseActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 ms', maximumInterval: '10 seconds' },
});

const { checkDirectory } = proxyLocalActivities<activityTypes.CaseActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 ms', maximumInterval: '10 seconds' },
});

/**
 * The read-model write of committed state (docs/projection.md): a regular activity is scheduled by a
 * workflow task's completion, so it only ever runs for a change Temporal committed. A discarded
 * (speculative) workflow task schedules nothing.
 */
const { projectCase: projectCommitted } = proxyActivities<activityTypes.CaseActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 ms', maximumInterval: '10 seconds' },
});

/** Cases whose history has this marker project committed state only; older histories replay as they ran. */
const COMMITTED_PROJECTION = 'projection-committed';

/**
 * Cases whose history has this marker send a change's emails once the read model holds that change:
 * an email is rendered from the read model (owner, entity, status), and one prepared before the
 * projection was written found nobody to send to. Older histories replay as they ran.
 */
const EMAIL_AFTER_PROJECTION = 'email-after-projection';

/**
 * Runs whose history has this marker continue as new while their read-model write is still running
 * (and while emails wait for it), handing both to the next run: with updates arriving faster than one
 * write, the chain of writes never left the run idle, so it never continued and its history grew
 * without bound. Older histories replay as they ran.
 */
const HANDOVER_ON_CONTINUE = 'continue-hands-over-projection';

/**
 * Parents whose history has this marker learn that a sub-case they wait for ended from the sub-case's own
 * signal (`subcaseEnded`) instead of awaiting its result: an awaited result kept work in flight for as
 * long as the child ran, so a waiting parent never continued as new and its history grew without bound.
 * Older histories replay as they ran (awaiting the child's result).
 */
const SUBCASE_END_SIGNAL = 'subcase-end-signal';

/**
 * Cases whose history has this marker leave a user's action to the API's write of the update's committed
 * result and back it up lazily (docs/projection.md): the workflow writes it itself only if nothing else
 * made it write within RECONCILE_AFTER_MS, and an action that ends the case ends the workflow at once,
 * handing its last changes to the worker's sweep in the result. Before the marker, every change had its
 * own reconciling activity and a second workflow task. Older histories replay as they ran.
 */
const LAZY_RECONCILE = 'update-writes-lazily';

/**
 * Cases whose history has this marker send a change's emails with that change's read-model write: the
 * email activity writes it, then renders the email from it, so a change with emails needs no write of the
 * workflow's own first (one activity and one workflow task fewer; an ending action's email is then the
 * case's last work). Older histories replay as they ran (the email waited for the workflow's write).
 */
const EMAIL_WRITES_CHANGE = 'email-writes-its-change';

/** How long an action's change may wait for the workflow's own write (the API's write came first). */
const RECONCILE_AFTER_MS = 5_000;

/**
 * Update ids of user actions a case remembers (the newest), carried by continue-as-new. Temporal answers a
 * repeated update id with the first outcome only within one run; a client's retry of an action that landed
 * just before the run continued reaches the next run, which must not apply it again.
 */
const REMEMBERED_UPDATES = 256;

/**
 * Cases whose history has this marker never take an assignment rule's pick of a user the task's four-eyes
 * rule excludes (the task stays with its candidates). Older histories replay the assignment they made.
 */
const FOUR_EYES_PICK = 'four-eyes-excludes-pick';

const { sendEmail } = proxyActivities<activityTypes.CaseActivities>(emailActivityOptions());

const { resolveAssignee, latestDefinition } = proxyActivities<activityTypes.CaseActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

function summary(state: CaseState): CaseSummary {
  return {
    caseId: state.caseId,
    caseType: state.caseType,
    status: state.status,
    statusCategory: state.statusCategory,
    ended: state.ended,
    version: state.version,
  };
}

/**
 * One CRM case. A thin shell over the pure interpreter: it feeds events in (user actions as Updates,
 * timers, sub-case ends) and turns the interpreter's commands into activities and child workflows.
 */
export async function caseWorkflow(input: CaseWorkflowInput): Promise<CaseOutcome> {
  let def = input.definition;
  // Newest last; the set answers "applied already?" (see REMEMBERED_UPDATES).
  const appliedUpdates = [...(input.appliedUpdates ?? [])];
  const applied = new Set(appliedUpdates);
  const remember = (id: string | undefined): void => {
    if (id === undefined || applied.has(id)) return;
    appliedUpdates.push(id);
    applied.add(id);
    if (appliedUpdates.length > REMEMBERED_UPDATES) applied.delete(appliedUpdates.shift() as string);
  };
  const events: CaseEvent[] = [];
  const inflight = new Set<Promise<void>>();
  let wakeups = 0;
  let projected = false;
  let state: CaseState;
  let lastStatus: string | undefined;

  // Committed projection: what has changed since the last reconciling write, merged (the newest case
  // row, each changed task as it is now, the new timeline entries), written by one activity at a time.
  let pending: { tasks: Set<string>; timeline: StepResult['timeline'] } | undefined;
  // Whether `pending` holds a change that must be written now (not only actions the API writes), since
  // when it holds changes left to the API (LAZY_RECONCILE), and whether those include the case's end (and
  // nothing after it): only then may the workflow end without writing them.
  let pendingNow = false;
  let lazySince: number | undefined;
  // The one timer of the changes left to the API (started with the first of them, not once per change):
  // when it fires, the workflow writes what is still pending.
  let lazyTimer: CancellationScope | undefined;
  let lazyDue = false;
  let endPending = false;
  let changedAfterEnd = false;
  // An email prepared by the change being recorded: it waits for the workflow's write, so write at once.
  let emailsInChange = false;
  // Emails of the change being recorded that go with its write (EMAIL_WRITES_CHANGE).
  let emailsWithChange: EmailCommand[] = [];
  let reconciling = false;
  // What the running write covers, so that a continue-as-new can hand it over.
  let writing: { tasks: Set<string>; timeline: StepResult['timeline'] } | undefined;
  // Emails waiting for a write (each keyed by a number of this run), not yet handed to sendEmail.
  const awaiting = new Map<number, EmailCommand>();
  let awaitingSeq = 0;
  // Changes recorded for the read model so far, and how many of them a reconciling write has finished.
  let recorded = 0;
  let reconciled = 0;
  // Whether the case had ended at the change recorded last.
  let wasEnded = false;

  function armLazyWrite(): void {
    if (lazyTimer) return;
    const scope = new CancellationScope();
    lazyTimer = scope;
    scope
      .run(() => sleep(RECONCILE_AFTER_MS))
      .then(
        () => {
          if (lazyTimer !== scope) return;
          lazyTimer = undefined;
          lazyDue = true;
        },
        () => undefined, // cancelled: a write came first
      );
  }

  function disarmLazyWrite(): void {
    lazyTimer?.cancel();
    lazyTimer = undefined;
  }

  function reconcile(): void {
    if (reconciling || !pending) return;
    disarmLazyWrite();
    const input = projectionOf(pending.tasks, pending.timeline);
    const upTo = recorded;
    writing = pending;
    pending = undefined;
    pendingNow = false;
    lazySince = undefined;
    endPending = false;
    reconciling = true;
    track(
      projectCommitted(input).finally(() => {
        // Also after a failure (logged by track): an email waiting on it then relies on its own retries.
        reconciled = upTo;
        reconciling = false;
        writing = undefined;
        // Changes left to the API wait for their delay (the loop's wake-up), others are written now.
        if (pendingNow || lazySince === undefined) reconcile();
      }),
    );
  }

  function projectionOf(taskIds: Iterable<string>, timeline: StepResult['timeline']): ProjectionInput {
    const tasks = [...taskIds].map((id) => state.tasks[id]).filter((t) => t !== undefined);
    return { state: caseRow(state, def), tasks, timeline };
  }

  /**
   * Records a change for the read model. Returns the projection of this change, which an update hands
   * back to the API to write from its committed result.
   */
  async function project(
    result: Pick<StepResult, 'timeline' | 'changedTasks'>,
    /** The change is a user's action or the API's start, whose Update result the API writes. */
    byAction = false,
  ): Promise<ProjectionInput | undefined> {
    let projection: ProjectionInput | undefined;
    const emails = emailsInChange;
    emailsInChange = false;
    const withWrite = emailsWithChange;
    emailsWithChange = [];
    if (patched(COMMITTED_PROJECTION)) {
      projection = projectionOf(result.changedTasks, result.timeline);
      recorded += 1;
      pending ??= { tasks: new Set(), timeline: [] };
      for (const id of result.changedTasks) pending.tasks.add(id);
      pending.timeline.push(...result.timeline);
      if ((byAction && !emails && patched(LAZY_RECONCILE)) || withWrite.length > 0) {
        // The API writes this action's result, which carries every change not written yet (merged), so
        // any one committed answer the API writes covers the earlier ones it may have missed.
        projection = projectionOf(pending.tasks, pending.timeline);
        lazySince ??= Date.now();
        armLazyWrite();
      } else {
        pendingNow = true;
      }
      if (state.ended && !wasEnded) endPending = true;
      else if (wasEnded) changedAfterEnd = true;
      wasEnded = state.ended;
      if (withWrite.length > 0)
        sendWithWrite(withWrite, recorded, projectionOf(pending.tasks, pending.timeline));
      if (pendingNow) reconcile();
    } else {
      // Histories recorded before the marker: the projection ran inside the workflow task, as a local
      // activity (which a discarded speculative task could leave behind; docs/projection.md).
      const tasks = result.changedTasks.map((id) => state.tasks[id]).filter((t) => t !== undefined);
      await projectCase({ state: caseRow(state, def), tasks, timeline: result.timeline });
    }
    if (state.status !== lastStatus) {
      lastStatus = state.status;
      upsertSearchAttributes([{ key: CASE_STATUS, value: state.status }]);
    }
    return projection;
  }

  function track(work: Promise<void>): void {
    const tracked = work
      .catch((err: unknown) =>
        log.error('Case side effect failed', { caseId: state.caseId, error: String(err) }),
      )
      .finally(() => {
        inflight.delete(tracked);
        wakeups += 1;
      });
    inflight.add(tracked);
  }

  /**
   * Sends the emails of change number `change` with the write of every change not written yet (`write`):
   * once one has succeeded, that write is done, unless changes came after it (still pending, then).
   */
  function sendWithWrite(commands: EmailCommand[], change: number, write: ProjectionInput): void {
    for (const command of commands) {
      track(
        sendEmail({ caseId: state.caseId, ...command, projection: write }).then(() => {
          if (recorded !== change || !pending) return;
          pending = undefined;
          lazySince = undefined;
          disarmLazyWrite();
          endPending = false;
          reconciled = Math.max(reconciled, change);
        }),
      );
    }
  }

  /** Sends an email once the write of change number `change` of this run has finished. */
  function sendAfterWrite(command: EmailCommand, change: number): void {
    const key = (awaitingSeq += 1);
    awaiting.set(key, command);
    track(
      condition(() => reconciled >= change).then(() => {
        awaiting.delete(key);
        return sendEmail({ caseId: state.caseId, ...command }).then(() => undefined);
      }),
    );
  }

  /**
   * A run may continue as new with work in flight only if all of it can be handed over: the running
   * read-model write (the next run writes it again: writes are versioned) and emails still waiting for it.
   */
  function handedOverWork(): number {
    return (reconciling ? 1 : 0) + awaiting.size;
  }

  function handover(): NonNullable<CaseWorkflowInput['handover']> {
    const tasks = new Set([...(writing?.tasks ?? []), ...(pending?.tasks ?? [])]);
    return {
      tasks: [...tasks],
      timeline: [...(writing?.timeline ?? []), ...(pending?.timeline ?? [])],
      emails: [...awaiting.values()],
    };
  }

  function dispatch(commands: Command[]): void {
    for (const command of commands) {
      switch (command.kind) {
        case 'email': {
          const send = () => sendEmail({ caseId: state.caseId, ...command }).then(() => undefined);
          // dispatch() runs just before project() records the same change: it is change number recorded + 1.
          if (patched(COMMITTED_PROJECTION) && patched(EMAIL_AFTER_PROJECTION)) {
            if (patched(LAZY_RECONCILE) && patched(EMAIL_WRITES_CHANGE)) {
              emailsWithChange.push(command);
              break;
            }
            emailsInChange = true;
            sendAfterWrite(command, recorded + 1);
          } else {
            track(send());
          }
          break;
        }
        case 'resolveAssignee': {
          const exclude = state.tasks[command.taskId]?.excludedUsers ?? [];
          track(
            resolveAssignee({
              caseId: state.caseId,
              team: command.team,
              strategy: command.strategy,
              ...(exclude.length > 0 ? { exclude } : {}),
            }).then((pick) => {
              // Four eyes wins over the pick (an activity of an older worker may still answer an excluded
              // user); histories recorded before the marker replay the assignment they made.
              const refused = pick !== null && exclude.includes(pick) && patched(FOUR_EYES_PICK);
              events.push({
                type: 'assigneeResolved',
                taskId: command.taskId,
                assignee: refused ? null : pick,
              });
            }),
          );
          break;
        }
        case 'startSubcase': {
          const signalled = command.wait && patched(SUBCASE_END_SIGNAL);
          track(
            (async () => {
              // Checked as POST /api/cases checks a new case (cases recorded before the check get no errors).
              const child = await latestDefinition(command.caseType, command.data);
              if (child.dataErrors && child.dataErrors.length > 0) {
                events.push({
                  type: 'subcaseRefused',
                  tokenId: command.tokenId,
                  childCaseId: command.childCaseId,
                  caseType: command.caseType,
                  errors: child.dataErrors,
                });
                return;
              }
              const handle = await startChild(caseWorkflow, {
                workflowId: command.childCaseId,
                args: [
                  {
                    definition: child.definition,
                    start: {
                      caseId: command.childCaseId,
                      caseType: command.caseType,
                      definitionVersion: child.version,
                      data: command.data,
                      entity: state.entity,
                      ownerId: state.ownerId,
                      parentCaseId: state.caseId,
                    },
                    ...(signalled ? { notifyParent: true } : {}),
                  },
                ],
                parentClosePolicy: ParentClosePolicy.ABANDON,
                typedSearchAttributes: [{ key: CASE_TYPE, value: command.caseType }],
              });
              // A signalled parent has nothing in flight while the child runs: it may continue as new.
              if (!command.wait || signalled) return;
              const outcome = await handle.result();
              events.push({
                type: 'subcaseEnded',
                tokenId: command.tokenId,
                status: outcome.status,
                category: outcome.category,
              });
            })(),
          );
          break;
        }
        case 'callService': {
          // Per step: its own retry policy; refusals (address not allowed, 4xx) are not retried.
          const { callService } = proxyActivities<activityTypes.CaseActivities>({
            startToCloseTimeout: '30 seconds',
            retry: {
              maximumAttempts: command.maximumAttempts,
              initialInterval: command.initialIntervalMs,
              backoffCoefficient: 2,
              nonRetryableErrorTypes: ['ServiceRefusedError'],
            },
          });
          track(
            callService({ caseId: state.caseId, ...command }).then(
              (reply) => {
                events.push({ type: 'serviceDone', tokenId: command.tokenId, ok: true, ...reply });
              },
              (err: unknown) => {
                const cause = err instanceof ActivityFailure && err.cause ? err.cause.message : String(err);
                events.push({
                  type: 'serviceDone',
                  tokenId: command.tokenId,
                  ok: false,
                  status: null,
                  response: null,
                  error: cause,
                });
              },
            ),
          );
          break;
        }
        default: {
          const unknown: never = command;
          throw ApplicationFailure.nonRetryable(`Unknown command ${JSON.stringify(unknown)}`);
        }
      }
    }
  }

  /** `user:<id>` / `team:<id>` this run has found in the directory: not looked up again. */
  const inDirectory = new Set<string>();

  /**
   * Looks up the assignees and teams of new (and escalated) tasks; those not in the directory become an
   * `assignmentUnavailable` event, so such a task goes to the supervisors instead of reaching nobody.
   */
  function checkRouting(taskIds: string[]): void {
    const pending = new Map<string, string[]>();
    for (const id of taskIds) {
      const task = state.tasks[id];
      if (!task || task.status !== 'open') continue;
      const refs = [
        ...(task.assignee === null ? [] : [`user:${task.assignee}`]),
        ...task.candidateTeams.map((t) => `team:${t}`),
      ].filter((r) => !inDirectory.has(r));
      if (refs.length > 0) pending.set(id, refs);
    }
    if (pending.size === 0 || !patched('directory-check')) return;
    const refs = [...new Set([...pending.values()].flat())];
    track(
      checkDirectory(refs).then((missing) => {
        for (const r of refs) if (!missing.includes(r)) inDirectory.add(r);
        for (const [taskId, mine] of pending) {
          const lost = mine.filter((r) => missing.includes(r));
          if (lost.length > 0) events.push({ type: 'assignmentUnavailable', taskId, missing: lost });
        }
      }),
    );
  }

  async function apply(
    event: CaseEvent,
    byAction = false,
  ): Promise<StepResult & { projection?: ProjectionInput }> {
    const known = new Set(Object.keys(state.tasks));
    const result = applyEvent(def, state, event, Date.now());
    state = result.state;
    dispatch(result.commands);
    // New tasks, and tasks an escalation may have reassigned; users' own actions name existing people.
    checkRouting(
      event.type === 'timerFired' ? result.changedTasks : result.changedTasks.filter((id) => !known.has(id)),
    );
    const projection = await project(result, byAction);
    return projection ? { ...result, projection } : result;
  }

  // The state exists before any handler is registered: registering a handler runs the updates buffered
  // in this activation (after a continue-as-new, the ones that arrived during the switch).
  let startResult: StepResult | undefined;
  if (input.state) {
    state = input.state;
    lastStatus = state.status;
    projected = true;
    wasEnded = state.ended;
    if (input.handover) {
      // What the previous run had not written yet: written first, then its waiting emails are sent.
      recorded = 1;
      pending = { tasks: new Set(input.handover.tasks), timeline: [...input.handover.timeline] };
      reconcile();
      for (const email of input.handover.emails) sendAfterWrite(email, 1);
    }
  } else {
    // Cases whose history began before token semantics 2 replay without this marker and keep semantics 1.
    const semantics = patched('token-semantics-2') ? 2 : 1;
    startResult = startCase(def, { ...input.start, semantics }, Date.now());
    state = startResult.state;
  }

  setHandler(stateQuery, () => state);

  // A sub-case this case waits for has ended (sent by the child, see SUBCASE_END_SIGNAL). A token no longer
  // waiting for it (cancelled, moved by hand, migrated) takes nothing.
  setHandler(subcaseEndedSignal, ({ childCaseId, status, category }) => {
    const token = state.tokens.find((t) => t.subcaseId === childCaseId);
    if (token) events.push({ type: 'subcaseEnded', tokenId: token.id, status, category });
  });

  setHandler(
    actUpdate,
    async (event): Promise<ActionResult> => {
      const updateId = currentUpdateInfo()?.id;
      if (updateId !== undefined && applied.has(updateId)) {
        // Applied by an earlier run: answer with the case as it is, apply nothing.
        const task = 'taskId' in event ? (state.tasks[event.taskId] ?? null) : null;
        return { case: summary(state), task };
      }
      const result = await apply(event, true);
      remember(updateId);
      // The task acted on, or for an ad-hoc action the task it created.
      const taskId =
        'taskId' in event ? event.taskId : event.type === 'addTask' ? result.changedTasks[0] : undefined;
      const task = taskId === undefined ? null : (state.tasks[taskId] ?? null);
      return { case: summary(state), task, ...(result.projection ? { projection: result.projection } : {}) };
    },
    {
      validator: (event) => {
        const updateId = currentUpdateInfo()?.id;
        if (updateId !== undefined && applied.has(updateId)) return;
        if (!projected)
          throw ApplicationFailure.create({ type: 'CASE_STARTING', message: 'The case is still starting' });
        const rejection = checkEvent(def, state, event);
        if (rejection)
          throw ApplicationFailure.create({
            type: rejection.code,
            message: rejection.message,
            nonRetryable: true,
          });
      },
    },
  );

  setHandler(
    migrateUpdate,
    async ({ plan, definition, actor }): Promise<CaseSummary> => {
      const from = state.definitionVersion;
      state = migrateState(plan, definition, state);
      def = definition;
      const at = Date.now();
      const timeline = [
        {
          seq: state.timelineSeq,
          at,
          kind: 'case.migrated',
          actor,
          detail: { fromVersion: from, toVersion: plan.toVersion, steps: plan.steps ?? {} },
        },
      ];
      const projection = await project({ timeline, changedTasks: Object.keys(state.tasks) });
      return { ...summary(state), ...(projection ? { projection } : {}) };
    },
    {
      validator: ({ plan, definition }) => {
        if (!projected)
          throw ApplicationFailure.create({ type: 'CASE_STARTING', message: 'The case is still starting' });
        if (state.ended)
          throw ApplicationFailure.create({ type: 'CASE_ENDED', message: 'An ended case is not migrated' });
        if (plan.caseType !== state.caseType || plan.fromVersion !== state.definitionVersion) {
          throw ApplicationFailure.create({
            type: 'WRONG_VERSION',
            message: `The case runs ${state.caseType} v${state.definitionVersion}`,
          });
        }
        const move = casePlan(plan, definition, state);
        if (move.problems.length > 0)
          throw ApplicationFailure.create({ type: 'CANNOT_MIGRATE', message: move.problems.join('; ') });
      },
    },
  );

  let startProjection: ProjectionInput | undefined;
  setHandler(readyUpdate, async () => {
    await condition(() => projected);
    // The case as it is now, with the start's timeline entries: the API writes it from the committed
    // result (a repeated start writes nothing new: versions and timeline seqs only move forward).
    if (!startProjection) return summary(state);
    // With the start left to the API (LAZY_RECONCILE), also every change not written yet since.
    const seqs = new Set(startProjection.timeline.map((e) => e.seq));
    const unwritten = (pending?.timeline ?? []).filter((e) => !seqs.has(e.seq));
    return {
      ...summary(state),
      projection: projectionOf(Object.keys(state.tasks), [...startProjection.timeline, ...unwritten]),
    };
  });

  if (startResult) {
    dispatch(startResult.commands);
    checkRouting(startResult.changedTasks);
    startProjection = await project(startResult, input.startWrittenByApi === true);
    projected = true;
  }

  const continueAfter = input.continueAfterEvents;
  for (;;) {
    while (events.length > 0) await apply(events.shift() as CaseEvent);
    if (state.ended && state.timers.length === 0 && inflight.size === 0) {
      // Changes left to the API (LAZY_RECONCILE) may go with the result only if they hold the end and
      // nothing after it: the sweep writes a result only for a case the read model does not show ended.
      if (!pending || (endPending && !changedAfterEnd)) break;
      reconcile();
      continue;
    }

    const info = workflowInfo();
    const tooLong =
      continueAfter !== undefined ? info.historyLength > continueAfter : info.continueAsNewSuggested;
    // A run hands over only a running write: changes left to the API are written before it continues.
    if (tooLong && !reconciling && pending) reconcile();
    if (tooLong && inflight.size === 0) {
      await condition(allHandlersFinished);
      if (events.length === 0 && inflight.size === 0) {
        await continueAsNew<typeof caseWorkflow>({
          definition: def,
          start: input.start,
          state,
          continueAfterEvents: continueAfter,
          ...(input.notifyParent ? { notifyParent: true } : {}),
          ...(appliedUpdates.length > 0 ? { appliedUpdates } : {}),
        });
      }
      continue;
    }
    if (tooLong && inflight.size === handedOverWork() && patched(HANDOVER_ON_CONTINUE)) {
      await condition(allHandlersFinished);
      if (events.length === 0 && inflight.size === handedOverWork()) {
        await continueAsNew<typeof caseWorkflow>({
          definition: def,
          start: input.start,
          state,
          continueAfterEvents: continueAfter,
          handover: handover(),
          ...(input.notifyParent ? { notifyParent: true } : {}),
          ...(appliedUpdates.length > 0 ? { appliedUpdates } : {}),
        });
      }
      continue;
    }

    // Changes left to the API that waited RECONCILE_AFTER_MS: the workflow writes them now.
    if (lazyDue) {
      lazyDue = false;
      reconcile();
    }

    const timer = nextTimer(state);
    const seenVersion = state.version;
    const seenWakeups = wakeups;
    const wake = (): boolean =>
      events.length > 0 || state.version !== seenVersion || wakeups !== seenWakeups || lazyDue;
    const woke =
      timer === undefined
        ? (await condition(wake), true)
        : await condition(wake, Math.max(1, timer.fireAt - Date.now()));
    if (!woke && timer !== undefined) events.push({ type: 'timerFired', timerId: timer.id });
  }

  await condition(allHandlersFinished);
  if (input.notifyParent && state.parentCaseId) {
    try {
      await getExternalWorkflowHandle(state.parentCaseId).signal(subcaseEndedSignal, {
        childCaseId: state.caseId,
        status: state.status,
        category: state.statusCategory,
      });
    } catch (err) {
      // The parent has ended (cancelled, closed by hand): nobody waits for this case any more.
      log.info('parent case no longer running; its sub-case ended unnoticed', {
        parent: state.parentCaseId,
        err,
      });
    }
  }
  // Changes left to the API's write of the ending action: the worker's sweep writes them if it never did.
  const lastChanges = pending ? projectionOf(pending.tasks, pending.timeline) : undefined;
  return {
    status: state.status,
    category: state.statusCategory,
    ...(lastChanges ? { projection: lastChanges } : {}),
  };
}

/** The case row the projection writes: everything but the per-task detail. */
function caseRow(state: CaseState, def: CaseTypeDefinition): activityTypes.CaseRow {
  return {
    caseId: state.caseId,
    caseType: state.caseType,
    definitionVersion: state.definitionVersion,
    title: state.title,
    status: state.status,
    statusCategory: state.statusCategory,
    entityId: state.entity?.id ?? null,
    entityName: state.entity?.name ?? null,
    ownerId: state.ownerId,
    parentCaseId: state.parentCaseId,
    data: state.data,
    lines: state.lines,
    currentSteps: state.tokens.map((t) => t.step),
    createdAt: state.createdAt,
    updatedAt: Date.now(),
    endedAt: state.endedAt,
    version: state.version,
    suspendedAt: state.suspended?.at ?? null,
    suspendedBy: state.suspended?.by ?? null,
    businessKey: businessKeyOf(def, state.data),
  };
}

/** The case's business key: its `businessKey` field's value as text (a string or an integer), or null. */
function businessKeyOf(def: CaseTypeDefinition, data: Record<string, unknown>): string | null {
  const value = def.businessKey === undefined ? undefined : data[def.businessKey];
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return null;
}
