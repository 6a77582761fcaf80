/**
 * What the directory answers instead of a result: a status, a stable code and a sentence naming
 * what was wrong and what to do, sent as the proxy's error bodies are (`{"error","code"}`).
 * A value, not an exception: lookups and plans return it.
 */
import type { DirectoryErrorCode, ProxyErrorCode } from '../errors.js';

export interface Refusal {
  readonly kind: 'refusal';
  readonly status: number;
  readonly code: DirectoryErrorCode | ProxyErrorCode;
  readonly error: string;
}

export function refusal(status: number, code: DirectoryErrorCode | ProxyErrorCode, error: string): Refusal {
  return { kind: 'refusal', status, code, error };
}

export function isRefusal(x: unknown): x is Refusal {
  return typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'refusal';
}
