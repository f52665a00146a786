import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, call } from '../api/client';
import type { Task } from '../api/types';

export interface TaskDetail extends Task {
  history?: { seq: number; at: string; kind: string; actor: string | null; detail: unknown }[];
}

export function useTask(id: string) {
  return useQuery({
    queryKey: ['task', id],
    queryFn: async () => (await call(api.GET('/api/tasks/{id}', { params: { path: { id } } }))) as TaskDetail,
  });
}

type Action =
  | { kind: 'claim' | 'unclaim' | 'resolve' }
  | { kind: 'complete'; outcome: string; data?: Record<string, unknown>; notes?: string }
  | { kind: 'comment'; text: string }
  | { kind: 'delegate'; to: string }
  | { kind: 'edit'; data?: Record<string, unknown>; notes?: string };

function send(id: string, a: Action): Promise<unknown> {
  const path = { id };
  switch (a.kind) {
    case 'claim':
      return call(api.POST('/api/tasks/{id}/claim', { params: { path }, body: {} }));
    case 'unclaim':
      return call(api.POST('/api/tasks/{id}/unclaim', { params: { path }, body: {} }));
    case 'resolve':
      return call(api.POST('/api/tasks/{id}/resolve', { params: { path }, body: {} }));
    case 'complete':
      return call(
        api.POST('/api/tasks/{id}/complete', {
          params: { path },
          body: {
            outcome: a.outcome,
            ...(a.data ? { data: a.data as never } : {}),
            ...(a.notes ? { notes: a.notes } : {}),
          },
        }),
      );
    case 'comment':
      return call(api.POST('/api/tasks/{id}/comment', { params: { path }, body: { text: a.text } }));
    case 'delegate':
      return call(api.POST('/api/tasks/{id}/delegate', { params: { path }, body: { to: a.to } }));
    case 'edit':
      return call(
        api.PATCH('/api/tasks/{id}', {
          params: { path },
          body: {
            ...(a.data ? { data: a.data as never } : {}),
            ...(a.notes !== undefined ? { notes: a.notes } : {}),
          },
        }),
      );
  }
}

/** Every task action; the answer refreshes the task, its case and the inbox lists. */
export function useTaskMutation(id: string, caseId: string | undefined) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (a: Action) => send(id, a),
    onSuccess: (task) => {
      queryClient.setQueryData(['task', id], (old: TaskDetail | undefined) =>
        old ? { ...old, ...(task as Task) } : old,
      );
      void queryClient.invalidateQueries({ queryKey: ['task', id] });
      void queryClient.invalidateQueries({ queryKey: ['inbox'] });
      if (caseId) void queryClient.invalidateQueries({ queryKey: ['case', caseId] });
    },
  });
}
