/**
 * The sharding proxy: every request, and every HTTP/2 stream, not every connection, gets its own
 * `balancer.pick()`, so one keep-alive or multiplexed client spreads over all pods and every
 * request for a key reaches the pod that owns it.
 *
 * Three stages, one file each, sharing the proxy's state (proxy-state.ts):
 * - front (node-front.ts): client connections and protocols, HTTP/1.1 and HTTP/2 on one listener,
 *   WebSocket handshakes, malformed input, response tracking and shutdown;
 * - route (route.ts): one pass over the raw headers (headers.ts), the subset chosen by its
 *   selector headers (src/balancer/subsets.ts), the key read with indexOf scans (key-source.ts)
 *   and hashed by `hashKey()` (R7), the body's fate; its result is one RoutedRequest record;
 * - dispatch (dispatch.ts): one pick, one Map lookup, one Exchange, one dispatch to the endpoint's
 *   upstream (upstreams.ts: an H1Upstream on raw sockets per HTTP/1.1 endpoint, an H2Upstream per HTTP/2 one),
 *   bodies streamed both ways with back-pressure (exchange.ts); the waiting queue; retries.
 * Injected: the data plane (balancer, load board, key, retries), the clock, the logger.
 *
 * Contract: `listen()` once; `reconfigure()` swaps the plane and the routing options for requests
 * that start afterwards (route-generation.ts); `close()` is idempotent and resolves when
 * connections and pools are closed.
 */
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from 'pino';
import { ConfigError } from '../errors.js';
import type { DataPlane } from '../dataplane/data-plane.js';
import { NO_ENDPOINT_REPLIES, REPLIES } from './error-reply.js';
import type { ExchangeContext } from './exchange.js';
import type { Exchange } from './exchange.js';
import { RequestHeadReader } from './headers.js';
import type { ListenTarget } from './listener.js';
import { WaitQueue } from './waiting.js';
import { BodyTimeouts } from './body-timeout.js';
import type { ConnectionAge } from './connection-age.js';
import { entropyRng } from '../balancer/rng.js';
import type { Rng } from '../balancer/rng.js';
import type { WebSocketRouting } from './websocket-routing.js';
import { UpstreamPools, proxyH1Transport } from './upstreams.js';
import type { RequestObserver } from './request-observer.js';
import { RouteGeneration } from './route-generation.js';
import type { ProxyTimeouts } from './limits.js';
import { DEFAULT_MAX_CONCURRENT_STREAMS, DEFAULT_MAX_HEADER_COUNT, DEFAULT_QUEUE, DEFAULT_UPSTREAM_SESSIONS, DEFAULT_MAX_BODY_BUFFER, DEFAULT_MAX_HEADER_BYTES, DEFAULT_TIMEOUTS, MAX_BODY_BUFFER_LIMIT, MAX_HEADER_BYTES_LIMIT, MAX_MS, MIN_BODY_BUFFER, MIN_HEADER_BYTES } from './limits.js';
import { RequestDispatch } from './dispatch.js';
import { NodeFront, refuseWebSocket } from './node-front.js';
import { ProxyState } from './proxy-state.js';
import { RequestRouter } from './route.js';

export type { ProxyTimeouts } from './limits.js';
export { DEFAULT_MAX_HEADER_BYTES, DEFAULT_TIMEOUTS } from './limits.js';

