/**
 * The HTTP/1.1 side of an endpoint (`http://` and `https://` addresses) on raw `net`/`tls`
 * sockets: a pool of keep-alive connections to one pod, offering undici's `dispatch(options,
 * handler)` shape, so that the Exchange drives it as it drove the undici Pool it replaces in the
 * proxy. Why not undici: its dispatch and header handling (a Request object, header validation
 * into a second list, llhttp in WebAssembly with a Buffer per header name and value, the wrapped
 * handler and controller) were a large share of the proxy's CPU per request. Here a request costs
 * one record (H1Call), one head string, one headers object and the body spans.
 *
 * What it keeps of the Pool, because the proxy's retries, outlier detection and error replies
 * depend on it: the error classes and codes (undici's own, imported), the phase at which they
 * come (onRequestStart only once a connection is up, so an error before it is a connect failure),
 * the request framing (h1-call.ts, h1-request-head.ts), the reading rules (h1-connection.ts).
 *
 * Pool: no connection limit (the Pool had `connections: null`): a request takes an idle
 * connection, the most recently idle first (its pod-side state is warmest, and the others may
 * reach their idle timeout and close), or opens one. One request per connection at a time. A
 * request for an `https://` pod needs a connection with its TLS server name (its Host's name, as
 * undici sends it), and TLS sessions are kept per server name for resumption (at most 100).
 *
 * Reuse waits for the check phase of the event loop (setImmediate), as undici's does: a request
 * takes an idle connection there, after this iteration's poll results, so that a FIN, RST or stray
 * bytes the pod sent meanwhile are seen first and that connection is not used; and a connection
 * that has just finished a response is idle only from the next check phase on, so that a pod
 * closing it right after the response (a graceful restart does that to every connection) has a
 * poll phase for its FIN to arrive. One setImmediate serves every request and connection of an
 * iteration.
 *
 * close(): no new requests (ClientClosedError), resolves once the requests under way have ended
 * and every connection is closed. destroy(): every connection closed now, every request fails
 * with ClientDestroyedError.
 */
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { errors } from 'undici';
import type { UpstreamAddress } from './address.js';
import type { CallOwner } from './h1-call.js';
import { H1Call } from './h1-call.js';
import type { ConnectionPool, ConnectionSettings } from './h1-connection.js';
import { H1Connection } from './h1-connection.js';
import { buildRequestHead } from './h1-request-head.js';
import type { H2DispatchOptions } from './h2-upstream.js';

export interface H1UpstreamOptions {
  readonly connectMs: number;
  /** From the request sent to the response head; 0 disables. */
  readonly headersMs: number;
  /** Longest silence between response body bytes; 0 disables. */
  readonly bodyMs: number;
  /** Idle keep-alive connections are closed after this (or sooner, by the pod's Keep-Alive hint). */
  readonly idleMs: number;
  readonly maxHeaderBytes: number;
  /** For `https://` pods: trusted CAs, certificate checking, server name. */
  readonly tls?: ConnectionOptions;
}

/**
 * Fields in a response head or trailer section, at most: as many as HTTP/2 responses may have
 * (h2-upstream.ts), far above what pods send; the byte limit bounds memory first.
 */
const MAX_FIELDS = 1_000;
const MAX_TLS_SESSIONS = 100;

export class H1Upstream implements ConnectionPool, CallOwner {
  readonly origin: string;
  readonly settings: ConnectionSettings;
  readonly #log: Logger;
  /** `host: <authority>\r\n`, for a request without Host (undici's default). */
  readonly #hostLine: string;
  /** The TLS server name when a request's Host gives none: the configured one, or the pod's hostname. */
  readonly #servername: string;
  readonly #sessions: Map<string, Buffer> | null;
  /** Idle connections as a list, most recently idle at the tail. */
  #idleTail: H1Connection | null = null;
  #idleCount = 0;
  readonly #connections = new Set<H1Connection>();
  /** Requests waiting for the check phase to take an idle connection, and a spare list to swap in. */
  #waiting: H1Call[] = [];
  #spare: H1Call[] = [];
  /** Connections that finished a response in this iteration: idle from the check phase on. */
  #settling: H1Connection[] = [];
  #settlingSpare: H1Connection[] = [];
  #scheduled = false;
  /** Requests dispatched and not ended. */
  #active = 0;
  #closing = false;
  #destroyed = false;
  #closed: Promise<void> | null = null;
  #resolveClosed: (() => void) | null = null;
  readonly #onCheck = (): void => this.#checkPhase();

