import { useInfiniteQuery, useMutation, useQueryClient, type InfiniteData } from '@tanstack/react-query';
import { api, call } from '../api/client';
import type {
  InboxActivityPage,
  InboxActivityQuery,
  InboxItem,
  InboxPage,
  InboxQuery,
  Task,
} from '../api/types';

export type Scope = 'inbox' | 'mine' | 'claimable' | 'team';

export interface InboxFilters {
  scope: Scope;
  team?: string;
  q?: string;
  overdue?: boolean;
  priority?: string;
  sort: 'due' | 'priority' | 'created';
}

/** The API query for the screen's filters. */
export function inboxQuery(f: InboxFilters, tz: string, cursor?: string): InboxQuery {
  const q: InboxQuery = { tz, sort: f.sort };
  if (f.scope === 'team') {
    q.scope = 'all';
    if (f.team) q.team = f.team;
  } else q.scope = f.scope;
  if (f.q && f.q.trim().length >= 2) q.q = f.q.trim();
  if (f.overdue) q.overdue = 'true';
  if (f.priority) q.priority = f.priority as InboxQuery['priority'];
  if (cursor) q.cursor = cursor;
  return q;
}

/** The inbox as pages that load while the list scrolls. */
export function useInbox(filters: InboxFilters, tz: string) {
  return useInfiniteQuery({
    queryKey: ['inbox', filters, tz],
    queryFn: ({ pageParam }) =>
      call(api.GET('/api/inbox', { params: { query: inboxQuery(filters, tz, pageParam) } })),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
}

/** Puts an action's answer into every cached inbox list at once, before the stream's refetch. */
function patchInboxes(queryClient: ReturnType<typeof useQueryClient>, task: Task): void {
  queryClient.setQueriesData<InfiniteData<InboxPage>>({ queryKey: ['inbox'] }, (data) =>
    data
      ? {
          ...data,
          pages: data.pages.map((page) => ({
            ...page,
            items: page.items?.map((item) =>
              item.id === task.id ? ({ ...item, ...task } as InboxItem) : item,
            ),
          })),
        }
      : data,
  );
  queryClient.setQueryData(['task', task.id], (old: object | undefined) => (old ? { ...old, ...task } : old));
}

/** Claim or unclaim: the row shows the answer as soon as the API gives it. */
export function useTaskAction(action: 'claim' | 'unclaim') {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      action === 'claim'
        ? call(api.POST('/api/tasks/{id}/claim', { params: { path: { id } }, body: {} }))
        : call(api.POST('/api/tasks/{id}/unclaim', { params: { path: { id } }, body: {} })),
    onSuccess: (task) => {
      patchInboxes(queryClient, task as Task);
      void queryClient.invalidateQueries({ queryKey: ['inbox'] });
    },
  });
}

/**
 * The scheduled activities for the screen's scope: mine and my teams', mine, my teams' (beside the tasks to
 * claim) or a team's queue.
 */
export function activityQuery(f: InboxFilters, cursor?: string): InboxActivityQuery {
  const q: InboxActivityQuery = {};
  if (f.scope === 'team') {
    if (f.team) q.team = f.team;
    else q.scope = 'team';
  } else if (f.scope === 'claimable') q.scope = 'team';
  else if (f.scope === 'mine') q.scope = 'mine';
  if (cursor) q.cursor = cursor;
  return q;
}

/** The inbox's scheduled activities (calls, meetings, visits, emails on an entity), soonest first. */
export function useInboxActivities(filters: InboxFilters, enabled: boolean) {
  return useInfiniteQuery({
    queryKey: ['inbox-activities', activityQuery(filters)],
    queryFn: ({ pageParam }) =>
      call(api.GET('/api/inbox/activities', { params: { query: activityQuery(filters, pageParam) } })),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last: InboxActivityPage) => last.nextCursor ?? undefined,
    enabled,
  });
}

/** Marks a scheduled activity done: it leaves the inbox. */
export function useCompleteActivity() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (a: { entityId: string; id: string }) =>
      call(
        api.PATCH('/api/entities/{id}/activities/{activityId}', {
          params: { path: { id: a.entityId, activityId: a.id } },
          body: { status: 'done' },
        }),
      ),
    onSuccess: (_, a) => {
      queryClient.setQueriesData<InfiniteData<InboxActivityPage>>(
        { queryKey: ['inbox-activities'] },
        (data) =>
          data
            ? {
                ...data,
                pages: data.pages.map((p) => ({ ...p, items: p.items.filter((i) => i.id !== a.id) })),
              }
            : data,
      );
      void queryClient.invalidateQueries({ queryKey: ['inbox-activities'] });
    },
  });
}