export interface ProxyOptions {
  /**
   * The balancer, board, subsets, key source and transform, retries and health the proxy routes
   * with (src/dataplane/data-plane.ts). The proxy attaches its upstream pools to it and follows its
   * sets; it never closes it (its owner does).
   */
  readonly plane: DataPlane;
  /** Most bytes of a body read to find a `json:` key; larger bodies get 413. Default 64 KiB. */
  readonly maxBodyBuffer?: number;
  /** Largest request body forwarded, in bytes; larger ones get 413. 0 (default): no limit. */
  readonly maxBodyBytes?: number;
  /** Add `x-shardgate-endpoint: <endpoint name>` to responses; default true. */
  readonly endpointHeader?: boolean;
  readonly timeouts?: Partial<ProxyTimeouts>;
  /** Largest request (and response) head; default 16384. */
  readonly maxHeaderBytes?: number;
  /** Most header fields in a request head; default 100 (HAProxy's tune.http.maxhdr is 101). */
  readonly maxHeaderCount?: number;
  /** Client connections accepted at once; 0 (default) for no limit. */
  readonly maxConnections?: number;
  /** Concurrent streams per HTTP/2 client connection (SETTINGS_MAX_CONCURRENT_STREAMS); default 100. */
  readonly maxConcurrentStreams?: number;
  /** HTTP/2 sessions per `h2c://` or `h2://` endpoint; default 2. */
  readonly maxUpstreamSessions?: number;
  /** PEM certificate and key: the listener speaks TLS, with ALPN choosing h2 or http/1.1. */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /** TLS toward `https://` and `h2://` endpoints (a CA to trust, say). */
  readonly upstreamTls?: ConnectionOptions;
  /**
   * When every candidate is at its in-flight limit (`saturated`): how many requests may wait for
   * capacity, and for how long, before 503. Default 1024 for 1000 ms; max 0 answers 503 at once.
   */
  readonly queue?: { readonly max: number; readonly timeoutMs: number };
  /** Default: the plane's logger. */
  readonly logger?: Logger;
  /** Draws each client connection's maximum-age jitter (`timeouts.maxConnectionAgeMs`); default: seeded from the OS. */
  readonly rng?: Rng;
  /** Told of every request once its response closes (metrics, access log); null: nobody. */
  readonly observer?: RequestObserver | null;
  /**
   * `raw` (default): HTTP/1.1 requests the raw path serves skip Node's HTTP server objects
   * (raw-front.ts: requests without a body); `node`: Node's server takes every HTTP/1.1 request.
   * The environment variable SHARDGATE_HTTP1_PATH sets the default. With a maximum connection
   * age, Node's server serves every HTTP/1.1 connection (the age follows its events).
   */
  readonly http1Path?: Http1Path;
}

export type Http1Path = 'raw' | 'node';

/** The environment variable that sets the default HTTP/1.1 path. */
export const HTTP1_PATH_ENV = 'SHARDGATE_HTTP1_PATH';

/**
 * The HTTP/1.1 path when the options name none: SHARDGATE_HTTP1_PATH, read here only, so that the
 * whole test suite can run against either path.
 * @throws ConfigError for a value other than raw or node
 */
export function defaultHttp1Path(env: NodeJS.ProcessEnv = process.env): Http1Path {
  const v = env[HTTP1_PATH_ENV];
  if (v === undefined || v === '' || v === 'raw') return 'raw';
  if (v === 'node') return 'node';
  throw new ConfigError('SG_ERR_CONFIG', 'SHARDGATE_HTTP1_PATH', `is ${JSON.stringify(v)}: use raw or node`);
}

export { DEFAULT_MAX_CONCURRENT_STREAMS, DEFAULT_MAX_HEADER_COUNT, DEFAULT_QUEUE, DEFAULT_UPSTREAM_SESSIONS } from './limits.js';

/**
 * What a reload may change (`reconfigure`): the rest of ProxyOptions shapes the listener and its
 * client connections, and needs a new proxy. Of the timeouts, the upstream ones (connectMs,
 * upstreamHeadersMs, upstreamBodyMs, upstreamIdleMs) are taken.
 */
export interface RouteOptions {
  readonly maxBodyBuffer?: ProxyOptions['maxBodyBuffer'];
  readonly maxBodyBytes?: ProxyOptions['maxBodyBytes'];
  readonly endpointHeader?: ProxyOptions['endpointHeader'];
  readonly timeouts?: ProxyOptions['timeouts'];
  readonly maxUpstreamSessions?: ProxyOptions['maxUpstreamSessions'];
  readonly upstreamTls?: ProxyOptions['upstreamTls'];
  readonly queue?: ProxyOptions['queue'];
}

