import { Context } from '@temporalio/activity';

/** How often a long side effect reports that its worker is alive (well under the workflow's heartbeat timeout). */
const HEARTBEAT_EVERY_MS = 2000;

/**
 * Runs `fn`, heartbeating while it runs when called as an activity. With a heartbeat timeout on the
 * activity, a worker that dies mid-send is noticed in seconds instead of after the start-to-close timeout.
 */
export async function withHeartbeat<T>(fn: () => Promise<T>): Promise<T> {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return fn(); // Called directly (tests, scripts), not as an activity.
  }
  context.heartbeat();
  const timer = setInterval(() => context.heartbeat(), HEARTBEAT_EVERY_MS);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}