  constructor(address: UpstreamAddress, options: H1UpstreamOptions, log: Logger) {
    this.origin = address.origin;
    this.#log = log;
    const tls = address.tls ? (options.tls ?? {}) : null;
    this.settings = {
      host: address.host,
      port: address.port,
      tls,
      connectMs: options.connectMs,
      headersMs: options.headersMs,
      bodyMs: options.bodyMs,
      idleMs: options.idleMs,
      headLimits: { maxHeaderBytes: options.maxHeaderBytes, maxHeaderCount: MAX_FIELDS },
      trailerLimits: { maxTrailerBytes: options.maxHeaderBytes, maxTrailerCount: MAX_FIELDS },
    };
    const url = new URL(address.origin);
    this.#hostLine = `host: ${url.hostname}${url.port === '' ? '' : `:${url.port}`}\r\n`;
    this.#servername = tls === null ? '' : (tls.servername ?? (isIP(address.host) === 0 ? address.host : ''));
    this.#sessions = tls === null ? null : new Map();
  }

  /** Starts a request; the handler is called as undici calls a DispatchHandler. */
  dispatch(options: H2DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (this.#destroyed) return refuse(handler, new errors.ClientDestroyedError());
    if (this.#closing) return refuse(handler, new errors.ClientClosedError());
    const call = new H1Call(this, handler, options.method, options.body);
    const problem = buildRequestHead(call, options.method, options.path, options.headers, this.#hostLine);
    if (problem !== null) return refuse(handler, problem);
    if (this.settings.tls !== null) call.servername = this.#servernameFor(call.host);
    this.#active++;
    call.accept();
    if (this.#idleCount + this.#settling.length > this.#waiting.length) {
      this.#waiting.push(call);
      this.#schedule();
    } else {
      this.#open(call);
    }
    return true;
  }

  /** Graceful: no new requests; resolves once those under way ended and every connection closed. */
  close(): Promise<void> {
    this.#closing = true;
    this.#closed ??= new Promise<void>((resolve) => {
      this.#resolveClosed = resolve;
    });
    for (let c = this.#idleTail; c !== null; c = this.#idleTail) {
      this.#unlink(c);
      c.close();
    }
    this.#checkClosed();
    return this.#closed;
  }

  /** At once: every connection closes, every request under way fails with ClientDestroyedError. */
  destroy(): Promise<void> {
    this.#destroyed = true;
    const done = this.close();
    const err = new errors.ClientDestroyedError();
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const call of waiting) call.fail(err);
    for (const conn of [...this.#connections]) conn.abortWith(err);
    return done;
  }

  /** Idle connections now (for tests and metrics). */
  get idleConnections(): number {
    return this.#idleCount;
  }

  /** Open connections now, busy or idle. */
  get connections(): number {
    return this.#connections.size;
  }

  released(conn: H1Connection): void {
    if (this.#closing) {
      conn.close();
      return;
    }
    conn.idle = true;
    conn.next = null;
    conn.prev = this.#idleTail;
    if (this.#idleTail !== null) this.#idleTail.next = conn;
    this.#idleTail = conn;
    this.#idleCount++;
  }

  settling(conn: H1Connection): void {
    if (this.#closing) {
      conn.close();
      return;
    }
    this.#settling.push(conn);
    this.#schedule();
  }

  gone(conn: H1Connection): void {
    if (conn.idle) this.#unlink(conn);
    this.#connections.delete(conn);
    this.#checkClosed();
  }

  ended(_call: H1Call): void {
    this.#active--;
    this.#checkClosed();
  }

  session(servername: string): Buffer | undefined {
    return this.#sessions?.get(servername === '' ? this.settings.host : servername);
  }

  keepSession(servername: string, session: Buffer): void {
    const sessions = this.#sessions;
    if (sessions === null) return;
    const key = servername === '' ? this.settings.host : servername;
    sessions.delete(key);
    sessions.set(key, session);
    if (sessions.size > MAX_TLS_SESSIONS) sessions.delete(sessions.keys().next().value!);
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#onCheck);
  }

  /**
   * The check phase: each waiting request takes the most recent idle connection; then the
   * connections that finished a response before this phase become idle. undici likewise waits a
   * turn of the loop before it reuses a connection: a pod that closes it, as pods often do right
   * after a response, has a poll phase for its FIN to be seen. A request that found none idle
   * while some were settling waits for the next check phase, when they are idle (cheaper than a
   * new connection); otherwise it opens one.
   */
  #checkPhase(): void {
    this.#scheduled = false;
    const list = this.#waiting;
    this.#waiting = this.#spare;
    const settled = this.#settling;
    this.#settling = this.#settlingSpare;
    let deferred = 0;
    for (let i = 0; i < list.length; i++) {
      const call = list[i]!;
      if (call.finished) continue;
      const conn = this.#takeIdle(call.servername);
      if (conn !== null) {
        conn.assign(call);
      } else if (deferred < settled.length) {
        deferred++;
        this.#waiting.push(call);
      } else {
        this.#open(call);
      }
    }
    list.length = 0;
    this.#spare = list;
    for (let i = 0; i < settled.length; i++) {
      const conn = settled[i]!;
      if (!conn.closed) this.released(conn);
    }
    settled.length = 0;
    this.#settlingSpare = settled;
    if (this.#waiting.length > 0) this.#schedule();
  }

  #takeIdle(servername: string): H1Connection | null {
    for (let c = this.#idleTail; c !== null; c = c.prev) {
      if (c.servername === servername) {
        this.#unlink(c);
        return c;
      }
    }
    return null;
  }

  #unlink(conn: H1Connection): void {
    if (conn.prev !== null) conn.prev.next = conn.next;
    if (conn.next !== null) conn.next.prev = conn.prev;
    else this.#idleTail = conn.prev;
    conn.prev = null;
    conn.next = null;
    conn.idle = false;
    this.#idleCount--;
  }

  #open(call: H1Call): void {
    const conn = new H1Connection(this, call.servername, call);
    this.#connections.add(conn);
    if (this.#log.isLevelEnabled('trace')) this.#log.trace({ origin: this.origin, connections: this.#connections.size }, 'new connection to endpoint');
  }

  /** undici's rule: the name of the request's Host, unless it is an IP address; else the default. */
  #servernameFor(host: string | null): string {
    if (host === null) return this.#servername;
    const name = hostnameOf(host);
    return name.length > 0 && isIP(name) === 0 ? name : this.#servername;
  }

  #checkClosed(): void {
    const resolve = this.#resolveClosed;
    if (resolve === null || this.#active > 0 || this.#connections.size > 0) return;
    this.#resolveClosed = null;
    resolve();
  }
}

/** A request refused before it started: undici reports it to onResponseError without a controller. */
function refuse(handler: Dispatcher.DispatchHandler, err: Error): boolean {
  handler.onResponseError?.(undefined as unknown as Dispatcher.DispatchController, err);
  return false;
}

/** The host part of a Host value: brackets dropped from IPv6, the port cut off. */
function hostnameOf(host: string): string {
  if (host.charCodeAt(0) === 91 /* [ */) {
    const close = host.indexOf(']');
    return close < 0 ? host : host.slice(1, close);
  }
  const colon = host.indexOf(':');
  return colon < 0 ? host : host.slice(0, colon);
}
