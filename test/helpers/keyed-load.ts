/**
 * Continuous keyed GET load through a proxy, for tests that change the endpoints under traffic:
 * `concurrency` loops on one undici Pool, each taking the next key of a fixed list in turn (so
 * every key is asked again once per cycle), sending it in a header. Pods answer with their own
 * name (backends.ts), so each answer says which pod served the key.
 *
 * Every answer that is not a 200 from a pod, and every request that fails, is kept in `failures`.
 * `snapshot()` maps each key to the pod that answered its first request started after the call:
 * the owners as the proxy routes them from that moment. Always `stop()` it (it closes its pool).
 */
import { Pool } from 'undici';

export interface LoadFailure {
  readonly key: string;
  /** The proxy's status, or 0 when the request failed without one. */
  readonly status: number;
  /** The response body, or the request's error. */
  readonly detail: string;
}

export interface KeyedLoadOptions {
  /** Requests in flight at once (one pool connection each). */
  readonly concurrency: number;
  /** The header that carries the key (the proxy's `--key header:NAME`). */
  readonly header: string;
}

interface Snapshot {
  /** Only requests started after this sequence number count. */
  readonly after: number;
  readonly owners: Map<string, string>;
  readonly resolve: (owners: Map<string, string>) => void;
}

export class KeyedLoad {
  readonly keys: readonly string[];
  readonly failures: LoadFailure[] = [];
  /** Answers by pod, all keys together. */
  readonly answers = new Map<string, number>();
  /** Requests completed, failed or not. */
  completed = 0;
  readonly #pool: Pool;
  readonly #header: string;
  readonly #concurrency: number;
  #started = 0;
  #running = false;
  #loops: Promise<void>[] = [];
  #snapshots: Snapshot[] = [];
  #onAnswer: ((key: string, pod: string) => void) | null = null;
  #stopped: Promise<void> | null = null;

  constructor(origin: string, keys: readonly string[], options: KeyedLoadOptions) {
    this.keys = keys;
    this.#header = options.header;
    this.#concurrency = options.concurrency;
    this.#pool = new Pool(origin, { connections: options.concurrency });
  }

  /** Starts the loops; they run until `stop()`. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loops = Array.from({ length: this.#concurrency }, () => this.#loop());
  }

  /**
   * Each key's pod, from its first request started after this call; rejects after `timeoutMs`.
   * Call only while running.
   */
  snapshot(timeoutMs = 10_000): Promise<Map<string, string>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#snapshots = this.#snapshots.filter((s) => s !== snapshot);
        reject(new Error(`no snapshot of ${this.keys.length} keys within ${timeoutMs} ms (got ${snapshot.owners.size}; failures: ${JSON.stringify(this.failures.slice(0, 5))})`));
      }, timeoutMs);
      const snapshot: Snapshot = {
        after: this.#started,
        owners: new Map(),
        resolve: (owners) => {
          clearTimeout(timer);
          resolve(owners);
        },
      };
      this.#snapshots.push(snapshot);
    });
  }

  /** Calls `onAnswer` for every 200 from now on (one at a time; null stops it). */
  watch(onAnswer: ((key: string, pod: string) => void) | null): void {
    this.#onAnswer = onAnswer;
  }

  /** Lets the requests under way finish, then closes the pool. Idempotent. */
  stop(): Promise<void> {
    this.#running = false;
    this.#stopped ??= Promise.all(this.#loops).then(() => this.#pool.close());
    return this.#stopped;
  }

  async #loop(): Promise<void> {
    while (this.#running) {
      const seq = this.#started++;
      const key = this.keys[seq % this.keys.length]!;
      try {
        const r = await this.#pool.request({ method: 'GET', path: '/', headers: { [this.#header]: key } });
        const body = await r.body.text();
        if (r.statusCode === 200) this.#answered(seq, key, body);
        else this.failures.push({ key, status: r.statusCode, detail: body });
      } catch (e) {
        this.failures.push({ key, status: 0, detail: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
      }
      this.completed++;
    }
  }

  #answered(seq: number, key: string, pod: string): void {
    this.answers.set(pod, (this.answers.get(pod) ?? 0) + 1);
    this.#onAnswer?.(key, pod);
    if (this.#snapshots.length === 0) return;
    const done: Snapshot[] = [];
    for (const s of this.#snapshots) {
      if (seq < s.after || s.owners.has(key)) continue;
      s.owners.set(key, pod);
      if (s.owners.size === this.keys.length) done.push(s);
    }
    if (done.length === 0) return;
    this.#snapshots = this.#snapshots.filter((s) => !done.includes(s));
    for (const s of done) s.resolve(s.owners);
  }
}