export class ShardingProxy {
  readonly #state: ProxyState;
  readonly #front: NodeFront;
  readonly #dispatch: RequestDispatch;
  readonly #maxHeaderBytes: number;
  readonly #timeouts: Readonly<Required<ProxyTimeouts>>;
  readonly #tlsListener: boolean;
  #closed: Promise<void> | null = null;

  constructor(options: ProxyOptions) {
    const plane = options.plane;
    const log = options.logger ?? plane.log;
    const t = resolveTimeouts(options.timeouts ?? {});
    this.#timeouts = t;
    const maxHeaderBytes = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
    if (!Number.isInteger(maxHeaderBytes) || maxHeaderBytes < MIN_HEADER_BYTES || maxHeaderBytes > MAX_HEADER_BYTES_LIMIT) {
      throw new ConfigError('SG_ERR_CONFIG', 'proxy.maxHeaderBytes', `is ${String(maxHeaderBytes)}: use an integer from ${MIN_HEADER_BYTES} to ${MAX_HEADER_BYTES_LIMIT} (Node's default is 16384)`);
    }
    this.#maxHeaderBytes = maxHeaderBytes;
    this.#tlsListener = options.tls !== undefined;
    const maxHeaderCount = checkedInteger(options.maxHeaderCount ?? DEFAULT_MAX_HEADER_COUNT, 'proxy.maxHeaderCount', 1, 10_000);
    const maxConcurrentStreams = checkedInteger(options.maxConcurrentStreams ?? DEFAULT_MAX_CONCURRENT_STREAMS, 'proxy.maxConcurrentStreams', 1, 1_000_000);
    const maxConnections = checkedInteger(options.maxConnections ?? 0, 'proxy.maxConnections', 0, 10_000_000);
    // The stages refer to each other once built: the body timeouts answer through the front.
    let front: NodeFront | null = null;
    const state = new ProxyState(plane.clock, log, new BodyTimeouts(t.clientBodyMs, (req, res) => front!.onBodyTimeout(req, res)));
    this.#state = state;
    this.#dispatch = new RequestDispatch(state);
    front = new NodeFront(state, {
      maxHeaderBytes,
      maxHeaderCount,
      maxConcurrentStreams,
      maxConnections,
      timeouts: t,
      tls: options.tls ?? null,
      rng: options.rng ?? entropyRng(),
      observer: options.observer ?? null,
      rawPath: (options.http1Path ?? defaultHttp1Path()) === 'raw' && t.maxConnectionAgeMs === 0,
    });
    this.#front = front;
    front.router = new RequestRouter(state, this.#dispatch, maxHeaderCount, (client) => front.tunnelOpening(client));
    state.gen = this.#generation(plane, options);
  }

  /** Ends client connections after their maximum age; null when there is none. */
  get connectionAge(): ConnectionAge | null {
    return this.#front.connectionAge;
  }

  /**
   * Builds what requests route with over `plane`: pools attached to it (checked and reconciled with
   * its sets from now on), a waiting queue fed by its capacity reports, the exchange context.
   * @throws ConfigError for an option out of range, or when the pools cannot take the plane's set
   */
  #generation(plane: DataPlane, options: RouteOptions): RouteGeneration {
    const state = this.#state;
    const maxBodyBytes = checkedInteger(options.maxBodyBytes ?? 0, 'proxy.maxBodyBytes', 0, Number.MAX_SAFE_INTEGER);
    const maxBodyBuffer = checkedInteger(options.maxBodyBuffer ?? DEFAULT_MAX_BODY_BUFFER, 'proxy.maxBodyBuffer', MIN_BODY_BUFFER, MAX_BODY_BUFFER_LIMIT);
    const maxSessions = checkedInteger(options.maxUpstreamSessions ?? DEFAULT_UPSTREAM_SESSIONS, 'proxy.maxUpstreamSessions', 1, 1_000);
    const t = resolveTimeouts(options.timeouts ?? {});
    const q = options.queue ?? DEFAULT_QUEUE;
    checkedInteger(q.max, 'proxy.queue.max', 0, 1_000_000);
    checkedInteger(q.timeoutMs, 'proxy.queue.timeoutMs', 1, MAX_MS);
    let gen: RouteGeneration | null = null;
    const ctx: ExchangeContext = {
      clock: state.clock,
      log: state.log,
      endpointHeader: options.endpointHeader ?? true,
      closing: state.closing,
      retries: plane.retries,
      redispatch: (exchange: Exchange, previous: string): boolean => this.#dispatch.redispatch(gen!, exchange, previous),
      observe: (endpoint, outcome, status) => plane.observe(endpoint, outcome, status),
    };
    const pools = new UpstreamPools(
      {
        connectMs: t.connectMs,
        headersMs: t.upstreamHeadersMs,
        bodyMs: t.upstreamBodyMs,
        idleMs: t.upstreamIdleMs,
        maxHeaderBytes: this.#maxHeaderBytes,
        maxH2Sessions: maxSessions,
        h1: proxyH1Transport(),
        ...(options.upstreamTls === undefined ? {} : { tls: options.upstreamTls }),
      },
      state.log,
    );
    // Pools follow the plane's sets: checked before anything changes, reconciled after the balancer.
    plane.attach(pools);
    const ws: WebSocketRouting = {
      balancer: plane.balancer,
      pools,
      clock: state.clock,
      options: { connectMs: t.connectMs, handshakeMs: t.upstreamHeadersMs, idleMs: TUNNEL_IDLE_MS, maxHeaderBytes: this.#maxHeaderBytes, log: state.log, endpointHeader: ctx.endpointHeader, ...(options.upstreamTls === undefined ? {} : { tls: options.upstreamTls }) },
      retries: plane.retries === null ? 0 : plane.retries.maxRetries,
      observe: ctx.observe,
      refuse: (client, reply) => refuseWebSocket(client, reply),
      ended: (client) => this.#front.tunnelEnded(client),
    };
    const queue = new WaitQueue(q.max, q.timeoutMs, (w) => state.refuse(w.res, NO_ENDPOINT_REPLIES.saturated, w.bodyUnread));
    gen = new RouteGeneration({
      plane,
      ctx,
      pools,
      queue,
      reader: new RequestHeadReader(this.#tlsListener ? 'https' : 'http', plane.subsets?.headers ?? []),
      ws,
      maxBodyBytes,
      maxBodyBuffer,
      // Capacity is reported synchronously from inside done(): serve the queue afterwards.
      stopCapacity: plane.onCapacity(() => this.#dispatch.scheduleDrain()),
    });
    return gen;
  }

  /**
   * Routes requests that start from now on with `plane` and `options` (a configuration reload);
   * requests under way finish with the plane they started on. Resolves once none is left on the
   * previous plane and its upstream pools are closed: then its owner may close it. The new plane
   * should hold the current endpoint set already, so that no request finds it empty.
   * @throws ConfigError for an option out of range, or when the pools cannot take the plane's set
   *   (the proxy keeps its plane then)
   */
  reconfigure(plane: DataPlane, options: RouteOptions): Promise<void> {
    const state = this.#state;
    if (state.closing) throw new ConfigError('SG_ERR_CONFIG', 'proxy', 'the proxy is closing: a new configuration cannot be applied');
    const next = this.#generation(plane, options);
    const old = state.gen;
    state.gen = next;
    state.retiring.add(old);
    return new Promise<void>((resolve) => {
      old.retire(() => {
        state.retiring.delete(old);
        old.stopCapacity();
        old.plane.detach(old.pools);
        old.pools.close(false).then(resolve, (err: unknown) => {
          state.log.warn({ err }, 'closing the previous configuration\'s upstream pools failed');
          resolve();
        });
      });
    });
  }

  /**
   * Starts accepting connections. `host` defaults to Node's (every interface).
   * @throws ConfigError SG_ERR_LISTEN when the address cannot be bound
   */
  listen(port: number, host?: string): Promise<{ host: string; port: number }> {
    return this.#listen(`${host ?? '*'}:${port}`, { port, ...(host === undefined ? {} : { host }) });
  }

  /**
   * Starts accepting on a socket already bound and owned by this thread (`--workers`: each worker
   * listens on its own copy of the process's one listening socket).
   * @throws ConfigError SG_ERR_LISTEN when the socket cannot be listened on
   */
  listenOn(handle: { readonly fd: number }): Promise<{ host: string; port: number }> {
    return this.#listen(`descriptor ${handle.fd}`, { fd: handle.fd });
  }

  async #listen(where: string, options: ListenTarget): Promise<{ host: string; port: number }> {
    if (this.#closed !== null) {
      throw new ConfigError('SG_ERR_LISTEN', 'listen', `${where}: the proxy is closed; create a new one`);
    }
    try {
      const a = await this.#front.listen(options);
      this.#state.log.info({ host: a.address, port: a.port, tls: this.#front.secure }, 'proxy listening');
      return { host: a.address, port: a.port };
    } catch (err) {
      throw new ConfigError('SG_ERR_LISTEN', 'listen', `${where} cannot be bound: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Graceful shutdown: stops accepting, lets in-flight requests finish for up to
   * `timeouts.shutdownGraceMs` (their responses ask clients to close), closes idle keep-alive
   * connections, then cuts whatever is left and closes the upstream pools. Idempotent.
   */
  close(): Promise<void> {
    this.#closed ??= this.#shutdown();
    return this.#closed;
  }

  async #shutdown(): Promise<void> {
    const state = this.#state;
    state.closing = true;
    const generations = [state.gen, ...state.retiring];
    for (const g of generations) {
      g.ctx.closing = true;
      g.plane.detach(g.pools);
      g.stopCapacity();
      g.queue.drainAll((w) => state.refuse(w.res, REPLIES.shuttingDown, w.bodyUnread));
    }
    const drained = await this.#front.shutdown(this.#timeouts.shutdownGraceMs, (requests) => {
      state.log.warn({ requests, inflight: state.gen.plane.board.totalInflight }, 'shutdown grace period over: cutting in-flight requests');
    });
    await Promise.all(generations.map((g) => g.pools.close(!drained)));
    state.log.info('proxy closed');
  }

  /** Requests waiting for an endpoint with room (every candidate was at its in-flight limit): for the metrics and the status page. */
  get queued(): number {
    return this.#state.gen.queue.length;
  }
}

/** A WebSocket with no byte either way for an hour is closed (HAProxy's `timeout tunnel` role). */
const TUNNEL_IDLE_MS = 3_600_000;

function checkedInteger(value: number, field: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError('SG_ERR_CONFIG', field, `is ${String(value)}: use an integer from ${min} to ${max}`);
  }
  return value;
}

function resolveTimeouts(given: Partial<ProxyTimeouts>): Readonly<Required<ProxyTimeouts>> {
  const t = { ...DEFAULT_TIMEOUTS };
  for (const name of Object.keys(DEFAULT_TIMEOUTS) as (keyof ProxyTimeouts)[]) {
    const v = given[name];
    if (v === undefined) continue;
    const min = name === 'connectMs' || name === 'shutdownGraceMs' || name === 'upstreamIdleMs' ? 1 : 0;
    if (!Number.isInteger(v) || v < min || v > MAX_MS) {
      throw new ConfigError('SG_ERR_CONFIG', `proxy.timeouts.${name}`, `is ${String(v)}: use whole milliseconds from ${min} to ${MAX_MS}${min === 0 ? ' (0 disables)' : ''}`);
    }
    t[name] = v;
  }
  return Object.freeze(t);
}
