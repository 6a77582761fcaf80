/**
 * Every default of the configuration in one place: the parser fills them in and `--help` shows
 * them, so the two cannot disagree.
 */

import { DEFAULT_MAX_BODY_BUFFER, DEFAULT_MAX_HEADER_BYTES, DEFAULT_TIMEOUTS } from '../proxy/limits.js';

/** The longest planned hand-off delay (`handoffDelayMs`): ten minutes. */
export const MAX_HANDOFF_DELAY_MS = 600_000;

/** Most worker threads `--workers` accepts. */
export const MAX_WORKERS = 1_024;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULTS = {
  listen: '0.0.0.0:8080',
  algorithm: 'p2c',
  logLevel: 'info',
  endpointHeader: true,
  maxHeaderBytes: DEFAULT_MAX_HEADER_BYTES,
  maxBodyBuffer: DEFAULT_MAX_BODY_BUFFER,
  timeouts: DEFAULT_TIMEOUTS,
} as const;

export { MAX_BODY_BUFFER_LIMIT, MAX_MS, MAX_HEADER_BYTES_LIMIT, MIN_BODY_BUFFER, MIN_HEADER_BYTES } from '../proxy/limits.js';
