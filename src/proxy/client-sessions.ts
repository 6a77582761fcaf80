/**
 * The HTTP/2 client sessions of one proxy: the set that shutdown closes, their idle timeout, and
 * the HTTP/2 form of a slowloris head, which Node's server does not bound.
 *
 * - Idle: a session with no frame either way for `idleMs` is sent GOAWAY (`close()`): streams still
 *   open, a quiet gRPC stream say, run to their end; the client opens new ones on a new connection.
 * - An unfinished header block: a HEADERS frame without END_HEADERS, and no CONTINUATION after it.
 *   nghttp2 has begun the stream, so the session waits for the rest for ever, and not even a
 *   GOAWAY closes it. No event tells JavaScript; but nghttp2's last processed stream id
 *   (`session.state.lastProcStreamID`) then runs ahead of the last stream Node handed over. A
 *   session in that state for `headersMs` (the HTTP/1.1 head's bound, 10 s by default) is
 *   destroyed. Checked by one sweep over all sessions every quarter of `headersMs`; a session costs
 *   a 'stream' listener and two numbers.
 */
import type { ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import type { Logger } from 'pino';

const SWEEPS = 4;
const kWatch = Symbol('shardgate.sessionWatch');

interface SessionWatch {
  /** The highest stream id Node has handed over (a 'stream' event). */
  lastStreamId: number;
  /** Sweeps in a row that found a header block unfinished. */
  unfinished: number;
}

interface WatchedSession extends ServerHttp2Session {
  [kWatch]: SessionWatch;
}

export interface ClientSessionOptions {
  /** No frame either way for this long: GOAWAY. 0 disables. */
  readonly idleMs: number;
  /** A header block left unfinished this long: the session is destroyed. 0 disables. */
  readonly headersMs: number;
  readonly log: Logger;
}

export class ClientSessions {
  readonly #options: ClientSessionOptions;
  readonly #sessions = new Set<WatchedSession>();
  #timer: NodeJS.Timeout | null = null;

  constructor(options: ClientSessionOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Tracks a new session; `closing`: the proxy is shutting down, GOAWAY at once. */
  add(session: ServerHttp2Session, closing: boolean): void {
    const s = session as WatchedSession;
    s[kWatch] = { lastStreamId: 0, unfinished: 0 };
    this.#sessions.add(s);
    session.once('close', () => this.#forget(s));
    session.on('stream', onSessionStream);
    if (closing) session.close();
    const { idleMs, headersMs } = this.#options;
    if (idleMs > 0) session.setTimeout(idleMs, () => session.close());
    if (headersMs > 0 && this.#timer === null) {
      this.#timer = setInterval(() => this.#sweep(), Math.max(1, Math.floor(headersMs / SWEEPS)));
      this.#timer.unref();
    }
  }

  /** GOAWAY to every session: no new streams; the open ones finish. */
  closeAll(): void {
    for (const s of this.#sessions) s.close();
  }

  /** Destroys every session and stops the sweep. */
  destroyAll(): void {
    for (const s of this.#sessions) s.destroy();
    this.#stopSweep();
  }

  #forget(s: WatchedSession): void {
    this.#sessions.delete(s);
    if (this.#sessions.size === 0) this.#stopSweep();
  }

  #stopSweep(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  #sweep(): void {
    for (const s of this.#sessions) {
      if (s.destroyed) continue;
      const w = s[kWatch];
      const begun = s.state.lastProcStreamID ?? 0;
      if (begun <= w.lastStreamId) {
        w.unfinished = 0;
        continue;
      }
      if (++w.unfinished < SWEEPS) continue;
      this.#options.log.debug({ streamId: begun, afterMs: this.#options.headersMs }, 'HTTP/2 client left a header block unfinished: session destroyed');
      s.destroy();
    }
  }
}

function onSessionStream(this: WatchedSession, stream: ServerHttp2Stream): void {
  const w = this[kWatch];
  const id = stream.id ?? 0;
  if (id > w.lastStreamId) w.lastStreamId = id;
}
