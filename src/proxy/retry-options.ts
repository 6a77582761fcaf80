/**
 * Retry settings and their defaults, apart from the retry machinery (retries.ts), so that config
 * can read them without loading the data plane.
 */
import { ConfigError } from '../errors.js';

export const RETRY_CONDITIONS = ['connect-failure', 'refused-stream', 'unread-reset', 'reset', 'gateway-error', '5xx', 'timeout'] as const;
export type RetryCondition = (typeof RETRY_CONDITIONS)[number];

export interface RetryOptions {
  /** Retries after the first attempt; 0 disables retries. */
  readonly retries: number;
  readonly retryOn: readonly RetryCondition[];
  /** Apply `reset`, `gateway-error`, `5xx` and `timeout` to every method, not only idempotent ones. */
  readonly nonIdempotent: boolean;
}

export const DEFAULT_RETRY_OPTIONS: RetryOptions = Object.freeze({
  retries: 2,
  retryOn: Object.freeze(['connect-failure', 'refused-stream', 'unread-reset', 'reset', 'gateway-error'] as RetryCondition[]),
  nonIdempotent: false,
});

export const MAX_RETRIES = 10;

/**
 * Parses `--retry-on` (a comma-separated list of RETRY_CONDITIONS).
 * @throws ConfigError naming `field`
 */
export function parseRetryOn(text: string, field = 'retries.retryOn'): RetryCondition[] {
  const out: RetryCondition[] = [];
  for (const raw of text.split(',')) {
    const name = raw.trim();
    if (name.length === 0) continue;
    if (!(RETRY_CONDITIONS as readonly string[]).includes(name)) {
      throw new ConfigError('SG_ERR_CONFIG', field, `has ${JSON.stringify(name)}: use a comma-separated list of ${RETRY_CONDITIONS.join(', ')}`);
    }
    if (!out.includes(name as RetryCondition)) out.push(name as RetryCondition);
  }
  return out;
}

