import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link } from '../app/router';
import { api, ApiError, call, fieldErrors } from '../api/client';
import { useSession } from '../session/session';
import { ProblemBanner } from '../shared/ProblemBanner';
import { SchemaForm, humanize } from '../shared/SchemaForm';
import { CaseHeader } from './CaseHeader';
import { useCase, useDefinition } from './queries';

/** The case page: status, data and lines, tasks, timeline and the live diagram; manual status and edits. */
export default function CasePage({ id }: { id: string }) {
  const { t } = useTranslation('cases');
  const { t: tApp } = useTranslation('app');
  const { format } = useSession();
  const queryClient = useQueryClient();
  const kase = useCase(id);
  const definition = useDefinition(kase.data?.caseType);
  const [edit, setEdit] = useState<Record<string, unknown> | null>(null);
  const [status, setStatus] = useState('');
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ['case', id] });
  const setStatusMutation = useMutation({
    mutationFn: (code: string) =>
      call(api.POST('/api/cases/{id}/status', { params: { path: { id } }, body: { status: code } })),
    onSuccess: refresh,
  });
  const update = useMutation({
    mutationFn: (data: Record<string, unknown>) =>
      call(api.PATCH('/api/cases/{id}', { params: { path: { id } }, body: { data: data as never } })),
    onSuccess: () => {
      setEdit(null);
      refresh();
    },
  });

  if (kase.isPending)
    return (
      <p className="loading" role="status">
        {tApp('loading')}
      </p>
    );
  if (kase.isError)
    return (
      <main id="main" className="page">
        <ProblemBanner error={kase.error} onRetry={() => void kase.refetch()} />
      </main>
    );
  const c = kase.data;
  const def = definition.data;
  const manual = def?.statuses.filter((s) => s.manual && s.code !== c.status) ?? [];
  const editable = (def?.editableFields ?? []).filter((f) => f !== 'lines' && def?.fields?.properties?.[f]);
  const ended = c.endedAt !== null;
  const problem = update.error instanceof ApiError ? update.error.problem : undefined;
  const diagram = `/api/case-types/${encodeURIComponent(c.caseType)}/diagram?caseId=${encodeURIComponent(c.id)}&format=html`;

  return (
    <main id="main" className="page case-page">
      <nav className="crumbs" aria-label={t('crumbs')}>
        <Link to="/">{tApp('inbox')}</Link>
        {c.parentCaseId && (
          <>
            {' '}
            <span aria-hidden="true">›</span> <Link to={`/cases/${c.parentCaseId}`}>{t('parent')}</Link>
          </>
        )}
      </nav>
      <h1>{c.title}</h1>
      <div className="task-grid">
        <div className="task-col">
          <CaseHeader kase={c} link={false} />
          <section className="card" aria-labelledby="data-h">
            <h2 id="data-h">{t('data')}</h2>
            {edit === null ? (
              <>
                <dl className="facts wide">
                  {Object.entries(c.data).map(([k, v]) => (
                    <div key={k}>
                      <dt>{def?.fields?.properties?.[k]?.title ?? humanize(k)}</dt>
                      <dd>
                        {k === 'amount' && typeof v === 'number'
                          ? format.money(v, typeof c.data.currency === 'string' ? c.data.currency : 'EUR')
                          : typeof v === 'number'
                            ? format.number(v)
                            : typeof v === 'object'
                              ? JSON.stringify(v)
                              : String(v)}
                      </dd>
                    </div>
                  ))}
                </dl>
                {editable.length > 0 && !ended && (
                  <button
                    type="button"
                    className="button"
                    onClick={() =>
                      setEdit(
                        Object.fromEntries(
                          editable.map((f) => [f, c.data[f]]).filter(([, v]) => v !== undefined),
                        ),
                      )
                    }
                  >
                    {t('edit')}
                  </button>
                )}
              </>
            ) : (
              <form
                onSubmit={(e) => {
                  e.preventDefault();
                  update.mutate(edit);
                }}
              >
                {problem && !problem.errors && <ProblemBanner error={update.error} />}
                <SchemaForm
                  idPrefix="case"
                  schema={def?.fields ?? {}}
                  only={editable}
                  value={edit}
                  onChange={setEdit}
                  errors={fieldErrors(problem)}
                />
                <div className="outcomes">
                  <button type="submit" className="button primary" disabled={update.isPending}>
                    {t('save')}
                  </button>
                  <button type="button" className="button" onClick={() => setEdit(null)}>
                    {t('cancel')}
                  </button>
                </div>
              </form>
            )}
          </section>
          {c.lines && c.lines.length > 0 && (
            <section className="card" aria-labelledby="lines-h">
              <h2 id="lines-h">{t('lines')}</h2>
              <div className="table-wrap">
                <table>
                  <thead>
                    <tr>
                      {Object.keys(def?.lines?.properties ?? c.lines[0] ?? {}).map((k) => (
                        <th key={k} scope="col">
                          {humanize(k)}
                        </th>
                      ))}
                    </tr>
                  </thead>
                  <tbody>
                    {c.lines.map((line, i) => (
                      <tr key={i}>
                        {Object.keys(def?.lines?.properties ?? c.lines?.[0] ?? {}).map((k) => (
                          <td key={k}>
                            {typeof line[k] === 'number'
                              ? format.number(line[k] as number)
                              : String(line[k] ?? '')}
                          </td>
                        ))}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </section>
          )}
          {manual.length > 0 && !ended && (
            <section className="card" aria-labelledby="status-h">
              <h2 id="status-h">{t('setStatus')}</h2>
              {setStatusMutation.error && <ProblemBanner error={setStatusMutation.error} />}
              <form
                className="inline-form"
                onSubmit={(e) => {
                  e.preventDefault();
                  if (status) setStatusMutation.mutate(status);
                }}
              >
                <label className="field grow">
                  <span>{t('newStatus')}</span>
                  <select value={status} onChange={(e) => setStatus(e.target.value)}>
                    <option value="">—</option>
                    {manual.map((s) => (
                      <option key={s.code} value={s.code}>
                        {s.name}
                      </option>
                    ))}
                  </select>
                </label>
                <button type="submit" className="button" disabled={!status || setStatusMutation.isPending}>
                  {t('apply')}
                </button>
              </form>
            </section>
          )}
          <section className="card" aria-labelledby="tasks-h">
            <h2 id="tasks-h">{t('tasks')}</h2>
            <ul className="plain-list">
              {c.tasks.map((task) => (
                <li key={task.id}>
                  {task.actionable ? (
                    <Link to={`/tasks/${task.id}`}>{task.title}</Link>
                  ) : (
                    <span>{task.title}</span>
                  )}{' '}
                  <span className={`chip status-${task.status}`}>{t(`taskStatus.${task.status}`)}</span>
                </li>
              ))}
            </ul>
          </section>
        </div>
        <div className="task-col">
          <section className="card" aria-labelledby="diagram-h">
            <h2 id="diagram-h">{t('diagram')}</h2>
            <div className="diagram">
              <iframe
                key={c.version}
                src={diagram}
                title={t('diagramAlt', { steps: c.currentSteps.map(humanize).join(', ') || t('none') })}
              />
            </div>
          </section>
          <section className="card" aria-labelledby="timeline-h">
            <h2 id="timeline-h">{t('timeline')}</h2>
            <ol className="timeline">
              {c.timeline.map((e) => (
                <li key={e.seq}>
                  <span className="tl-kind">{humanize(e.kind.replace(/\./g, ' '))}</span>
                  <span className="muted small">
                    {e.actor ?? t('system')} · <time dateTime={e.at}>{format.dateTime(e.at)}</time>
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
