import { useId, useState, type ReactNode } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, ApiError, call, fieldErrors } from '../api/client';
import type { InboxItem } from '../api/types';
import { useDefinition } from '../cases/queries';
import { useSession } from '../session/session';
import { ProblemBanner } from '../shared/ProblemBanner';
import { fromZonedInput, toZonedInput } from '../shared/format';

const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
type Priority = (typeof PRIORITIES)[number];

/** The engine's own action types (engine/types.ts BUILTIN_ACTION_TYPES); a case type may add more. */
const BUILTIN_ACTIONS = ['call', 'email', 'visit', 'send-documents', 'presentation', 'task'] as const;

/** A labelled control with its error from the API below it, tied to it for screen readers. */
function Field({
  id,
  label,
  error,
  children,
}: {
  id: string;
  label: string;
  error: string | undefined;
  children: (props: { id: string; 'aria-invalid'?: true; 'aria-describedby'?: string }) => ReactNode;
}) {
  return (
    <div className={`field${error ? ' has-error' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children({
        id,
        ...(error ? { 'aria-invalid': true as const, 'aria-describedby': `${id}-error` } : {}),
      })}
      {error && (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}

/** Refreshes what shows tasks after a supervisor changed one. */
function useRefresh() {
  const queryClient = useQueryClient();
  return () => {
    void queryClient.invalidateQueries({ queryKey: ['board'] });
    void queryClient.invalidateQueries({ queryKey: ['inbox'] });
    void queryClient.invalidateQueries({ queryKey: ['task'] });
    void queryClient.invalidateQueries({ queryKey: ['case'] });
  };
}

/** Due date, follow-up date and priority of an open task (POST /api/tasks/:id/reschedule), in the user's zone. */
export function RescheduleForm({ task, onDone }: { task: InboxItem; onDone(message: string): void }) {
  const { t } = useTranslation('board');
  const { t: tApp } = useTranslation('app');
  const { timeZone, format } = useSession();
  const refresh = useRefresh();
  const id = useId();
  const initial = {
    dueAt: toZonedInput(task.dueAt, timeZone),
    followUpAt: toZonedInput(task.followUpAt, timeZone),
    priority: task.priority,
  };
  const [value, setValue] = useState(initial);
  const [unchanged, setUnchanged] = useState(false);
  const save = useMutation({
    mutationFn: (body: { dueAt?: string | null; followUpAt?: string | null; priority?: Priority }) =>
      call(api.POST('/api/tasks/{id}/reschedule', { params: { path: { id: task.id } }, body })),
    onSuccess: () => {
      refresh();
      onDone(t('rescheduled', { title: task.title }));
    },
  });
  const [followUpLate, setFollowUpLate] = useState(false);
  const problem = save.error instanceof ApiError ? save.error.problem : undefined;
  const errors = fieldErrors(problem);
  // The API's rule, checked first here to say it in the person's language and time zone.
  if (followUpLate && value.dueAt)
    errors.followUpAt = t('followUpAfterDue', {
      due: format.dateTime(fromZonedInput(value.dueAt, timeZone)),
    });
  const atField = problem?.errors?.some((e) => /^\/body\/(dueAt|followUpAt|priority)$/.test(e.pointer));
  return (
    <form
      className="control-form"
      aria-label={t('rescheduleOf', { title: task.title })}
      onSubmit={(e) => {
        e.preventDefault();
        const body: { dueAt?: string | null; followUpAt?: string | null; priority?: Priority } = {};
        if (value.dueAt !== initial.dueAt) body.dueAt = fromZonedInput(value.dueAt, timeZone) || null;
        if (value.followUpAt !== initial.followUpAt)
          body.followUpAt = fromZonedInput(value.followUpAt, timeZone) || null;
        if (value.priority !== initial.priority) body.priority = value.priority;
        const late = value.dueAt !== '' && value.followUpAt !== '' && value.followUpAt > value.dueAt;
        setFollowUpLate(late);
        setUnchanged(!late && Object.keys(body).length === 0);
        if (!late && Object.keys(body).length > 0) save.mutate(body);
      }}
    >
      {problem && !atField && <ProblemBanner error={save.error} />}
      {unchanged && <p className="muted">{t('nothingChanged')}</p>}
      <div className="control-grid">
        <Field id={`${id}-due`} label={t('dueAt')} error={errors.dueAt}>
          {(props) => (
            <input
              {...props}
              type="datetime-local"
              value={value.dueAt}
              onChange={(e) => setValue({ ...value, dueAt: e.target.value })}
            />
          )}
        </Field>
        <Field id={`${id}-follow`} label={t('followUpAt')} error={errors.followUpAt}>
          {(props) => (
            <input
              {...props}
              type="datetime-local"
              value={value.followUpAt}
              onChange={(e) => {
                setFollowUpLate(false);
                setValue({ ...value, followUpAt: e.target.value });
              }}
            />
          )}
        </Field>
        <Field id={`${id}-prio`} label={t('priority')} error={errors.priority}>
          {(props) => (
            <select
              {...props}
              value={value.priority}
              onChange={(e) => setValue({ ...value, priority: e.target.value as Priority })}
            >
              {PRIORITIES.map((p) => (
                <option key={p} value={p}>
                  {tApp(`priority.${p}`)}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <p className="help">{t('inZone', { zone: timeZone })}</p>
      <button type="submit" className="button primary" disabled={save.isPending}>
        {t('saveSchedule')}
      </button>
    </form>
  );
}

/** Adds an ad-hoc action to a task's case for the team or one member (POST /api/cases/:id/tasks). */
export function AddActionForm({
  task,
  team,
  members,
  onDone,
}: {
  task: InboxItem;
  team: string;
  members: { id: string; name: string }[];
  onDone(message: string): void;
}) {
  const { t } = useTranslation('board');
  const { t: tApp } = useTranslation('app');
  const { timeZone } = useSession();
  const refresh = useRefresh();
  const definition = useDefinition(task.case.type);
  const id = useId();
  const [value, setValue] = useState({
    title: '',
    action: 'call',
    assignee: '',
    dueAt: '',
    priority: 'normal' as Priority,
  });
  const own = (definition.data?.actionTypes ?? []).filter(
    (a) => !(BUILTIN_ACTIONS as readonly string[]).includes(a.code),
  );
  const add = useMutation({
    mutationFn: () =>
      call(
        api.POST('/api/cases/{id}/tasks', {
          params: { path: { id: task.caseId } },
          body: {
            title: value.title.trim(),
            action: value.action,
            team,
            priority: value.priority,
            ...(value.assignee ? { assignee: value.assignee } : {}),
            ...(value.dueAt ? { dueAt: fromZonedInput(value.dueAt, timeZone) } : {}),
          },
        }),
      ),
    onSuccess: (created) => {
      refresh();
      onDone(t('actionAdded', { title: created.title }));
    },
  });
  const [untitled, setUntitled] = useState(false);
  const problem = add.error instanceof ApiError ? add.error.problem : undefined;
  const errors = fieldErrors(problem);
  if (untitled) errors.title = t('titleRequired');
  const atField = problem?.errors?.some((e) =>
    /^\/body\/(title|action|assignee|team|dueAt|priority)$/.test(e.pointer),
  );
  return (
    <form
      className="control-form"
      aria-label={t('addActionTo', { title: task.case.title })}
      onSubmit={(e) => {
        e.preventDefault();
        const empty = value.title.trim() === '';
        setUntitled(empty);
        if (!empty) add.mutate();
      }}
    >
      <p className="muted small">{t('addActionHint', { title: task.case.title })}</p>
      {problem && !atField && <ProblemBanner error={add.error} />}
      <Field id={`${id}-title`} label={t('actionTitle')} error={errors.title}>
        {(props) => (
          <input
            {...props}
            value={value.title}
            maxLength={300}
            onChange={(e) => {
              setUntitled(false);
              setValue({ ...value, title: e.target.value });
            }}
          />
        )}
      </Field>
      <div className="control-grid">
        <Field id={`${id}-action`} label={t('actionType')} error={errors.action}>
          {(props) => (
            <select
              {...props}
              value={value.action}
              onChange={(e) => setValue({ ...value, action: e.target.value })}
            >
              {BUILTIN_ACTIONS.map((a) => (
                <option key={a} value={a}>
                  {t(`action.${a}`)}
                </option>
              ))}
              {own.map((a) => (
                <option key={a.code} value={a.code}>
                  {a.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field id={`${id}-assignee`} label={t('actionFor')} error={errors.assignee ?? errors.team}>
          {(props) => (
            <select
              {...props}
              value={value.assignee}
              onChange={(e) => setValue({ ...value, assignee: e.target.value })}
            >
              <option value="">{t('wholeTeam')}</option>
              {members.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field id={`${id}-due`} label={t('dueAt')} error={errors.dueAt}>
          {(props) => (
            <input
              {...props}
              type="datetime-local"
              value={value.dueAt}
              onChange={(e) => setValue({ ...value, dueAt: e.target.value })}
            />
          )}
        </Field>
        <Field id={`${id}-prio`} label={t('priority')} error={errors.priority}>
          {(props) => (
            <select
              {...props}
              value={value.priority}
              onChange={(e) => setValue({ ...value, priority: e.target.value as Priority })}
            >
              {PRIORITIES.map((p) => (
                <option key={p} value={p}>
                  {tApp(`priority.${p}`)}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <button type="submit" className="button primary" disabled={add.isPending}>
        {t('addAction')}
      </button>
    </form>
  );
}
