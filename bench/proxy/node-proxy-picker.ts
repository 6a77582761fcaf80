/**
 * How the reference Node.js proxy (node-proxy-process.ts) picks a pod: a counter for round robin,
 * FNV-1a of the key modulo the pod count for hashing, which is what such a proxy gets written
 * with; a request without the key takes the next pod in turn.
 */
import type { BalanceMode } from './scenario.js';

/** 32-bit FNV-1a of a string's UTF-16 code units. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Picks the index of the pod for a request: the next in turn, or the owner of its key. */
export function podPicker(mode: BalanceMode, pods: number): (key: string | string[] | undefined) => number {
  let next = 0;
  const turn = (): number => {
    const i = next;
    next = (next + 1) % pods;
    return i;
  };
  if (mode === 'round-robin') return turn;
  return (key) => (typeof key === 'string' ? fnv1a(key) % pods : turn());
}
