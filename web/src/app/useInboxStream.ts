import { useEffect, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';

export type StreamState = 'connecting' | 'live' | 'down';

/**
 * Listens to /api/inbox/stream and refreshes what a task change touches: the inbox lists, the task and
 * the team boards. Changes that arrive together are refetched once.
 */
export function useInboxStream(enabled: boolean): StreamState {
  const queryClient = useQueryClient();
  const [state, setState] = useState<StreamState>('connecting');
  useEffect(() => {
    if (!enabled || typeof EventSource === 'undefined') return;
    const source = new EventSource('/api/inbox/stream');
    const tasks = new Set<string>();
    let scheduled = false;
    const flush = () => {
      scheduled = false;
      void queryClient.invalidateQueries({ queryKey: ['inbox'] });
      void queryClient.invalidateQueries({ queryKey: ['board'] });
      for (const id of tasks) void queryClient.invalidateQueries({ queryKey: ['task', id] });
      tasks.clear();
    };
    source.addEventListener('ready', () => setState('live'));
    source.addEventListener('task', (e) => {
      try {
        const { taskId } = JSON.parse((e as MessageEvent<string>).data) as { taskId: string };
        tasks.add(taskId);
      } catch {
        /* a malformed event still means something changed */
      }
      if (!scheduled) {
        scheduled = true;
        setTimeout(flush, 50);
      }
    });
    source.addEventListener('reset', () => void queryClient.invalidateQueries());
    source.onerror = () => setState(source.readyState === EventSource.CLOSED ? 'down' : 'connecting');
    return () => source.close();
  }, [enabled, queryClient]);
  return state;
}
