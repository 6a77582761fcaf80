/**
 * SIGTERM and SIGINT for a process that shuts down gracefully: the first starts the shutdown, a
 * second means "now" (the operator is not waiting for the grace period) and exits 1 at once.
 */
import type { Logger } from 'pino';

export interface SignalWatch {
  /** The first SIGTERM or SIGINT. */
  readonly first: Promise<NodeJS.Signals>;
  /** Removes every handler this watch installed (the shutdown is over, or never started). Idempotent. */
  stop(): void;
}

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
  return {
    first,
    stop: () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', force);
      process.off('SIGINT', force);
    },
  };
}
