/**
 * How our processes (npm start, the API, the worker) answer SIGINT and SIGTERM: the first one drains
 * (`drain` finishes the work in flight and closes everything), then the process exits 0 (1 if draining
 * failed); a second one forces an immediate exit (130).
 *
 * One Ctrl-C in a terminal reaches node more than once: the terminal sends SIGINT to the whole
 * foreground process group (npm, tsx and node), then npm passes it on to tsx and tsx passes it on to
 * node, a few milliseconds apart. So a signal within ECHO_WINDOW_MS of the first one is the same Ctrl-C
 * and is ignored; only a later one counts as the second.
 */
import { logger } from './logger';

export const ECHO_WINDOW_MS = 500;

export interface StopSignalOptions {
  /** Finishes the work in flight and closes everything; the process exits when it settles. */
  drain: () => Promise<void>;
  /** Told once when draining starts (which signal). */
  onStop?: (signal: NodeJS.Signals) => void;
}

/** Installs the handlers for SIGINT and SIGTERM (once per process). */
export function handleStopSignals(opts: StopSignalOptions): void {
  let firstAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    const now = Date.now();
    if (firstAt === undefined) {
      firstAt = now;
      opts.onStop?.(signal);
      void stopWith(opts.drain);
      return;
    }
    if (now - firstAt < ECHO_WINDOW_MS) return; // the same Ctrl-C, passed on by npm or tsx
    process.stderr.write('Forced exit: not waiting for the work in flight.\n');
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

let stopping: Promise<never> | undefined;

/**
 * Runs `drain` and exits: 0 when it succeeded, 1 when it failed (or `failed` says the process failed).
 * Once a stop runs, later calls join it (a start-up step failing because the drain closed what it
 * used must not cut the drain short).
 */
export function stopWith(drain: () => Promise<void>, failed = false): Promise<never> {
  stopping ??= (async () => {
    let code = failed ? 1 : 0;
    try {
      await drain();
    } catch (err) {
      logger.error({ err }, 'stopping failed');
      code = 1;
    }
    process.exit(code);
  })();
  return stopping;
}
