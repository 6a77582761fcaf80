/**
 * The watchers of `GET /v1/assignments/watch`: Server-Sent Events (WHATWG HTML, "Server-sent
 * events"), one connection each. A watcher first gets a `snapshot` (the generation and its
 * members), then every event as it is published (`change`, `prepare`), and a comment line every
 * `heartbeatMs` so that proxies and load balancers between keep the connection open and the
 * watcher can tell a quiet directory from a dead one.
 *
 * Memory per watcher is bounded; a slow one is coalesced, never buffered without bound. An event
 * is written only while the connection's unsent bytes stay under `maxBufferedBytes` (or the
 * socket still takes writes); otherwise the watcher is marked lagging and the events meanwhile
 * are dropped for it. When its connection drains it gets a fresh snapshot, marked `resync`, which
 * stands for everything it missed. A watcher that stays lagging for `maxLagMs` is disconnected.
 * So a watcher holds at most about max(maxBufferedBytes, the socket's high-water mark plus one
 * event) of this process's memory, and each event is serialised once for all watchers.
 *
 * Injected: the timers and the wall clock. One interval for all watchers, unref'd.
 */
import type { ServerResponse } from 'node:http';
import type { Timers } from '../discovery/static-file.js';

export interface StreamOptions {
  readonly heartbeatMs?: number;
  readonly maxBufferedBytes?: number;
  readonly maxLagMs?: number;
  /** Most watchers at once; more are refused (SG_ERR_WATCHERS). */
  readonly maxWatchers?: number;
  /** Wall-clock milliseconds, for how long a watcher has lagged. */
  readonly now?: () => number;
  readonly setInterval?: (callback: () => void, ms: number) => NodeJS.Timeout;
  readonly clearInterval?: Timers['clearTimeout'];
}

export const DEFAULT_STREAM = { heartbeatMs: 15_000, maxBufferedBytes: 1_048_576, maxLagMs: 60_000, maxWatchers: 1_024 } as const;

export interface StreamEvent {
  /** The SSE event name. */
  readonly event: 'snapshot' | 'change' | 'prepare';
  /** The SSE id: the generation it brings a watcher to. */
  readonly id: number;
  readonly data: unknown;
}

export interface WatcherStats {
  /** Bytes written to the connection and not yet sent. */
  readonly buffered: number;
  readonly lagging: boolean;
  /** Events not written to this watcher because it lagged. */
  readonly dropped: number;
  /** Snapshots sent in place of dropped events. */
  readonly resyncs: number;
}

class Watcher {
  readonly res: ServerResponse;
  lagging = false;
  laggingSinceMs = 0;
  dropped = 0;
  resyncs = 0;

  constructor(res: ServerResponse) {
    this.res = res;
  }
}

export class AssignmentStream {
  readonly heartbeatMs: number;
  readonly maxBufferedBytes: number;
  readonly maxLagMs: number;
  readonly maxWatchers: number;
  readonly #snapshot: (resync: boolean) => StreamEvent | null;
  readonly #watchers = new Set<Watcher>();
  readonly #now: () => number;
  readonly #clearInterval: Timers['clearTimeout'];
  readonly #timer: NodeJS.Timeout;
  /** Watchers that have not had a snapshot yet (no set when they came). */
  readonly #waiting = new Set<Watcher>();

  /** `snapshot` describes the current generation, or null before the first set. */
  constructor(snapshot: (resync: boolean) => StreamEvent | null, options: StreamOptions = {}) {
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_STREAM.heartbeatMs;
    this.maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_STREAM.maxBufferedBytes;
    this.maxLagMs = options.maxLagMs ?? DEFAULT_STREAM.maxLagMs;
    this.maxWatchers = options.maxWatchers ?? DEFAULT_STREAM.maxWatchers;
    this.#snapshot = snapshot;
    this.#now = options.now ?? Date.now;
    this.#clearInterval = options.clearInterval ?? clearInterval;
    this.#timer = (options.setInterval ?? setInterval)(() => this.#beat(), this.heartbeatMs);
    this.#timer.unref?.();
  }

  get size(): number {
    return this.#watchers.size;
  }

  stats(): WatcherStats[] {
    return [...this.#watchers].map((w) => ({ buffered: w.res.writableLength, lagging: w.lagging, dropped: w.dropped, resyncs: w.resyncs }));
  }

  /** Starts the stream on `res`; false (nothing written) when maxWatchers are watching already. */
  add(res: ServerResponse): boolean {
    if (this.#watchers.size >= this.maxWatchers) return false;
    const w = new Watcher(res);
    this.#watchers.add(w);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // nginx buffers responses unless told not to.
      'x-accel-buffering': 'no',
    });
    // How long an EventSource waits before it reconnects after the connection drops.
    res.write('retry: 1000\n\n');
    res.on('close', () => {
      this.#watchers.delete(w);
      this.#waiting.delete(w);
    });
    res.on('drain', () => this.#drained(w));
    const first = this.#snapshot(false);
    if (first === null) this.#waiting.add(w);
    else res.write(format(first));
    return true;
  }

  /**
   * Sends `event` (already part of the current generation) to every watcher that keeps up; those
   * still waiting for their first snapshot get it instead, which includes the event. With a null
   * event, only those get their snapshot (the first set).
   */
  publish(event: StreamEvent | null): void {
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    if (waiting.length > 0) {
      const s = this.#snapshot(false);
      for (const w of waiting) {
        if (s === null) this.#waiting.add(w);
        else w.res.write(format(s));
      }
    }
    if (event === null) return;
    const text = format(event);
    for (const w of this.#watchers) if (!waiting.includes(w)) this.#send(w, text);
  }

  /** Ends every stream. */
  close(): void {
    this.#clearInterval(this.#timer);
    for (const w of this.#watchers) w.res.end();
    this.#watchers.clear();
    this.#waiting.clear();
  }

  #send(w: Watcher, text: string): void {
    if (w.lagging) {
      w.dropped++;
      return;
    }
    const res = w.res;
    // Past the bound, and the socket has said it is full (so 'drain' will come): coalesce.
    if (res.writableNeedDrain && res.writableLength + Buffer.byteLength(text) > this.maxBufferedBytes) {
      w.lagging = true;
      w.laggingSinceMs = this.#now();
      w.dropped++;
      return;
    }
    res.write(text);
  }

  #drained(w: Watcher): void {
    if (!w.lagging || !this.#watchers.has(w)) return;
    w.lagging = false;
    const s = this.#snapshot(true);
    if (s === null) return;
    w.resyncs++;
    w.res.write(format(s));
  }

  #beat(): void {
    const now = this.#now();
    for (const w of this.#watchers) {
      if (!w.lagging) {
        w.res.write(': heartbeat\n\n');
        continue;
      }
      if (now - w.laggingSinceMs >= this.maxLagMs) {
        this.#watchers.delete(w);
        w.res.destroy();
      }
    }
  }
}

/** One SSE event: id, event name and the JSON on one data line (JSON has no raw newlines). */
export function format(e: StreamEvent): string {
  return `id: ${e.id}\nevent: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;
}
