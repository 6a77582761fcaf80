/**
 * SIGTERM and SIGINT for a process that shuts down gracefully: the first starts the shutdown, a
 * second means "now" (the operator is not waiting for the grace period) and exits 1 at once.
 *
 * A watch also keeps the process up until it is stopped: a process that waits to be told to stop
 * must not end because nothing else holds it. While a proxy waits for its first endpoint set
 * nothing else may (a discovery source's retry timers are unref'd, and the listener is not open
 * yet), and Node would end it with exit code 13, an unsettled top-level await.
 */
import type { Logger } from 'pino';

export interface SignalWatch {
  /** The first SIGTERM or SIGINT. */
  readonly first: Promise<NodeJS.Signals>;
  /** Removes every handler this watch installed and lets the process end (the shutdown is over, or never started). Idempotent. */
  stop(): void;
}

/** The longest interval a timer takes; the hold's callback has nothing to do. */
const HOLD_MS = 2 ** 31 - 1;

export function watchSignals(logger: Logger): SignalWatch {
  const force = (again: NodeJS.Signals): void => {
    logger.warn({ signal: again }, 'second signal; exiting without waiting for in-flight requests');
    process.exit(1);
  };
  let onSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const first = new Promise<NodeJS.Signals>((resolve) => {
    onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      process.once('SIGTERM', force);
      process.once('SIGINT', force);
      resolve(signal);
    };
  });
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const hold = setInterval(() => undefined, HOLD_MS);
  return {
    first,
    stop: () => {
      clearInterval(hold);
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', force);
      process.off('SIGINT', force);
    },
  };
}
