/**
 * The sharding proxy: every request, and every HTTP/2 stream, not every connection, gets its own
 * `balancer.pick()`, so one keep-alive or multiplexed client spreads over all pods and every
 * request for a key reaches the pod that owns it.
 *
 * Client side: one listener for HTTP/1.1 and HTTP/2 (listener.ts: h2c by its preface on plain
 * TCP, ALPN with TLS). HTTP/1.1 is Node's HTTP server (llhttp, strict parsing) with keep-alive;
 * malformed requests, oversized heads and slow heads are answered from 'clientError' with a
 * status and a JSON body rather than a dropped connection. HTTP/2 is Node's compatibility layer,
 * so both protocols take the same request path below; gRPC calls are HTTP/2 requests whose
 * failures are answered as gRPC statuses (grpc.ts), with `grpc-timeout` as their deadline.
 * Pod side: an undici Pool per HTTP/1.1 endpoint, an H2Upstream per HTTP/2 one (upstreams.ts),
 * bodies streamed both ways with back-pressure (exchange.ts).
 *
 * Request path per request: one pass over the raw headers (headers.ts), the subset chosen by its
 * selector headers when subsets are configured (src/balancer/subsets.ts), the key read with
 * indexOf scans (key-source.ts) and hashed by `hashKey()` (R7), one pick, one Map lookup, one
 * Exchange, one dispatch. Injected: the balancer and its load board, the clock, the logger.
 *
 * Contract: `listen()` once; `reconfigure()` swaps the plane and the routing options for requests
 * that start afterwards (route-generation.ts); `close()` is idempotent and resolves when
 * connections and pools are closed.
 */
import http from 'node:http';
import type { IncomingMessage } from 'node:http';
import http2 from 'node:http2';
import type { Http2ServerRequest, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Balancer, Pick } from '../balancer/balancer.js';
import type { Clock } from '../balancer/clock.js';
import type { RoutingKey } from '../balancer/hash.js';
import { ConfigError } from '../errors.js';
import type { DataPlane } from '../dataplane/data-plane.js';
import { NO_ENDPOINT_REPLIES, REPLIES, noSubsetReply, sendReply } from './error-reply.js';
import type { ErrorReply } from './error-reply.js';
import type { ClientRequest, ClientResponse } from './client-response.js';
import { H2ProxyResponse, ProxyResponse, sendContinue, writeHeadTo } from './client-response.js';
import type { ExchangeContext } from './exchange.js';
import { Exchange } from './exchange.js';
import { parseGrpcTimeout } from './grpc.js';
import { RequestHeadReader } from './headers.js';
import type { ListenTarget } from './listener.js';
import { ProtocolListener } from './listener.js';
import { BodyLimit } from './body-limit.js';
import { KNOWN_METHODS, authorityOf, isValidAuthority, originForm } from './request-target.js';
import { WaitQueue } from './waiting.js';
import { BodyTimeouts } from './body-timeout.js';
import { ClientSessions } from './client-sessions.js';
import { ConnectionAge } from './connection-age.js';
import { entropyRng } from '../balancer/rng.js';
import type { Rng } from '../balancer/rng.js';
import type { WebSocketClient, WebSocketRouting } from './websocket-routing.js';
import { routeWebSocket } from './websocket-routing.js';
import type { KeySource } from './key-source.js';
import { keyText } from './key-source.js';
import { UpstreamPools, proxyH1Transport } from './upstreams.js';
import type { RequestObserver } from './request-observer.js';
import { RouteGeneration } from './route-generation.js';
import type { ProxyTimeouts } from './limits.js';
import { DEFAULT_MAX_CONCURRENT_STREAMS, DEFAULT_MAX_HEADER_COUNT, DEFAULT_QUEUE, DEFAULT_UPSTREAM_SESSIONS, DEFAULT_MAX_BODY_BUFFER, DEFAULT_MAX_HEADER_BYTES, DEFAULT_TIMEOUTS, MAX_BODY_BUFFER_LIMIT, MAX_HEADER_BYTES_LIMIT, MAX_MS, MIN_BODY_BUFFER, MIN_HEADER_BYTES } from './limits.js';

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

/** Every duration in milliseconds; 0 disables the ones marked so. */

const SLASH = 47;
const kResponses = Symbol('shardgate.responses');
const kCloseResponse = Symbol('shardgate.closeResponse');

/**
 * A client connection and its responses not yet closed, oldest first (several only when
 * pipelining). Node queues the response of a pipelined request until the ones before it finish,
 * and when the connection closes it destroys the queued requests but never emits 'close' on
 * their responses: the socket's own 'close' closes them here instead (#socketClosed).
 */
interface TrackedSocket extends Socket {
  [kResponses]: ProxyResponse[];
  /** The proxy's response 'close' listener (one per proxy), called for the queued ones. */
  [kCloseResponse]: (this: ProxyResponse) => void;
}

