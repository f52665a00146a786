import { useEffect, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from '../app/router';
import { ApiError, fieldErrors } from '../api/client';
import { useSession } from '../session/session';
import { ProblemBanner } from '../shared/ProblemBanner';
import { DueChip } from '../shared/DueChip';
import { SchemaForm, humanize } from '../shared/SchemaForm';
import { useAttachments, useCase, useContacts, useDefinition, type CaseDetail } from '../cases/queries';
import { useTask, useTaskMutation } from './queries';
import { CaseHeader } from '../cases/CaseHeader';
import { Icon } from '../shared/Icon';
import { DelegatePicker } from './DelegatePicker';

/** The task page: the case it belongs to, whom to call, the step's form and outcomes, comments and history. */
export default function TaskPage({ id }: { id: string }) {
  const { t } = useTranslation('tasks');
  const { t: tApp } = useTranslation('app');
  const { user, format } = useSession();
  const task = useTask(id);
  const caseQuery = useCase(task.data?.caseId);
  const definition = useDefinition(task.data?.case.type);
  const mutation = useTaskMutation(id, task.data?.caseId);
  const [data, setData] = useState<Record<string, unknown>>({});
  const [notes, setNotes] = useState('');
  const [comment, setComment] = useState('');
  const [editing, setEditing] = useState(false);
  const [done, setDone] = useState<string | null>(null);

  // The form starts from the task's saved data, again when another task or state is shown (not on every
  // live refetch, which would overwrite what the person is typing).
  const [loadedFor, setLoadedFor] = useState<string | null>(null);
  const loadKey = task.data ? `${task.data.id}:${task.data.status}` : null;
  if (task.data && loadKey !== loadedFor) {
    setLoadedFor(loadKey);
    setData((task.data.formData as Record<string, unknown> | null) ?? {});
    setNotes(task.data.notes ?? '');
  }

  useEffect(() => {
    document.title = task.data ? `${task.data.title} · CRM` : 'CRM';
  }, [task.data]);

  if (task.isPending)
    return (
      <p className="loading" role="status">
        {tApp('loading')}
      </p>
    );
  if (task.isError)
    return (
      <main id="main" className="page">
        <ProblemBanner error={task.error} onRetry={() => void task.refetch()} />
      </main>
    );
  const tk = task.data;
  const step = tk.step ? definition.data?.steps[tk.step] : undefined;
  const form = step?.form;
  const outcomes = Object.keys(step?.outcomes ?? {});
  const mine = tk.assignee === user.id;
  const open = tk.status === 'open';
  const problem = mutation.error instanceof ApiError ? mutation.error.problem : undefined;
  const errors = fieldErrors(problem);
  const formErrorShownAtField = problem?.errors?.some((e) => /\/(data|notes)\//.test(e.pointer + '/'));

  const run = (a: Parameters<typeof mutation.mutate>[0], message?: string) =>
    mutation.mutate(a, { onSuccess: () => setDone(message ?? null) });

  const complete = (outcome: string) =>
    run({ kind: 'complete', outcome, data, notes: notes || undefined }, t('completed'));

  return (
    <main id="main" className="page task-page">
      <nav className="crumbs" aria-label={t('crumbs')}>
        <Link to="/">{tApp('inbox')}</Link> <span aria-hidden="true">›</span>{' '}
        <Link to={`/cases/${tk.caseId}`}>{tk.case.title}</Link>
      </nav>
      <header className="task-head">
        <h1>{tk.title}</h1>
        <div className="chips">
          <span className={`chip status-${tk.status}`}>{t(`status.${tk.status}`)}</span>
          <DueChip dueAt={tk.dueAt ?? null} overdue={tk.overdue === true} open={open} />
          <span className={`chip prio-${tk.priority}`}>{tApp(`priority.${tk.priority}`)}</span>
          <span className="chip">
            {tk.assignee
              ? mine
                ? t('assignedToMe')
                : t('assignedTo', { name: tk.assignee })
              : t('unassigned')}
          </span>
        </div>
        {tk.description && <p className="description">{tk.description}</p>}
      </header>
      <div className="task-grid">
        <div className="task-col">
          {caseQuery.data && <CaseHeader kase={caseQuery.data} />}
          {caseQuery.data && <Contacts kase={caseQuery.data} />}
          <section className="card" aria-labelledby="work-h">
            <h2 id="work-h">{open ? t('work') : t('result')}</h2>
            {done && (
              <p className="success" role="status">
                {done}
              </p>
            )}
            {problem && !formErrorShownAtField && <ProblemBanner error={mutation.error} />}
            {problem && formErrorShownAtField && (
              <p className="error" role="alert">
                {t('fixFields')}
              </p>
            )}
            {open && !tk.assignee && (
              <button
                type="button"
                className="button primary wide"
                onClick={() => run({ kind: 'claim' })}
                disabled={mutation.isPending}
              >
                {t('claim')}
              </button>
            )}
            {(form || open || editing || tk.notes) && (
              <form
                onSubmit={(e: FormEvent) => {
                  e.preventDefault();
                  if (editing) run({ kind: 'edit', data, notes }, t('saved'));
                }}
              >
                {form && (
                  <SchemaForm
                    idPrefix="form"
                    schema={form}
                    value={data}
                    onChange={setData}
                    errors={errors}
                    readOnly={!(open && mine) && !editing}
                  />
                )}
                <div className={`field${errors.notes ? ' has-error' : ''}`}>
                  <label htmlFor="task-notes">{t('notes')}</label>
                  <textarea
                    id="task-notes"
                    rows={3}
                    value={notes}
                    onChange={(e) => setNotes(e.target.value)}
                    disabled={!(open && mine) && !editing}
                    aria-invalid={errors.notes ? true : undefined}
                    aria-describedby={errors.notes ? 'task-notes-error' : undefined}
                  />
                  {errors.notes && (
                    <p className="field-error" id="task-notes-error">
                      {errors.notes}
                    </p>
                  )}
                </div>
                {open && mine && outcomes.length > 0 && (
                  <div className="outcomes" role="group" aria-label={t('outcomes')}>
                    {outcomes.map((o, i) => (
                      <button
                        key={o}
                        type="button"
                        className={`button ${i === 0 ? 'primary' : ''}`}
                        onClick={() => complete(o)}
                        disabled={mutation.isPending}
                      >
                        {humanize(o)}
                      </button>
                    ))}
                  </div>
                )}
                {open && mine && outcomes.length === 0 && definition.isSuccess && (
                  <button
                    type="button"
                    className="button primary"
                    onClick={() => complete('done')}
                    disabled={mutation.isPending}
                  >
                    {t('complete')}
                  </button>
                )}
                {tk.status === 'completed' && !editing && (
                  <div className="edit-closed">
                    <p className="muted">
                      {t('completedBy', { who: tk.completedBy ?? '—', outcome: humanize(tk.outcome ?? '') })}
                    </p>
                    <button type="button" className="button" onClick={() => setEditing(true)}>
                      {t('edit')}
                    </button>
                  </div>
                )}
                {editing && (
                  <div className="outcomes">
                    <button type="submit" className="button primary" disabled={mutation.isPending}>
                      {t('save')}
                    </button>
                    <button type="button" className="button" onClick={() => setEditing(false)}>
                      {t('cancel')}
                    </button>
                  </div>
                )}
              </form>
            )}
            {problem?.type.endsWith('/edit-closed-tasks-disabled') && (
              <p className="muted">{t('editDisabled')}</p>
            )}
          </section>
          {open && mine && (
            <section className="card" aria-labelledby="delegate-h">
              <h2 id="delegate-h">{t('delegate')}</h2>
              {!tk.delegatedBy && (
                <DelegatePicker
                  busy={mutation.isPending}
                  onDelegate={(to) => run({ kind: 'delegate', to }, t('delegated'))}
                />
              )}
              {tk.delegatedBy && (
                <button
                  type="button"
                  className="button"
                  onClick={() => run({ kind: 'resolve' }, t('resolved'))}
                >
                  {t('resolve', { name: tk.delegatedBy })}
                </button>
              )}
            </section>
          )}
          {open && mine && (
            <button type="button" className="button ghost" onClick={() => run({ kind: 'unclaim' })}>
              {t('unclaim')}
            </button>
          )}
        </div>
        <div className="task-col">
          <section className="card" aria-labelledby="comments-h">
            <h2 id="comments-h">{t('comments')}</h2>
            <ul className="comments">
              {((tk.comments ?? []) as { at?: number; by?: string; text?: string }[]).map((c, i) => (
                <li key={i}>
                  <p>{c.text}</p>
                  <p className="muted small">
                    {c.by} · {c.at ? format.dateTime(new Date(c.at).toISOString()) : ''}
                  </p>
                </li>
              ))}
            </ul>
            <form
              className="inline-form"
              onSubmit={(e) => {
                e.preventDefault();
                if (comment.trim())
                  mutation.mutate(
                    { kind: 'comment', text: comment.trim() },
                    { onSuccess: () => setComment('') },
                  );
              }}
            >
              <label className="field grow">
                <span>{t('addComment')}</span>
                <textarea rows={2} value={comment} onChange={(e) => setComment(e.target.value)} />
              </label>
              <button type="submit" className="button">
                {t('send')}
              </button>
            </form>
          </section>
          <Attachments caseId={tk.caseId} />
          <section className="card" aria-labelledby="history-h">
            <h2 id="history-h">{t('history')}</h2>
            <ol className="timeline">
              {(tk.history ?? []).map((h) => (
                <li key={h.seq}>
                  <span className="tl-kind">
                    {t(`event.${h.kind}`, { defaultValue: humanize(h.kind.replace(/\./g, ' ')) })}
                  </span>
                  <span className="muted small">
                    {h.actor ?? t('system')} · <time dateTime={h.at}>{format.dateTime(h.at)}</time>
                  </span>
                </li>
              ))}
            </ol>
          </section>
        </div>
      </div>
    </main>
  );
}

function Contacts({ kase }: { kase: CaseDetail }) {
  const { t } = useTranslation('tasks');
  const contacts = useContacts(kase.entity?.id);
  const items = contacts.data?.items ?? [];
  if (!kase.entity) return null;
  return (
    <section className="card" aria-labelledby="contacts-h">
      <h2 id="contacts-h">{t('contacts')}</h2>
      {items.length === 0 && <p className="muted">{t('noContacts')}</p>}
      <ul className="contacts">
        {items.map((c) => (
          <li key={c.id}>
            <div>
              <strong>{c.name}</strong>
              {c.jobTitle && <span className="muted"> · {c.jobTitle}</span>}
            </div>
            <div className="contact-links">
              {c.phone && (
                <a className="button" href={`tel:${c.phone.replace(/\s+/g, '')}`}>
                  <Icon name="phone" /> {t('call')} <span className="sr-only">{c.name}</span>
                </a>
              )}
              {c.email && (
                <a className="button" href={`mailto:${c.email}`}>
                  <Icon name="mail" /> {t('email')} <span className="sr-only">{c.name}</span>
                </a>
              )}
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Attachments({ caseId }: { caseId: string }) {
  const { t } = useTranslation('tasks');
  const { format } = useSession();
  const attachments = useAttachments(caseId);
  const items = attachments.data?.items ?? [];
  return (
    <section className="card" aria-labelledby="attachments-h">
      <h2 id="attachments-h">{t('attachments')}</h2>
      {items.length === 0 ? (
        <p className="muted">{t('noAttachments')}</p>
      ) : (
        <ul className="attachments">
          {items.map((a) => (
            <li key={a.id}>
              <a href={a.href}>{a.filename}</a>{' '}
              <span className="muted small">
                {format.number(Math.ceil(a.size / 1024))} KB · {format.date(a.createdAt)}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
