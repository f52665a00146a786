import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { navigate, useLocation } from '../app/router';
import { useSession } from '../session/session';
import {
  useCompleteActivity,
  useInbox,
  useInboxActivities,
  useTaskAction,
  type InboxFilters,
  type Scope,
} from './useInbox';
import { ActivityRow } from './ActivityRow';
import { InboxRow } from './InboxRow';
import { ProblemBanner } from '../shared/ProblemBanner';
import type { InboxActivity, InboxItem } from '../api/types';

const SCOPES: Scope[] = ['inbox', 'mine', 'claimable'];

function filtersFrom(search: URLSearchParams): InboxFilters {
  const scope = (search.get('scope') as Scope | null) ?? 'inbox';
  return {
    scope: [...SCOPES, 'team'].includes(scope) ? scope : 'inbox',
    team: search.get('team') ?? undefined,
    q: search.get('q') ?? undefined,
    overdue: search.get('overdue') === 'true',
    priority: search.get('priority') ?? undefined,
    sort: (search.get('sort') as InboxFilters['sort'] | null) ?? 'due',
  };
}

function toSearch(f: InboxFilters): string {
  const s = new URLSearchParams();
  if (f.scope !== 'inbox') s.set('scope', f.scope);
  if (f.team) s.set('team', f.team);
  if (f.q) s.set('q', f.q);
  if (f.overdue) s.set('overdue', 'true');
  if (f.priority) s.set('priority', f.priority);
  if (f.sort !== 'due') s.set('sort', f.sort);
  const text = s.toString();
  return text ? `/?${text}` : '/';
}

/** Typing in a field must not trigger the list's shortcuts. */
const typing = (e: KeyboardEvent) =>
  e.target instanceof HTMLElement && /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName);

