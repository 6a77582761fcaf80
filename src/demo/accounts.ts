/**
 * The demo's keyspace: accounts `account-0` .. `account-{n-1}`, sent in the `x-account` header.
 */
import { KEY_HEADER } from './demo-proxy.js';

export function accountKey(i: number): string {
  return `account-${i}`;
}

export function accountKeys(count: number): string[] {
  return Array.from({ length: count }, (_, i) => accountKey(i));
}

export function accountHeaders(key: string): Record<string, string> {
  return { [KEY_HEADER]: key };
}
