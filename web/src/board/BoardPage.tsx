import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link, navigate } from '../app/router';
import { api, call } from '../api/client';
import type { InboxItem } from '../api/types';
import { useSession } from '../session/session';
import { ProblemBanner } from '../shared/ProblemBanner';
import { DueChip } from '../shared/DueChip';
import { AddActionForm, RescheduleForm } from './TaskControls';

/** The supervisor's control panel: each member's load, unassigned work, and reassigning it. */
export default function BoardPage({ team }: { team?: string }) {
  const { t } = useTranslation('board');
  const { t: tApp } = useTranslation('app');
  const { user, timeZone, format } = useSession();
  const queryClient = useQueryClient();
  const teams = user.supervisedTeams;
  const teamId = team ?? teams[0]?.id;
  const [member, setMember] = useState<string | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [assignee, setAssignee] = useState('');
  const [result, setResult] = useState<string | null>(null);
  const [dragOver, setDragOver] = useState<string | null>(null);
  // Dragging needs a mouse or pen; on a touch screen the hint speaks only of selecting.
  const [canDrag] = useState(() => window.matchMedia('(hover: hover) and (pointer: fine)').matches);
  // One task's control form is open at a time.
  const [control, setControl] = useState<{ taskId: string; kind: 'schedule' | 'action' } | null>(null);

  const board = useQuery({
    queryKey: ['board', teamId, timeZone],
    enabled: teamId !== undefined,
    queryFn: () =>
      call(
        api.GET('/api/teams/{id}/board', {
          params: { path: { id: teamId as string }, query: { tz: timeZone } },
        }),
      ),
  });
  const memberTasks = useQuery({
    queryKey: ['inbox', 'member', teamId, member],
    enabled: member !== null,
    queryFn: () =>
      call(
        api.GET('/api/inbox', {
          params: { query: { scope: 'all', assignee: member as string, team: teamId, tz: timeZone } },
        }),
      ),
  });
  const reassign = useMutation({
    mutationFn: ({ ids, to }: { ids: string[]; to: string }) =>
      call(
        api.POST('/api/teams/{id}/reassign', {
          params: { path: { id: teamId as string } },
          body: { taskIds: ids, assignee: to },
        }),
      ),
    onSuccess: (r) => {
      setSelected(new Set());
      setResult(t('reassigned', { ok: r.succeeded ?? 0, failed: r.failed ?? 0 }));
      void queryClient.invalidateQueries({ queryKey: ['board'] });
      void queryClient.invalidateQueries({ queryKey: ['inbox'] });
    },
  });

  if (!teamId)
    return (
      <main id="main" className="page">
        <h1>{t('title')}</h1>
        <p>{t('noTeams')}</p>
      </main>
    );
  const b = board.data;
  const unassigned = (b?.unassigned?.items ?? []) as InboxItem[];
  const listed: InboxItem[] = member ? ((memberTasks.data?.items ?? []) as InboxItem[]) : unassigned;
  const toggle = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  const members = b?.members ?? [];
  const done = (message: string) => {
    setControl(null);
    setResult(message);
  };

  return (
    <main id="main" className="page board-page">
      <div className="page-head">
        <h1>{t('title')}</h1>
        {teams.length > 1 && (
          <label className="inline-field">
            <span>{t('team')}</span>
            <select value={teamId} onChange={(e) => navigate(`/board/${e.target.value}`)}>
              {teams.map((tm) => (
                <option key={tm.id} value={tm.id}>
                  {tm.name}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      {board.isError && <ProblemBanner error={board.error} onRetry={() => void board.refetch()} />}
      {b && (
        <>
          <ul className="totals" aria-label={t('totals')}>
            <li>
              <span className="count-n">{format.number(b.totals?.pending ?? 0)}</span> {t('pending')}
            </li>
            <li className="overdue-count">
              <span className="count-n">{format.number(b.totals?.overdue ?? 0)}</span> {t('overdue')}
            </li>
            <li>
              <span className="count-n">{format.number(b.totals?.unassigned ?? 0)}</span> {t('unassigned')}
            </li>
          </ul>
          <section className="card" aria-labelledby="members-h">
            <h2 id="members-h">{t('members')}</h2>
            <p className="muted small">{t(canDrag ? 'dropHint' : 'selectHint')}</p>
            <div className="table-wrap">
              <table className="members" role="table">
                <thead role="rowgroup">
                  <tr role="row">
                    <th scope="col" role="columnheader">
                      {t('member')}
                    </th>
                    <th scope="col" role="columnheader">
                      {t('pending')}
                    </th>
                    <th scope="col" role="columnheader">
                      {t('overdue')}
                    </th>
                    <th scope="col" role="columnheader">
                      {t('dueToday')}
                    </th>
                    <th scope="col" role="columnheader">
                      {t('nextDue')}
                    </th>
                  </tr>
                </thead>
                <tbody role="rowgroup">
                  {members.map((m) => (
                    <tr
                      key={m.id}
                      role="row"
                      className={dragOver === m.id ? 'drop-target' : member === m.id ? 'selected' : undefined}
                      onDragOver={(e) => {
                        e.preventDefault();
                        setDragOver(m.id ?? null);
                      }}
                      onDragLeave={() => setDragOver(null)}
                      onDrop={(e) => {
                        e.preventDefault();
                        setDragOver(null);
                        const ids = e.dataTransfer.getData('text/plain').split(',').filter(Boolean);
                        if (ids.length > 0 && m.id) reassign.mutate({ ids, to: m.id });
                      }}
                    >
                      <th scope="row" role="rowheader">
                        <button
                          type="button"
                          className="linklike"
                          aria-pressed={member === m.id}
                          onClick={() => setMember(member === m.id ? null : (m.id ?? null))}
                        >
                          {m.name}
                        </button>
                      </th>
                      <td role="cell" data-label={t('pending')}>
                        {format.number(m.pending ?? 0)}
                      </td>
                      <td
                        role="cell"
                        data-label={t('overdue')}
                        className={(m.overdue ?? 0) > 0 ? 'overdue-text' : undefined}
                      >
                        {format.number(m.overdue ?? 0)}
                      </td>
                      <td role="cell" data-label={t('dueToday')}>
                        {format.number(m.dueToday ?? 0)}
                      </td>
                      <td role="cell" data-label={t('nextDue')} className="next-due">
                        {m.nextDueAt ? (
                          <time dateTime={m.nextDueAt}>{format.dateTime(m.nextDueAt)}</time>
                        ) : (
                          '—'
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
          <section className="card" aria-labelledby="work-h">
            <h2 id="work-h">
              {member
                ? t('tasksOf', { name: members.find((m) => m.id === member)?.name ?? member })
                : t('unassignedWork')}
            </h2>
            {member && (
              <button type="button" className="button ghost" onClick={() => setMember(null)}>
                {t('showUnassigned')}
              </button>
            )}
            {result && (
              <p className="success" role="status">
                {result}
              </p>
            )}
            {reassign.error && <ProblemBanner error={reassign.error} />}
            <form
              className="inline-form reassign"
              onSubmit={(e) => {
                e.preventDefault();
                if (assignee && selected.size > 0) reassign.mutate({ ids: [...selected], to: assignee });
              }}
            >
              <label className="field grow">
                <span>{t('reassignTo')}</span>
                <select value={assignee} onChange={(e) => setAssignee(e.target.value)}>
                  <option value="">—</option>
                  {members.map((m) => (
                    <option key={m.id} value={m.id}>
                      {m.name}
                    </option>
                  ))}
                </select>
              </label>
              <button
                type="submit"
                className="button primary"
                disabled={!assignee || selected.size === 0 || reassign.isPending}
              >
                {t('reassign', { count: selected.size })}
              </button>
            </form>
            {listed.length === 0 ? (
              <p className="empty">{t('nothing')}</p>
            ) : (
              <ul className="board-list">
                {listed.map((item) => (
                  <li
                    key={item.id}
                    draggable={canDrag}
                    onDragStart={(e) =>
                      e.dataTransfer.setData(
                        'text/plain',
                        selected.has(item.id) ? [...selected].join(',') : item.id,
                      )
                    }
                    className={selected.has(item.id) ? 'selected' : undefined}
                  >
                    <label className="check">
                      <input
                        type="checkbox"
                        checked={selected.has(item.id)}
                        onChange={() => toggle(item.id)}
                      />
                      <span className="sr-only">{t('select', { title: item.title })}</span>
                    </label>
                    <div className="row-main">
                      <Link to={`/tasks/${item.id}`} className="row-title">
                        {item.title}
                      </Link>
                      <div className="chips">
                        <DueChip
                          dueAt={item.dueAt ?? null}
                          overdue={item.overdue === true}
                          open={item.status === 'open'}
                        />
                        <span className="chip">{tApp(`priority.${item.priority}`)}</span>
                      </div>
                      <div className="control-buttons">
                        <Link
                          to={`/cases/${item.caseId}`}
                          className="button"
                          aria-label={`${t('case')}: ${item.case.title}`}
                        >
                          {t('case')}
                        </Link>
                        {(['schedule', 'action'] as const).map((kind) => {
                          const shown = control?.taskId === item.id && control.kind === kind;
                          return (
                            <button
                              key={kind}
                              type="button"
                              className="button"
                              aria-expanded={shown}
                              aria-controls={shown ? `control-${item.id}` : undefined}
                              // The visible label first (WCAG 2.5.3), then which task it is for.
                              aria-label={`${t(kind === 'schedule' ? 'reschedule' : 'addAction')}: ${item.title}`}
                              onClick={() => {
                                setResult(null);
                                setControl(shown ? null : { taskId: item.id, kind });
                              }}
                            >
                              {t(kind === 'schedule' ? 'reschedule' : 'addAction')}
                            </button>
                          );
                        })}
                      </div>
                    </div>
                    {control?.taskId === item.id && (
                      <div id={`control-${item.id}`} className="control-panel">
                        {control.kind === 'schedule' ? (
                          <RescheduleForm task={item} onDone={done} />
                        ) : (
                          <AddActionForm
                            task={item}
                            team={teamId}
                            members={members.map((m) => ({ id: m.id ?? '', name: m.name ?? '' }))}
                            onDone={done}
                          />
                        )}
                      </div>
                    )}
                  </li>
                ))}
              </ul>
            )}
          </section>
        </>
      )}
    </main>
  );
}