export function InboxPage() {
  const { t } = useTranslation('inbox');
  const { t: tApp } = useTranslation('app');
  const { user, timeZone, format } = useSession();
  const { search } = useLocation();
  const filters = useMemo(() => filtersFrom(search), [search]);
  const [text, setText] = useState(filters.q ?? '');
  const inbox = useInbox(filters, timeZone);
  const claim = useTaskAction('claim');
  const unclaim = useTaskAction('unclaim');
  const rows = useRef(new Map<string, HTMLLIElement>());
  const [focused, setFocused] = useState<string | null>(null);
  const sentinel = useRef<HTMLDivElement>(null);
  // Scheduled activities on entities sit above the tasks; a text or priority filter is about tasks only, and
  // designers read no entity.
  const showActivities = user.role !== 'designer' && !filters.q && !filters.priority;
  const activitiesQuery = useInboxActivities(filters, showActivities);
  const completeActivity = useCompleteActivity();
  const activities: InboxActivity[] = useMemo(
    () =>
      (activitiesQuery.data?.pages.flatMap((p) => p.items) ?? []).filter(
        (a) => !filters.overdue || a.overdue,
      ),
    [activitiesQuery.data, filters.overdue],
  );

  const items: InboxItem[] = useMemo(
    () => inbox.data?.pages.flatMap((p) => p.items ?? []) ?? [],
    [inbox.data],
  );
  const counts = inbox.data?.pages[0]?.counts;
  const teams = user.role === 'admin' || user.supervisedTeams.length > 0 ? user.supervisedTeams : [];

  const set = (patch: Partial<InboxFilters>) =>
    navigate(toSearch({ ...filters, ...patch }), { replace: true });

  // Search as the person types, once they pause.
  useEffect(() => {
    if ((text || undefined) === filters.q) return;
    const timer = setTimeout(() => set({ q: text || undefined }), 300);
    return () => clearTimeout(timer);
  }, [text]);

  // The next page loads when the end of the list comes into view.
  useEffect(() => {
    const el = sentinel.current;
    if (!el || !inbox.hasNextPage) return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && !inbox.isFetchingNextPage) void inbox.fetchNextPage();
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, [inbox.hasNextPage, inbox.isFetchingNextPage, inbox]);

  const move = useCallback(
    (delta: number) => {
      const index = items.findIndex((i) => i.id === focused);
      const next = items[Math.min(items.length - 1, Math.max(0, index + delta))];
      if (next) rows.current.get(next.id)?.focus();
    },
    [items, focused],
  );

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (typing(e) || e.metaKey || e.ctrlKey || e.altKey) return;
      const item = items.find((i) => i.id === focused);
      if (e.key === 'j') move(1);
      else if (e.key === 'k') move(-1);
      else if (e.key === 'c' && item && !item.assignee && item.status === 'open') claim.mutate(item.id);
      else if (e.key === 'Enter' && item && document.activeElement === rows.current.get(item.id))
        navigate(`/tasks/${item.id}`);
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [items, focused, move, claim]);

  const badge = (n: number | undefined) =>
    n === undefined ? null : <span className="badge">{format.number(n)}</span>;
  const actionError = claim.error ?? unclaim.error ?? completeActivity.error;

  return (
    <main id="main" className="page inbox-page">
      <div className="page-head">
        <h1>{t('title')}</h1>
        {counts && (
          <ul className="counts" aria-label={t('counts')}>
            <li className="count overdue-count">
              <span className="count-n">{format.number(counts.overdue)}</span> {t('overdueCount')}
            </li>
            <li className="count today-count">
              <span className="count-n">{format.number(counts.dueToday)}</span> {t('dueTodayCount')}
            </li>
          </ul>
        )}
      </div>
      <div className="scopes" role="group" aria-label={t('scope')}>
        {SCOPES.map((s) => (
          <button
            key={s}
            type="button"
            className="scope"
            aria-pressed={filters.scope === s}
            onClick={() => set({ scope: s, team: undefined })}
          >
            {t(`scope.${s}`)}
            {s === 'mine' && badge(counts?.mine)}
            {s === 'claimable' && badge(counts?.claimable)}
          </button>
        ))}
        {teams.length > 0 && (
          <label className="scope-team">
            <span className="sr-only">{t('scope.team')}</span>
            <select
              value={filters.scope === 'team' ? (filters.team ?? '') : ''}
              onChange={(e) =>
                e.target.value
                  ? set({ scope: 'team', team: e.target.value })
                  : set({ scope: 'inbox', team: undefined })
              }
            >
              <option value="">{t('scope.team')}</option>
              {teams.map((team) => (
                <option key={team.id} value={team.id}>
                  {team.name}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      <div className="toolbar">
        <label className="search">
          <span className="sr-only">{t('search')}</span>
          <input
            type="search"
            placeholder={t('search')}
            value={text}
            onChange={(e) => setText(e.target.value)}
            enterKeyHint="search"
          />
        </label>
        <label className="toggle">
          <input
            type="checkbox"
            checked={filters.overdue === true}
            onChange={(e) => set({ overdue: e.target.checked })}
          />
          <span>{t('onlyOverdue')}</span>
        </label>
        <label className="inline-field">
          <span>{t('priority')}</span>
          <select
            value={filters.priority ?? ''}
            onChange={(e) => set({ priority: e.target.value || undefined })}
          >
            <option value="">{t('any')}</option>
            {['urgent', 'high', 'normal', 'low'].map((p) => (
              <option key={p} value={p}>
                {tApp(`priority.${p}`)}
              </option>
            ))}
          </select>
        </label>
        <label className="inline-field">
          <span>{t('sort')}</span>
          <select
            value={filters.sort}
            onChange={(e) => set({ sort: e.target.value as InboxFilters['sort'] })}
          >
            <option value="due">{t('sort.due')}</option>
            <option value="priority">{t('sort.priority')}</option>
            <option value="created">{t('sort.created')}</option>
          </select>
        </label>
      </div>
      <p className="hint muted small">{t('keys')}</p>
      {actionError && <ProblemBanner error={actionError} />}
      {showActivities && activities.length > 0 && (
        <section className="activities" aria-labelledby="activities-h">
          <h2 id="activities-h" className="section-title">
            {t('activities')}
          </h2>
          <ul className="inbox-list" aria-labelledby="activities-h">
            {activities.map((a) => (
              <ActivityRow
                key={a.id}
                activity={a}
                busy={completeActivity.isPending && completeActivity.variables?.id === a.id}
                onDone={() => completeActivity.mutate({ entityId: a.entity.id, id: a.id })}
              />
            ))}
          </ul>
          {activitiesQuery.hasNextPage && (
            <button
              type="button"
              className="button wide"
              onClick={() => void activitiesQuery.fetchNextPage()}
              disabled={activitiesQuery.isFetchingNextPage}
            >
              {activitiesQuery.isFetchingNextPage ? tApp('loading') : t('moreActivities')}
            </button>
          )}
        </section>
      )}
      {inbox.isPending ? (
        <p className="loading" role="status">
          {tApp('loading')}
        </p>
      ) : inbox.isError && items.length === 0 ? (
        <ProblemBanner error={inbox.error} onRetry={() => void inbox.refetch()} />
      ) : items.length === 0 ? (
        // With scheduled activities above, "nothing here" would be untrue: only the task list is empty.
        <p className="empty">{t(showActivities && activities.length > 0 ? 'emptyTasks' : 'empty')}</p>
      ) : (
        <ul className="inbox-list" aria-label={t('list')} aria-busy={inbox.isFetching}>
          {items.map((item) => (
            <InboxRow
              key={item.id}
              item={item}
              ref={(el) => {
                if (el) rows.current.set(item.id, el);
                else rows.current.delete(item.id);
              }}
              busy={
                (claim.isPending && claim.variables === item.id) ||
                (unclaim.isPending && unclaim.variables === item.id)
              }
              onClaim={() => claim.mutate(item.id)}
              onUnclaim={() => unclaim.mutate(item.id)}
              onFocus={() => setFocused(item.id)}
            />
          ))}
        </ul>
      )}
      <div ref={sentinel} />
      {inbox.hasNextPage && (
        <button
          type="button"
          className="button wide"
          onClick={() => void inbox.fetchNextPage()}
          disabled={inbox.isFetchingNextPage}
        >
          {inbox.isFetchingNextPage ? tApp('loading') : t('more')}
        </button>
      )}
    </main>
  );
}
