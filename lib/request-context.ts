import { AsyncLocalStorage } from 'node:async_hooks';

/** What code serving one HTTP request may know about it without being handed it: its request id. */
const storage = new AsyncLocalStorage<{ requestId: string }>();

/** Runs `fn` as part of the request `requestId`. */
export function withRequestId<T>(requestId: string, fn: () => T): T {
  return storage.run({ requestId }, fn);
}

/** The id of the HTTP request being served, if any. */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}
