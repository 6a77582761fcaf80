/**
 * Counting what a scenario did to the requests: the client's outcomes, by whether the request may
 * be replayed (GET) or not (POST), and the pods' seen logs, where a POST id written twice is a POST
 * delivered twice. A non-idempotent request is lost if it failed or was duplicated; one that did
 * both counts once.
 */

/** A request's end as the client saw it: an answer 2xx, or the reason it is a failure. */
export type Outcome = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export const OK: Outcome = Object.freeze({ ok: true });

export interface MethodTally {
  sent: number;
  failed: number;
  /** Failures by reason: `HTTP 502`, `UND_ERR_SOCKET`, ... */
  readonly reasons: Record<string, number>;
  /** The ids of the failed requests. */
  readonly failedIds: string[];
}

export interface LoadTally {
  readonly idempotent: MethodTally;
  readonly nonIdempotent: MethodTally;
}

export function emptyTally(): LoadTally {
  const empty = (): MethodTally => ({ sent: 0, failed: 0, reasons: {}, failedIds: [] });
  return { idempotent: empty(), nonIdempotent: empty() };
}

export function record(t: LoadTally, idempotent: boolean, id: string, outcome: Outcome): void {
  const m = idempotent ? t.idempotent : t.nonIdempotent;
  m.sent++;
  if (outcome.ok) return;
  m.failed++;
  m.reasons[outcome.reason] = (m.reasons[outcome.reason] ?? 0) + 1;
  m.failedIds.push(id);
}

/** Characters of an answer's body that a failure's reason quotes at most. */
const QUOTED_BODY = 48;

/**
 * The outcome of an answer: 2xx is OK; any other status is a failure whose reason quotes what the
 * body says, so that the proxy's own error (its code, or the text of its error page) is told from
 * the pod's.
 */
export function outcomeOfAnswer(status: number, body = ''): Outcome {
  if (status >= 200 && status < 300) return OK;
  const code = /"code"\s*:\s*"([A-Za-z0-9_]+)"/.exec(body)?.[1];
  const text = code ?? body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, QUOTED_BODY);
  return { ok: false, reason: text === '' ? `HTTP ${status}` : `HTTP ${status} (${text})` };
}

/** The outcome of a request that got no whole answer: the error's code (Node's and undici's), or its message. */
export function outcomeOfError(error: unknown): Outcome {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return { ok: false, reason: code };
  return { ok: false, reason: error instanceof Error ? error.message.slice(0, QUOTED_BODY) : 'not an Error' };
}

/**
 * The ids written more than once with `method` in seen-log text (`METHOD ID` lines, from every
 * pod), among those that start with `prefix`.
 */
export function duplicatedIds(seenLog: string, method: string, prefix: string): string[] {
  const counts = new Map<string, number>();
  const head = `${method} ${prefix}`;
  for (const line of seenLog.split('\n')) {
    if (!line.startsWith(head)) continue;
    const id = line.slice(method.length + 1);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return [...counts].filter(([, n]) => n > 1).map(([id]) => id);
}

/**
 * Whether request `n` of a load is a GET (else a POST): half of them, in no period, so that the
 * method never falls in step with round robin over the pods (alternate methods over an even
 * number of pods would send one pod only GETs). murmur3's 32-bit finalizer of n.
 */
export function isGetRequest(n: number): boolean {
  let h = Math.imul(n ^ (n >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return (h & 1) === 0;
}

/** What the table shows of one run. */
export interface RequestCounts {
  readonly idempotent: { readonly sent: number; readonly failed: number };
  readonly nonIdempotent: { readonly sent: number; readonly failed: number; readonly duplicated: number; readonly lost: number };
}

export function requestCounts(t: LoadTally, duplicated: readonly string[]): RequestCounts {
  const failed = new Set(t.nonIdempotent.failedIds);
  const lost = failed.size + duplicated.filter((id) => !failed.has(id)).length;
  return {
    idempotent: { sent: t.idempotent.sent, failed: t.idempotent.failed },
    nonIdempotent: { sent: t.nonIdempotent.sent, failed: t.nonIdempotent.failed, duplicated: duplicated.length, lost },
  };
}

/** `3 x HTTP 502, 1 x UND_ERR_SOCKET`, most frequent first; empty for none. */
export function reasonsText(m: MethodTally): string {
  return Object.entries(m.reasons)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([reason, n]) => `${n} x ${reason}`)
    .join(', ');
}
