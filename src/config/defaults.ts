/**
 * Every default of the configuration in one place: the parser fills them in and `--help` shows
 * them, so the two cannot disagree.
 */

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULTS = {
  listen: '0.0.0.0:8080',
  algorithm: 'p2c',
  logLevel: 'info',
  endpointHeader: true,
  // Node's own default for --max-http-header-size.
  maxHeaderBytes: 16_384,
  timeouts: {
    // Within a cluster a healthy pod accepts in well under a second; longer waits only hold
    // requests that a retry elsewhere would serve sooner.
    connectMs: 2_000,
    upstreamHeadersMs: 30_000,
    // Long enough for streaming and long-poll responses (undici's own default).
    upstreamBodyMs: 300_000,
    // Bounds slow-header (slowloris) clients.
    clientHeadersMs: 10_000,
    clientIdleMs: 60_000,
    // Leaves room inside Kubernetes' default 30 s termination grace period.
    shutdownGraceMs: 10_000,
  },
} as const;

/** Upper bound of every duration setting: a day. Longer is a typo in practice (seconds for ms). */
export const MAX_MS = 86_400_000;
export const MAX_HEADER_BYTES_LIMIT = 1_048_576;
export const MIN_HEADER_BYTES = 1_024;