export class ShardingProxy {
  /** What new requests route with; replaced whole by reconfigure(). */
  #gen: RouteGeneration;
  /** Generations replaced by reconfigure() whose requests are still under way. */
  readonly #retiring = new Set<RouteGeneration>();
  readonly #maxHeaderBytes: number;
  readonly #maxHeaderCount: number;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #timeouts: Readonly<Required<ProxyTimeouts>>;
  readonly #tlsListener: boolean;
  /** Set once close() starts. */
  #closing = false;
  readonly #server: http.Server<typeof IncomingMessage, typeof ProxyResponse>;
  readonly #listener: ProtocolListener;
  readonly #sessions: ClientSessions;
  /** Ends client connections after their maximum age; null when there is none. */
  readonly connectionAge: ConnectionAge | null;
  readonly #bodyTimeouts: BodyTimeouts;
  readonly #streamIdleMs: number;
  /** Open WebSocket tunnels' client sides, cut when the shutdown grace period ends. */
  readonly #tunnels = new Set<Duplex | ServerHttp2Stream>();
  #drainScheduled = false;
  readonly #drainQueue = (): void => this.#drain();
  readonly #onResponseClose: (this: ClientResponse) => void;
  readonly #observer: RequestObserver | null;
  /** Requests whose response has not closed yet. */
  #active = 0;
  #onIdle: (() => void) | null = null;
  #closed: Promise<void> | null = null;

  constructor(options: ProxyOptions) {
    const plane = options.plane;
    this.#clock = plane.clock;
    this.#log = options.logger ?? plane.log;
    this.#observer = options.observer ?? null;
    const t = resolveTimeouts(options.timeouts ?? {});
    this.#timeouts = t;
    const maxHeaderBytes = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
    if (!Number.isInteger(maxHeaderBytes) || maxHeaderBytes < MIN_HEADER_BYTES || maxHeaderBytes > MAX_HEADER_BYTES_LIMIT) {
      throw new ConfigError('SG_ERR_CONFIG', 'proxy.maxHeaderBytes', `is ${String(maxHeaderBytes)}: use an integer from ${MIN_HEADER_BYTES} to ${MAX_HEADER_BYTES_LIMIT} (Node's default is 16384)`);
    }
    this.#maxHeaderBytes = maxHeaderBytes;
    this.#tlsListener = options.tls !== undefined;
    const maxHeaderCount = checkedInteger(options.maxHeaderCount ?? DEFAULT_MAX_HEADER_COUNT, 'proxy.maxHeaderCount', 1, 10_000);
    this.#maxHeaderCount = maxHeaderCount;
    const maxStreams = checkedInteger(options.maxConcurrentStreams ?? DEFAULT_MAX_CONCURRENT_STREAMS, 'proxy.maxConcurrentStreams', 1, 1_000_000);
    const maxConnections = checkedInteger(options.maxConnections ?? 0, 'proxy.maxConnections', 0, 10_000_000);
    this.#gen = this.#generation(plane, options);

    // One listener for every response, made once: it finds the exchange through the response.
    const responseClosed = (res: ClientResponse): void => this.#responseClosed(res);
    this.#onResponseClose = function onResponseClose(this: ClientResponse): void {
      responseClosed(this);
    };
    const server = http.createServer<typeof IncomingMessage, typeof ProxyResponse>(
      {
        ServerResponse: ProxyResponse,
        maxHeaderSize: maxHeaderBytes,
        // Answered here, as JSON, together with duplicate Host lines, which Node lets through.
        requireHostHeader: false,
        headersTimeout: t.clientHeadersMs,
        // Uploads stream to the pod for as long as they take; the head alone is bounded.
        requestTimeout: 0,
        keepAliveTimeout: t.clientIdleMs,
        // Node enforces headersTimeout from a periodic sweep (default every 30 s): sweep often
        // enough that the bound holds within a quarter of it.
        connectionsCheckingInterval: t.clientHeadersMs === 0 ? 30_000 : Math.max(10, Math.min(1_000, Math.floor(t.clientHeadersMs / 4))),
        noDelay: true,
      },
      (req, res) => this.#onRequest(req, res),
    );
    server.keepAliveTimeout = t.clientIdleMs;
    // While a request is under way (between requests keepAliveTimeout applies): no byte either way
    // for this long, and Node destroys the connection, which ends the exchange as cancelled.
    server.timeout = t.streamIdleMs;
    this.#streamIdleMs = t.streamIdleMs;
    this.#bodyTimeouts = new BodyTimeouts(t.clientBodyMs, (req, res) => this.#onBodyTimeout(req, res));
    // One more than allowed: Node drops fields past maxHeadersCount silently, so a head that fills
    // it had too many, and is refused in #route.
    server.maxHeadersCount = maxHeaderCount + 1;
    server.on('connection', (socket: Socket) => {
      const tracked = socket as TrackedSocket;
      tracked[kResponses] = [];
      tracked[kCloseResponse] = this.#onResponseClose;
      socket.on('close', onSocketClose);
    });
    server.on('clientError', (err: Error, socket: Duplex) => this.#onClientError(err, socket));
    // Without a listener Node answers `100 Continue` at once, inviting a body the proxy may be about
    // to refuse; the proxy sends it itself when it starts reading the body (sendContinue).
    server.on('checkContinue', (req: IncomingMessage, res: ProxyResponse) => {
      res.continuePending = true;
      this.#onRequest(req, res);
    });
    server.on('connect', (_req: IncomingMessage, socket: Duplex) => this.#onConnectMethod(socket));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#onUpgrade(req, socket, head));
    server.on('error', (err: Error) => this.#log.error({ err }, 'proxy server error'));
    this.#server = server;

    const h2 = http2.createServer(
      {
        Http2ServerResponse: H2ProxyResponse,
        maxHeaderListPairs: maxHeaderCount + 4,
        // enableConnectProtocol: WebSocket over HTTP/2 (RFC 8441).
        settings: { maxConcurrentStreams: maxStreams, maxHeaderListSize: maxHeaderBytes, enablePush: false, enableConnectProtocol: true },
      },
      (req, res) => this.#onH2Request(req, res),
    );
    h2.on('checkContinue', (req: Http2ServerRequest, res: H2ProxyResponse) => {
      res.continuePending = true;
      this.#onH2Request(req, res);
    });
    this.#sessions = new ClientSessions({ idleMs: t.clientIdleMs, headersMs: t.clientHeadersMs, log: this.#log });
    h2.on('session', (session: ServerHttp2Session) => this.#onSession(session));
    // The compatibility layer hands CONNECT streams here (without a listener it answers 405).
    h2.on('connect', (req: Http2ServerRequest) => this.#onH2Connect(req));
    h2.on('sessionError', (err: Error) => this.#log.debug({ err: err.message }, 'HTTP/2 client session failed'));
    this.connectionAge = t.maxConnectionAgeMs === 0 ? null : new ConnectionAge({ ageMs: t.maxConnectionAgeMs, graceMs: t.maxConnectionAgeGraceMs, rng: options.rng ?? entropyRng(), log: this.#log });
    this.connectionAge?.attach(server as unknown as http.Server, h2 as unknown as http2.Http2Server);
    this.#listener = new ProtocolListener(server as unknown as http.Server, h2 as unknown as http2.Http2Server, { tls: options.tls ?? null, maxConnections, firstBytesMs: t.clientHeadersMs });
    this.#listener.server.on('error', (err: Error) => this.#log.error({ err }, 'proxy listener error'));
  }

  /**
   * The balancer for the request the reader just read: its subset's, or the proxy's own. null
   * when the request was refused (its values match no subset and the fallback is to fail).
   */
  #balancerFor(g: RouteGeneration, res: ClientResponse, close: boolean): Balancer | null {
    const subsets = g.subsets;
    if (subsets === null) return g.balancer;
    const values = g.reader.selectorValues;
    const lb = subsets.select(values);
    if (lb === null) this.#refuse(res, noSubsetReply(subsets.describeMiss(values)), close);
    return lb;
  }

  /**
   * Builds what requests route with over `plane`: pools attached to it (checked and reconciled with
   * its sets from now on), a waiting queue fed by its capacity reports, the exchange context.
   * @throws ConfigError for an option out of range, or when the pools cannot take the plane's set
   */
  #generation(plane: DataPlane, options: RouteOptions): RouteGeneration {
    const maxBodyBytes = checkedInteger(options.maxBodyBytes ?? 0, 'proxy.maxBodyBytes', 0, Number.MAX_SAFE_INTEGER);
    const maxBodyBuffer = checkedInteger(options.maxBodyBuffer ?? DEFAULT_MAX_BODY_BUFFER, 'proxy.maxBodyBuffer', MIN_BODY_BUFFER, MAX_BODY_BUFFER_LIMIT);
    const maxSessions = checkedInteger(options.maxUpstreamSessions ?? DEFAULT_UPSTREAM_SESSIONS, 'proxy.maxUpstreamSessions', 1, 1_000);
    const t = resolveTimeouts(options.timeouts ?? {});
    const q = options.queue ?? DEFAULT_QUEUE;
    checkedInteger(q.max, 'proxy.queue.max', 0, 1_000_000);
    checkedInteger(q.timeoutMs, 'proxy.queue.timeoutMs', 1, MAX_MS);
    let gen: RouteGeneration | null = null;
    const ctx: ExchangeContext = {
      clock: this.#clock,
      log: this.#log,
      endpointHeader: options.endpointHeader ?? true,
      closing: this.#closing,
      retries: plane.retries,
      redispatch: (exchange: Exchange, previous: string): boolean => this.#redispatch(gen!, exchange, previous),
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
      this.#log,
    );
    // Pools follow the plane's sets: checked before anything changes, reconciled after the balancer.
    plane.attach(pools);
    const ws: WebSocketRouting = {
      balancer: plane.balancer,
      pools,
      clock: this.#clock,
      options: { connectMs: t.connectMs, handshakeMs: t.upstreamHeadersMs, idleMs: TUNNEL_IDLE_MS, maxHeaderBytes: this.#maxHeaderBytes, log: this.#log, endpointHeader: ctx.endpointHeader, ...(options.upstreamTls === undefined ? {} : { tls: options.upstreamTls }) },
      retries: plane.retries === null ? 0 : plane.retries.maxRetries,
      observe: ctx.observe,
      refuse: (client, reply) => refuseWebSocket(client, reply),
      ended: (client) => this.#tunnelEnded(client),
    };
    const queue = new WaitQueue(q.max, q.timeoutMs, (w) => this.#refuse(w.res, NO_ENDPOINT_REPLIES.saturated, w.body !== null && !w.req.complete));
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
      stopCapacity: plane.onCapacity(() => this.#scheduleDrain()),
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
    if (this.#closing) throw new ConfigError('SG_ERR_CONFIG', 'proxy', 'the proxy is closing: a new configuration cannot be applied');
    const next = this.#generation(plane, options);
    const old = this.#gen;
    this.#gen = next;
    this.#retiring.add(old);
    return new Promise<void>((resolve) => {
      old.retire(() => {
        this.#retiring.delete(old);
        old.stopCapacity();
        old.plane.detach(old.pools);
        old.pools.close(false).then(resolve, (err: unknown) => {
          this.#log.warn({ err }, 'closing the previous configuration\'s upstream pools failed');
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
      const a = await this.#listener.listen(options);
      this.#log.info({ host: a.address, port: a.port, tls: this.#listener.secure }, 'proxy listening');
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
    this.#closing = true;
    const generations = [this.#gen, ...this.#retiring];
    for (const g of generations) {
      g.ctx.closing = true;
      g.plane.detach(g.pools);
      g.stopCapacity();
      g.queue.drainAll((w) => this.#refuse(w.res, REPLIES.shuttingDown, w.body !== null && !w.req.complete));
    }
    const server = this.#server;
    // Resolves once every connection is gone.
    const serverClosed = this.#listener.close();
    server.closeIdleConnections();
    // GOAWAY: HTTP/2 clients open no new streams here; the ones under way finish.
    this.#sessions.closeAll();
    const drained = await this.#whenIdle(this.#timeouts.shutdownGraceMs);
    if (!drained) {
      this.#log.warn({ requests: this.#active, inflight: this.#gen.plane.board.totalInflight }, 'shutdown grace period over: cutting in-flight requests');
    }
    // What is left is idle keep-alive connections, heads still arriving, or (past the grace
    // period) requests that overstayed.
    server.closeAllConnections();
    for (const tunnel of this.#tunnels) tunnel.destroy();
    this.#sessions.destroyAll();
    this.#bodyTimeouts.close();
    await serverClosed;
    await Promise.all(generations.map((g) => g.pools.close(!drained)));
    this.#log.info('proxy closed');
  }

  #whenIdle(graceMs: number): Promise<boolean> {
    if (this.#active === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#onIdle = null;
        resolve(false);
      }, graceMs);
      this.#onIdle = () => {
        clearTimeout(timer);
        this.#onIdle = null;
        resolve(true);
      };
    });
  }

  /** Requests waiting for an endpoint with room (every candidate was at its in-flight limit): for the metrics and the status page. */
  get queued(): number {
    return this.#gen.queue.length;
  }

  #onRequest(req: IncomingMessage, res: ProxyResponse): void {
    this.#active++;
    res.startedMs = this.#clock.nowMs();
    res.on('close', this.#onResponseClose);
    res.clientSocket = req.socket;
    (req.socket as TrackedSocket)[kResponses].push(res);
    if (res.socket === null) {
      // Pipelined behind a response still under way: Node has queued this one until the ones
      // before it finish. Forward it only then, so that one client connection has at most one
      // request at a pod at a time (HTTP/1.1 answers in order anyway), rather than opening a pod
      // connection per pipelined request. A closure, but only on this rare path. If the client
      // leaves first, 'socket' never comes and the connection's 'close' closes the response.
      res.once('socket', () => this.#dispatch(req, res));
      return;
    }
    this.#dispatch(req, res);
  }

  #onH2Request(req: Http2ServerRequest, res: H2ProxyResponse): void {
    this.#active++;
    res.startedMs = this.#clock.nowMs();
    res.on('close', this.#onResponseClose);
    // HTTP/1.1 has the same bound from the server's socket timeout (`server.timeout`).
    if (this.#streamIdleMs > 0) req.stream.setTimeout(this.#streamIdleMs, onStreamIdle);
    this.#dispatch(req, res);
  }

  #onSession(session: ServerHttp2Session): void {
    session.on('error', (err: Error) => this.#log.debug({ err: err.message }, 'HTTP/2 client session error'));
    this.#sessions.add(session, this.#closing);
  }

  #dispatch(req: ClientRequest, res: ClientResponse): void {
    try {
      this.#route(req, res);
    } catch (err) {
      // A bug, not bad input: answer this request and keep serving the rest.
      this.#log.error({ err }, 'request handler failed');
      if (!res.headersSent) sendReply(res, REPLIES.internal, null, true);
      else res.destroy();
    }
  }

  #route(req: ClientRequest, res: ClientResponse): void {
    // The generation the request routes with to its end, whatever a reload does meanwhile.
    const g = this.#gen;
    g.take();
    res.generation = g;
    if (!res.h2 && req.rawHeaders.length > 2 * this.#maxHeaderCount) {
      this.#refuse(res, REPLIES.tooManyHeaders, true);
      return;
    }
    const reader = g.reader;
    reader.read(req.rawHeaders, g.keyField, req.socket.remoteAddress);
    // An HTTP/2 request has a body unless its HEADERS frame ended the stream.
    const hasBody = res.h2 ? !(req as Http2ServerRequest).stream.endAfterHeaders : reader.hasBody;
    if (res.h2) res.grpc = reader.grpc;
    if (reader.hostLines > 1 || (reader.hostLines === 0 && req.httpVersionMajor === 1 && req.httpVersionMinor === 1)) {
      this.#refuse(res, REPLIES.badHost, true);
      return;
    }
    if (reader.host !== undefined && !isValidAuthority(reader.host)) {
      this.#refuse(res, REPLIES.malformedHost, hasBody);
      return;
    }
    // Node's HTTP/1.1 parser refuses what it does not know; HTTP/2 carries any token: the same rule.
    if (res.h2 && !KNOWN_METHODS.has(req.method ?? '')) {
      this.#refuse(res, REPLIES.unknownMethod, hasBody);
      return;
    }
    if (reader.codingProblem !== null) {
      // The body cannot be relayed as sent: close, since Node would otherwise read it.
      this.#refuse(res, reader.codingProblem === 'unsupported' ? REPLIES.transferCoding : REPLIES.badFraming, true);
      return;
    }
    let path = req.url ?? '';
    if (path.charCodeAt(0) !== SLASH) {
      if (path === '*' && req.method === 'OPTIONS') {
        this.#answerOptionsAsterisk(res, hasBody);
        return;
      }
      const origin = originForm(path);
      const authority = origin === null ? null : authorityOf(path);
      if (origin === null || authority === null || !isValidAuthority(authority)) {
        this.#refuse(res, REPLIES.badTarget, true);
        return;
      }
      // RFC 9112 section 3.2.2: the target's authority, not the Host line, names the host.
      reader.useAuthority(authority);
      path = origin;
    }
    const lb = this.#balancerFor(g, res, hasBody);
    if (lb === null) return;
    let body: Readable | null = hasBody ? req : null;
    if (body !== null && g.maxBodyBytes > 0) {
      body = this.#limitedBody(g.maxBodyBytes, req, res);
      if (body === null) return;
    }
    const deadlineMs = res.grpc ? parseGrpcTimeout(reader.grpcTimeout) : null;
    const source = g.keySource;
    if (source !== null && source.kind === 'json' && hasBody) {
      this.#bufferBody(g, lb, req, res, source, null, g.maxBodyBuffer, path, reader.out, deadlineMs);
      return;
    }
    const key = source === null ? null : g.plane.key(keyText(source, path, reader.key));
    if (body === req && g.ctx.retries !== null && this.#replayable(req)) {
      this.#bufferBody(g, lb, req, res, null, key, REPLAY_BUFFER_BYTES, path, reader.out, deadlineMs);
      return;
    }
    this.#pickAndForward(g, lb, req, res, key, path, reader.out, body, deadlineMs);
  }

  /**
   * A body small enough to keep for a retry: one declared by Content-Length at most
   * REPLAY_BUFFER_BYTES. It is read whole before it is forwarded, as HAProxy's layer-7 retries
   * need the request to fit its buffer and Envoy's buffer it, so that a retry after the pod
   * failed can send it again; a body streamed to the pod cannot be.
   */
  #replayable(req: ClientRequest): boolean {
    const declared = req.headers['content-length'];
    return declared !== undefined && Number(declared) <= REPLAY_BUFFER_BYTES;
  }

  /**
   * The body to forward, held to maxBodyBytes: a declared length over it is refused at once
   * (null); a body without one is counted as it streams through a BodyLimit, which answers 413
   * when it passes the limit. Only when a limit is set: otherwise the request stream itself.
   */
  #limitedBody(limit: number, req: ClientRequest, res: ClientResponse): Readable | null {
    const declared = req.headers['content-length'];
    if (declared === undefined) return req.pipe(new BodyLimit(limit, res));
    if (Number(declared) <= limit) return req;
    this.#refuse(res, REPLIES.bodyTooLarge, true);
    return null;
  }

  /**
   * A body read whole, up to `limit`, then routed and forwarded byte for byte from the buffer,
   * which also makes it replayable for retries: for a JSON body key (`source`: the key is read
   * from the body), or a small body kept for a retry (`key` is the request's key). A body over the
   * limit is never half forwarded: it gets 413 and, over HTTP/1.1, the connection closes. Closures
   * per request, but only for bodies read whole.
   */
  #bufferBody(g: RouteGeneration, lb: Balancer, req: ClientRequest, res: ClientResponse, source: (KeySource & { kind: 'json' }) | null, key: RoutingKey | null, limit: number, path: string, headers: string[], deadlineMs: number | null): void {
    const declared = Number(req.headers['content-length'] ?? -1);
    if (declared > limit) {
      this.#refuse(res, REPLIES.bodyTooLarge, true);
      return;
    }
    this.#bodyTimeouts.watch(req, res);
    sendContinue(res);
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (res.headersSent) {
        // Answered already (the body stopped arriving for a while: 408).
        req.off('data', onData);
        req.off('end', onEnd);
        return;
      }
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData);
      req.off('end', onEnd);
      chunks.length = 0;
      this.#refuse(res, REPLIES.bodyTooLarge, true);
      // HTTP/2: the rest of the stream is not wanted; HTTP/1.1 closes after the answer.
      if (res.h2) req.resume();
    };
    const onEnd = (): void => {
      if (res.closeSeen || res.headersSent) return;
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      this.#pickAndForward(g, lb, req, res, source === null ? key : g.plane.key(keyText(source, path, undefined, body)), path, headers, body, deadlineMs);
    };
    req.on('data', onData);
    req.on('end', onEnd);
  }

  /** Picks an endpoint for the request with `lb` (its subset's, or the proxy's) and forwards it, waits for capacity, or refuses it. */
  #pickAndForward(g: RouteGeneration, lb: Balancer, req: ClientRequest, res: ClientResponse, key: RoutingKey | null, path: string, headers: string[], body: Readable | Buffer | null, deadlineMs: number | null): void {
    const pick = lb.pick(key, null);
    if (pick.kind === 'none') {
      if (pick.reason === 'saturated' && g.queue.offer({ balancer: lb, req, res, key, path, headers, body, deadlineMs, sinceMs: this.#clock.nowMs(), timer: null })) return;
      this.#refuse(res, NO_ENDPOINT_REPLIES[pick.reason], body !== null && !req.complete);
      return;
    }
    this.#forward(g, lb, pick, req, res, key, path, headers, body, deadlineMs);
  }

  /** Sends a picked request to its endpoint. */
  #forward(g: RouteGeneration, lb: Balancer, pick: Pick, req: ClientRequest, res: ClientResponse, key: RoutingKey | null, path: string, headers: string[], body: Readable | Buffer | null, deadlineMs: number | null): void {
    const hasBody = body !== null;
    const startedMs = this.#clock.nowMs();
    // Read at once: Pick objects are shared and rebound when the set changes.
    const endpoint = pick.endpoint.name;
    const upstream = g.pools.get(endpoint);
    if (upstream === undefined) {
      // The balancer and the pools are updated together; an endpoint without a pool is a bug.
      pick.done(startedMs, 'cancelled');
      this.#log.error({ endpoint }, 'picked endpoint has no upstream pool');
      this.#refuse(res, REPLIES.internal, hasBody && !req.complete);
      return;
    }
    const request = { path, method: req.method ?? 'GET', headers, body };
    const exchange = new Exchange(g.ctx, req, res, request, key, endpoint, pick.done, startedMs, hasBody);
    g.ctx.retries?.requested();
    // A retry picks from the same subset.
    if (lb !== g.balancer) exchange.balancer = lb;
    res.exchange = exchange;
    if (!res.h2 && res.closeWhenDone) exchange.closeAfter();
    if (deadlineMs !== null) exchange.setDeadline(deadlineMs);
    // The return value is undici's back-pressure signal; with no connection limit the pool
    // always has or opens a connection, so there is no queue to wait on. Concurrency per
    // endpoint is bounded by the board's in-flight limit where one is set (requests beyond it
    // wait in #queue), and by client connections and streams otherwise.
    if (hasBody && !Buffer.isBuffer(body)) {
      this.#bodyTimeouts.watch(req, res);
      sendContinue(res);
    }
    upstream.pool.dispatch(request, exchange);
  }

  /**
   * Capacity came back (a request to a full endpoint ended, an endpoint returned, a new set):
   * serve waiting requests in order while picks succeed. Run as a microtask, never inside the
   * `done()` that reported it.
   */
  #scheduleDrain(): void {
    if (this.#drainScheduled) return;
    this.#drainScheduled = true;
    queueMicrotask(this.#drainQueue);
  }

  #drain(): void {
    this.#drainScheduled = false;
    this.#drainGeneration(this.#gen);
    for (const g of this.#retiring) this.#drainGeneration(g);
  }

  #drainGeneration(g: RouteGeneration): void {
    const queue = g.queue;
    for (let w = queue.peek(); w !== undefined; w = queue.peek()) {
      if (w.res.closeSeen) {
        // The client left while waiting.
        queue.shift();
        continue;
      }
      const pick = w.balancer.pick(w.key, null);
      if (pick.kind === 'none' && pick.reason === 'saturated') return;
      queue.shift();
      if (pick.kind === 'none') {
        this.#refuse(w.res, NO_ENDPOINT_REPLIES[pick.reason], w.body !== null && !w.req.complete);
        continue;
      }
      const waited = this.#clock.nowMs() - w.sinceMs;
      this.#forward(g, w.balancer, pick, w.req, w.res, w.key, w.path, w.headers, w.body, w.deadlineMs === null ? null : Math.max(1, w.deadlineMs - waited));
    }
  }

  /**
   * Dispatches a retried exchange to another endpoint: the key's next owner in its preference
   * order (the endpoints tried are excluded), or any other endpoint for a keyless request.
   * Returns false, changing nothing, when no other endpoint can take it.
   */
  #redispatch(g: RouteGeneration, exchange: Exchange, previous: string): boolean {
    const tried = (exchange.tried ??= new Set());
    const prev = g.plane.board.load(previous);
    if (prev !== undefined) tried.add(prev.endpoint);
    const pick = (exchange.balancer ?? g.balancer).pick(exchange.key, tried);
    if (pick.kind === 'none') return false;
    const upstream = g.pools.get(pick.endpoint.name);
    if (upstream === undefined) {
      pick.done(this.#clock.nowMs(), 'cancelled');
      return false;
    }
    tried.add(pick.endpoint);
    exchange.reattempt(pick.endpoint.name, pick.done, this.#clock.nowMs());
    upstream.pool.dispatch(exchange.request, exchange);
    return true;
  }

  /**
   * `OPTIONS *` (RFC 9110 section 9.3.7) asks about the server, not a resource: no pod owns it, and
   * the pods' HTTP client sends only paths, so the proxy answers for the service itself: 200, no
   * content.
   */
  #answerOptionsAsterisk(res: ClientResponse, hasBody: boolean): void {
    const close = hasBody || this.#closing || (!res.h2 && res.closeWhenDone);
    writeHeadTo(res, 200, close && !res.h2 ? OPTIONS_ASTERISK_CLOSE : OPTIONS_ASTERISK);
    res.end();
  }

  /**
   * A request body stopped arriving while the proxy read it (body-timeout.ts): 408, and the pod
   * request is cancelled, so that no pod takes a truncated body for a whole one. The HTTP/1.1
   * connection closes; the HTTP/2 stream is reset once the answer is out, since its client, which
   * owes the rest of the body, would keep it open.
   */
  #onBodyTimeout(req: ClientRequest, res: ClientResponse): void {
    this.#log.debug({ method: req.method, afterMs: this.#bodyTimeouts.timeoutMs }, 'request body stopped arriving: 408');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // (The compatibility response's own 'finish' waits for the stream to close: the stream's.)
    if (res.h2) res.stream.once('finish', resetStream);
    const exchange = res.exchange;
    if (exchange !== null) exchange.abandon(REPLIES.bodyTimeout);
    else sendReply(res, REPLIES.bodyTimeout, null, true);
  }

  /**
   * Answers without asking a pod. `close` ends the connection afterwards: for a malformed request,
   * and for an unread body, which Node would otherwise read to the end for nothing.
   */
  #refuse(res: ClientResponse, reply: ErrorReply, close: boolean): void {
    sendReply(res, reply, null, close || this.#closing || (!res.h2 && res.closeWhenDone));
  }

  /** Once per response: from its 'close', or from its connection's 'close' if Node queued it. */
  #responseClosed(res: ClientResponse): void {
    if (res.closeSeen) return;
    res.closeSeen = true;
    this.#bodyTimeouts.unwatch(res.req);
    const exchange = res.exchange;
    this.#observer?.ended(res, exchange);
    if (exchange !== null) {
      res.exchange = null;
      exchange.responseClosed();
    }
    const generation = res.generation;
    if (generation !== null) {
      res.generation = null;
      generation.release();
    }
    const socket = res.h2 ? null : (res.clientSocket as TrackedSocket | null);
    if (socket !== null && !res.h2) {
      res.clientSocket = null;
      // Responses close in order: the one closing is nearly always the first.
      const list = socket[kResponses];
      if (list[0] === res) list.shift();
      else {
        const i = list.indexOf(res);
        if (i >= 0) list.splice(i, 1);
      }
    }
    if (--this.#active === 0 && this.#onIdle !== null) this.#onIdle();
  }

  /**
   * Node's parser refused bytes from a client. With no response under way the answer goes
   * straight to the socket. When the current request's body broke its framing, that request is
   * answered, or its connection closed if its response has started. When a request pipelined
   * behind a complete one is bad, the complete one is served first, then the connection closes.
   */
  #onClientError(err: Error, socket: Duplex): void {
    const code = (err as { code?: unknown }).code;
    if (code === 'ECONNRESET' || code === 'EPIPE' || !socket.writable) {
      socket.destroy();
      return;
    }
    const reply = code === 'HPE_HEADER_OVERFLOW' ? REPLIES.headersTooLarge : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? REPLIES.requestTimeout : code === 'HPE_INVALID_METHOD' && startsWithMethodToken(err) ? REPLIES.unknownMethod : REPLIES.badRequest;
    if (this.#log.isLevelEnabled('debug')) this.#log.debug({ code, status: reply.status, err: err.message }, 'malformed request');
    const list = (socket as TrackedSocket)[kResponses];
    const res = list === undefined ? null : (list[list.length - 1] ?? null);
    if (res === null) {
      socket.end(reply.raw, () => socket.destroy());
    } else if (res.writableEnded) {
      // The answer is written (a refusal of this very request, say): let it flush, then close.
      socket.end();
    } else if (!res.req.complete) {
      const exchange = res.exchange;
      if (res.headersSent) socket.destroy();
      else if (exchange !== null) exchange.abandon(reply);
      else sendReply(res, reply, null, true);
    } else if (res.exchange !== null) {
      res.exchange.closeAfter();
    } else if (res.socket === null) {
      // Still queued behind another response, not yet forwarded: it closes the connection once done.
      res.closeWhenDone = true;
    } else {
      socket.destroy();
    }
  }

  /** An HTTP/1.1 Upgrade: WebSocket is tunnelled to the key's pod; other protocols are refused. */
  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', onDetachedSocketError);
    const upgrade = req.headers.upgrade;
    if (req.method !== 'GET' || upgrade === undefined || upgrade.toLowerCase() !== 'websocket') {
      socket.end(REPLIES.upgradeRefused.raw, () => socket.destroy());
      return;
    }
    this.#openTunnel({ kind: 'h1', req, socket, head }, req, req.url ?? '/');
  }

  /** An HTTP/2 CONNECT: `:protocol websocket` (RFC 8441) is tunnelled; plain CONNECT is refused. */
  #onH2Connect(req: Http2ServerRequest): void {
    const stream = req.stream;
    const headers = req.headers;
    stream.on('error', noop);
    if (headers[':protocol'] !== 'websocket') {
      if (!stream.headersSent && !stream.destroyed) stream.respond({ ':status': 405 }, { endStream: true });
      return;
    }
    this.#openTunnel({ kind: 'h2', stream, headers }, req, String(headers[':path'] ?? '/'));
  }

  #openTunnel(client: WebSocketClient, req: ClientRequest, path: string): void {
    if (this.#closing) {
      refuseWebSocket(client, REPLIES.shuttingDown);
      return;
    }
    // A tunnel keeps its connection to the pod through reloads; it does not hold its generation.
    const g = this.#gen;
    const reader = g.reader;
    reader.read(req.rawHeaders, g.keyField, req.socket.remoteAddress);
    const subsets = g.subsets;
    const lb = subsets === null ? g.balancer : subsets.select(reader.selectorValues);
    if (lb === null) {
      refuseWebSocket(client, noSubsetReply(subsets!.describeMiss(reader.selectorValues)));
      return;
    }
    const source = g.keySource;
    const key = source === null ? null : g.plane.key(keyText(source, path, reader.key));
    this.#active++;
    this.#tunnels.add(client.kind === 'h1' ? client.socket : client.stream);
    routeWebSocket(g.ws, client, key, reader.out, lb);
  }

  #tunnelEnded(client: WebSocketClient): void {
    this.#tunnels.delete(client.kind === 'h1' ? client.socket : client.stream);
    if (--this.#active === 0 && this.#onIdle !== null) this.#onIdle();
  }

  #onConnectMethod(socket: Duplex): void {
    // Node hands the socket over without its own error listener.
    socket.on('error', onDetachedSocketError);
    socket.end(REPLIES.connectMethod.raw, () => socket.destroy());
  }
}

/**
 * The bytes llhttp refused are a request line with a method it does not know (`TOKEN SP target SP
 * HTTP/`), not garbage. Node puts the refused bytes on the error as `rawPacket`.
 */
function startsWithMethodToken(err: Error): boolean {
  const raw = (err as { rawPacket?: unknown }).rawPacket;
  if (!Buffer.isBuffer(raw)) return false;
  let i = 0;
  while (i < raw.length && i < 32 && isTokenByte(raw[i]!)) i++;
  if (i === 0 || raw[i] !== 0x20) return false;
  const targetEnd = raw.indexOf(0x20, i + 1);
  return targetEnd > i + 1 && raw.subarray(targetEnd + 1, targetEnd + 6).equals(HTTP_VERSION_PREFIX);
}

const HTTP_VERSION_PREFIX = Buffer.from('HTTP/', 'latin1');

/** tchar (RFC 9110 section 5.6.2): a letter, a digit or one of !#$%&'*+-.^_`|~ */
function isTokenByte(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || TCHAR_SYMBOLS.includes(b);
}

const TCHAR_SYMBOLS = Buffer.from("!#$%&'*+-.^_`|~", 'latin1');

/** The client connection closed: close the responses Node queued and will never close. */
function onSocketClose(this: Socket): void {
  const socket = this as TrackedSocket;
  const pending = socket[kResponses].splice(0);
  const close = socket[kCloseResponse];
  // A response Node did close is skipped by its closeSeen mark.
  for (const res of pending) close.call(res);
}


/** The proxy's own answer to a WebSocket it will not tunnel. */
function refuseWebSocket(client: WebSocketClient, reply: ErrorReply): void {
  if (client.kind === 'h1') {
    client.socket.end(reply.raw, () => client.socket.destroy());
    return;
  }
  const stream = client.stream;
  if (stream.destroyed || stream.headersSent) return;
  stream.respond({ ':status': reply.status, 'content-type': 'application/json', 'content-length': String(reply.body.length) });
  stream.end(reply.body);
}

function noop(): void {}

/** Bodies up to this size (declared) are kept for a retry: HAProxy's default buffer size. */
const REPLAY_BUFFER_BYTES = 16_384;

const OPTIONS_ASTERISK: readonly string[] = Object.freeze(['content-length', '0']);
const OPTIONS_ASTERISK_CLOSE: readonly string[] = Object.freeze(['content-length', '0', 'connection', 'close']);

/** An HTTP/2 stream with no frame either way for streamIdleMs: reset it (the exchange ends as cancelled). */
function onStreamIdle(this: ServerHttp2Stream): void {
  this.close(http2.constants.NGHTTP2_CANCEL);
}

/** After a 408 for a stalled body: the client still owes the body, so end the stream with RST_STREAM. */
function resetStream(this: ServerHttp2Stream): void {
  if (!this.closed) this.close(http2.constants.NGHTTP2_NO_ERROR);
}

/** A WebSocket with no byte either way for an hour is closed (HAProxy's `timeout tunnel` role). */
const TUNNEL_IDLE_MS = 3_600_000;

function onDetachedSocketError(this: Duplex, _err: Error): void {
  // The connection is being refused anyway; a reset during that changes nothing.
  this.destroy();
}


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
