/**
 * The front stage on Node's servers: client connections and their protocols. One listener for
 * HTTP/1.1 and HTTP/2 (listener.ts: h2c by its preface on plain TCP, ALPN with TLS). HTTP/1.1 is
 * Node's HTTP server (llhttp, strict parsing) with keep-alive; malformed requests, oversized
 * heads and slow heads are answered from 'clientError' with a status and a JSON body rather than
 * a dropped connection. HTTP/2 is served from the session's 'stream' event, with the proxy's own
 * thin request and response per stream (h2-stream-request.ts, h2-stream-response.ts) rather than
 * Node's compatibility layer, and takes the same route stage (route.ts); gRPC calls are HTTP/2
 * requests whose failures are answered as gRPC statuses (grpc.ts). WebSocket handshakes (an HTTP/1.1 Upgrade, an HTTP/2 extended CONNECT) are
 * routed once and tunnelled. The front counts requests until their responses close, for the
 * proxy's graceful shutdown, and tells the observer (metrics, access log) of each.
 */
import http from 'node:http';
import type { IncomingMessage } from 'node:http';
import http2 from 'node:http2';
import type { IncomingHttpHeaders, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Rng } from '../balancer/rng.js';
import type { ClientRequest, ClientResponse } from './client-response.js';
import { ProxyResponse } from './client-response.js';
import { ClientSessions } from './client-sessions.js';
import { ConnectionAge } from './connection-age.js';
import type { ErrorReply } from './error-reply.js';
import { REPLIES, sendReply } from './error-reply.js';
import type { ClientAddress } from './h2-stream-request.js';
import { H2StreamRequest } from './h2-stream-request.js';
import { H2StreamResponse, responseOf } from './h2-stream-response.js';
import { StreamIdleTimeouts } from './stream-idle-timeouts.js';
import type { ProxyTimeouts } from './limits.js';
import type { ListenTarget } from './listener.js';
import { ProtocolListener } from './listener.js';
import type { ProxyState } from './proxy-state.js';
import type { RequestObserver } from './request-observer.js';
import type { Http1Error } from '../http1/errors.js';
import { RawFront } from './raw-front.js';
import type { RawRequest } from './raw-request.js';
import type { RawResponse } from './raw-response.js';
import type { RequestRouter } from './route.js';
import { TCHAR } from '../http1/chars.js';
import type { WebSocketClient } from './websocket-routing.js';

const kResponses = Symbol('shardgate.responses');
const kCloseResponse = Symbol('shardgate.closeResponse');
const kClientAddress = Symbol('shardgate.clientAddress');

/** An HTTP/2 session and the client address its streams' requests share. */
interface AddressedSession extends ServerHttp2Session {
  [kClientAddress]: ClientAddress;
}

/**
 * A client connection and its responses not yet closed, oldest first (several only when
 * pipelining). Node queues the response of a pipelined request until the ones before it finish,
 * and when the connection closes it destroys the queued requests but never emits 'close' on
 * their responses: the socket's own 'close' closes them here instead (#socketClosed).
 */
interface TrackedSocket extends Socket {
  [kResponses]: ProxyResponse[];
  /** The front's response 'close' listener (one per front), called for the queued ones. */
  [kCloseResponse]: (this: ProxyResponse) => void;
}

export interface NodeFrontOptions {
  readonly maxHeaderBytes: number;
  readonly maxHeaderCount: number;
  readonly maxConcurrentStreams: number;
  readonly maxConnections: number;
  readonly timeouts: Readonly<Required<ProxyTimeouts>>;
  readonly tls: { readonly cert: string | Buffer; readonly key: string | Buffer } | null;
  readonly rng: Rng;
  readonly observer: RequestObserver | null;
  /** Serve HTTP/1.1 requests on the raw path where it can (raw-front.ts); false: Node's server serves them all. */
  readonly rawPath: boolean;
}

export class NodeFront {
  readonly #state: ProxyState;
  #router: RequestRouter | null = null;
  readonly #server: http.Server<typeof IncomingMessage, typeof ProxyResponse>;
  readonly #listener: ProtocolListener;
  /** The raw HTTP/1.1 path, or null when Node's server serves every HTTP/1.1 request. */
  readonly #raw: RawFront | null;
  readonly #sessions: ClientSessions;
  /** Ends client connections after their maximum age; null when there is none. */
  readonly connectionAge: ConnectionAge | null;
  /** HTTP/2 streams without progress for streamIdleMs are reset (HTTP/1.1: `server.timeout`). */
  readonly #idleStreams: StreamIdleTimeouts;
  /** Open WebSocket tunnels' client sides, cut when the shutdown grace period ends. */
  readonly #tunnels = new Set<Duplex | ServerHttp2Stream>();
  readonly #onResponseClose: (this: ProxyResponse) => void;
  /** The same for HTTP/2: the stream's 'close' is its response's. */
  readonly #onStreamClose: (this: ServerHttp2Stream) => void;
  readonly #onStreamError: (this: ServerHttp2Stream, err: Error) => void;
  readonly #observer: RequestObserver | null;
  /** Requests whose response has not closed yet, and open tunnels. */
  #active = 0;
  #onIdle: (() => void) | null = null;

  constructor(state: ProxyState, options: NodeFrontOptions) {
    this.#state = state;
    this.#observer = options.observer;
    const t = options.timeouts;
    // One listener for every response, made once: it finds the exchange through the response.
    const responseClosed = (res: ClientResponse): void => this.#responseClosed(res);
    this.#onResponseClose = function onResponseClose(this: ProxyResponse): void {
      responseClosed(this);
    };
    this.#onStreamClose = function onStreamClose(this: ServerHttp2Stream): void {
      const res = responseOf(this);
      if (res !== undefined) responseClosed(res);
    };
    const log = state.log;
    this.#onStreamError = function onStreamError(this: ServerHttp2Stream, err: Error): void {
      // A reset with an error code, or a failed session: the stream's 'close' follows and ends
      // its exchange as cancelled.
      if (log.isLevelEnabled('debug')) log.debug({ err: err.message, stream: this.id }, 'HTTP/2 client stream error');
    };
    const server = http.createServer<typeof IncomingMessage, typeof ProxyResponse>(
      {
        ServerResponse: ProxyResponse,
        maxHeaderSize: options.maxHeaderBytes,
        // Answered by the route stage, as JSON, together with duplicate Host lines, which Node lets through.
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
    this.#idleStreams = new StreamIdleTimeouts(t.streamIdleMs);
    // One more than allowed: Node drops fields past maxHeadersCount silently, so a head that fills
    // it had too many, and is refused by the route stage.
    server.maxHeadersCount = options.maxHeaderCount + 1;
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
    server.on('connect', (_req: IncomingMessage, socket: Duplex) => onConnectMethod(socket));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#onUpgrade(req, socket, head));
    server.on('error', (err: Error) => state.log.error({ err }, 'proxy server error'));
    this.#server = server;

    const maxHeaderBytes = options.maxHeaderBytes;
    // No 'request' listener: Node's compatibility layer is never set up; streams come as they are.
    const h2 = http2.createServer({
      maxHeaderListPairs: options.maxHeaderCount + 4,
      // enableConnectProtocol: WebSocket over HTTP/2 (RFC 8441).
      settings: { maxConcurrentStreams: options.maxConcurrentStreams, maxHeaderListSize: maxHeaderBytes, enablePush: false, enableConnectProtocol: true },
    });
    h2.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => this.#onStream(stream, headers, rawHeaders));
    this.#sessions = new ClientSessions({ idleMs: t.clientIdleMs, headersMs: t.clientHeadersMs, log: state.log });
    h2.on('session', (session: ServerHttp2Session) => this.#onSession(session));
    h2.on('sessionError', (err: Error) => state.log.debug({ err: err.message }, 'HTTP/2 client session failed'));
    this.connectionAge = t.maxConnectionAgeMs === 0 ? null : new ConnectionAge({ ageMs: t.maxConnectionAgeMs, graceMs: t.maxConnectionAgeGraceMs, rng: options.rng, log: state.log });
    this.connectionAge?.attach(server as unknown as http.Server, h2);
    const raw = options.rawPath
      ? new RawFront({
          // One more field than allowed, as for Node's server above: the route stage refuses the head.
          limits: { maxHeaderBytes: options.maxHeaderBytes, maxHeaderCount: options.maxHeaderCount + 1 },
          idleMs: t.clientIdleMs,
          headersMs: t.clientHeadersMs,
          streamIdleMs: t.streamIdleMs,
          http1: server as unknown as http.Server,
          request: (req, res) => this.#onRawRequest(req, res),
          malformed: (res, error) => this.#onRawMalformed(res, error),
          closing: () => state.closing,
        })
      : null;
    this.#raw = raw;
    this.#listener = new ProtocolListener(server as unknown as http.Server, h2, {
      tls: options.tls,
      maxConnections: options.maxConnections,
      firstBytesMs: t.clientHeadersMs,
      ...(raw === null ? {} : { http1: (socket: Socket, bytes: Buffer | null) => raw.accept(socket, bytes) }),
    });
    this.#listener.server.on('error', (err: Error) => state.log.error({ err }, 'proxy listener error'));
  }

  /** The route stage requests go to; set once, before listening. */
  set router(router: RequestRouter) {
    this.#router = router;
  }

  get secure(): boolean {
    return this.#listener.secure;
  }

  /** Requests whose responses have not closed, and open tunnels. */
  get active(): number {
    return this.#active;
  }

  listen(target: ListenTarget): Promise<{ address: string; port: number }> {
    return this.#listener.listen(target);
  }

  /**
   * Stops accepting, lets what is under way finish for up to `graceMs` (responses ask clients to
   * close; HTTP/2 clients get GOAWAY), then cuts whatever is left. Resolves with whether
   * everything finished in time, once every connection is gone.
   */
  async shutdown(graceMs: number, onOverstay: (requests: number) => void): Promise<boolean> {
    const server = this.#server;
    // Resolves once every connection is gone.
    const serverClosed = this.#listener.close();
    server.closeIdleConnections();
    this.#raw?.closeIdle();
    // GOAWAY: HTTP/2 clients open no new streams here; the ones under way finish.
    this.#sessions.closeAll();
    const drained = await this.#whenIdle(graceMs);
    if (!drained) onOverstay(this.#active);
    // What is left is idle keep-alive connections, heads still arriving, or (past the grace
    // period) requests that overstayed.
    server.closeAllConnections();
    this.#raw?.destroyAll();
    for (const tunnel of this.#tunnels) tunnel.destroy();
    this.#sessions.destroyAll();
    this.#state.bodyTimeouts.close();
    this.#idleStreams.close();
    await serverClosed;
    return drained;
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

  #onRequest(req: IncomingMessage, res: ProxyResponse): void {
    this.#active++;
    res.startedMs = this.#state.clock.nowMs();
    res.on('close', this.#onResponseClose);
    res.clientSocket = req.socket;
    (req.socket as TrackedSocket)[kResponses].push(res);
    if (res.socket === null) {
      // Pipelined behind a response still under way: Node has queued this one until the ones
      // before it finish. Forward it only then, so that one client connection has at most one
      // request at a pod at a time (HTTP/1.1 answers in order anyway), rather than opening a pod
      // connection per pipelined request. A closure, but only on this rare path. If the client
      // leaves first, 'socket' never comes and the connection's 'close' closes the response.
      res.once('socket', () => this.#route(req, res));
      return;
    }
    this.#route(req, res);
  }

  /** A request on the raw HTTP/1.1 path: one at a time per connection, so never queued behind another. */
  #onRawRequest(req: RawRequest, res: RawResponse): void {
    this.#active++;
    res.startedMs = this.#state.clock.nowMs();
    res.on('close', this.#onResponseClose);
    this.#route(req, res);
  }

  /** As #onClientError for a request pipelined behind a complete one: the complete one is served, then the connection closes. */
  #onRawMalformed(res: RawResponse, error: Http1Error): void {
    const log = this.#state.log;
    if (log.isLevelEnabled('debug')) log.debug({ code: error.code, err: error.reason }, 'malformed request');
    if (res.exchange !== null) res.exchange.closeAfter();
    else res.closeWhenDone = true;
  }

  /**
   * A client stream whose head has arrived: a request (one request and one response object, and
   * the stream's listeners, all module or per-front functions), an extended CONNECT, or an
   * expectation the proxy does not meet.
   */
  #onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[]): void {
    stream.on('error', this.#onStreamError);
    const client = (stream.session as AddressedSession)[kClientAddress];
    if (headers[':method'] === 'CONNECT') {
      this.#onH2Connect(new H2StreamRequest(stream, headers, rawHeaders, client));
      return;
    }
    const expect = headers.expect;
    const continuePending = expect !== undefined && isContinueExpectation(expect);
    if (expect !== undefined && !continuePending) {
      // As Node's servers answer an expectation they cannot meet (RFC 9110 section 10.1.1).
      if (!stream.destroyed && !stream.closed) stream.respond({ ':status': 417 }, { endStream: true });
      return;
    }
    const req = new H2StreamRequest(stream, headers, rawHeaders, client);
    const res = new H2StreamResponse(req);
    // The proxy sends `100` itself when it starts reading the body (sendContinue).
    res.continuePending = continuePending;
    this.#active++;
    res.startedMs = this.#state.clock.nowMs();
    stream.on('close', this.#onStreamClose);
    this.#idleStreams.watch(res);
    this.#route(req, res);
  }

  #onSession(session: ServerHttp2Session): void {
    session.on('error', (err: Error) => this.#state.log.debug({ err: err.message }, 'HTTP/2 client session error'));
    // Read once per connection (through Node's socket proxy), not per stream.
    (session as AddressedSession)[kClientAddress] = { remoteAddress: session.socket?.remoteAddress };
    this.#sessions.add(session, this.#state.closing);
  }

  #route(req: ClientRequest, res: ClientResponse): void {
    try {
      this.#router!.route(req, res);
    } catch (err) {
      // A bug, not bad input: answer this request and keep serving the rest.
      this.#state.log.error({ err }, 'request handler failed');
      if (!res.headersSent) sendReply(res, REPLIES.internal, null, true);
      else res.destroy();
    }
  }

  /**
   * A request body stopped arriving while the proxy read it (body-timeout.ts): 408, and the pod
   * request is cancelled, so that no pod takes a truncated body for a whole one. The HTTP/1.1
   * connection closes; the HTTP/2 stream is reset once the answer is out, since its client, which
   * owes the rest of the body, would keep it open.
   */
  onBodyTimeout(req: ClientRequest, res: ClientResponse): void {
    this.#state.log.debug({ method: req.method, afterMs: this.#state.bodyTimeouts.timeoutMs }, 'request body stopped arriving: 408');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (res.h2) res.stream.once('finish', resetStream);
    const exchange = res.exchange;
    if (exchange !== null) exchange.abandon(REPLIES.bodyTimeout);
    else sendReply(res, REPLIES.bodyTimeout, null, true);
  }

  /** Once per response: from its 'close', or from its connection's 'close' if Node queued it. */
  #responseClosed(res: ClientResponse): void {
    if (res.closeSeen) return;
    res.closeSeen = true;
    this.#state.bodyTimeouts.unwatch(res);
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
    if (res.h2) this.#idleStreams.unwatch(res);
    // Only Node's HTTP/1.1 responses have one (the raw path never queues a response).
    const socket = res.h2 ? null : (res.clientSocket as TrackedSocket | null);
    if (socket !== null && !res.h2) {
      res.clientSocket = null;
      // Responses close in order: the one closing is nearly always the first.
      const list = socket[kResponses] as ClientResponse[];
      if (list[0] === res) list.shift();
      else {
        const i = list.indexOf(res);
        if (i >= 0) list.splice(i, 1);
      }
    }
    this.#ended();
  }

  #ended(): void {
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
    const log = this.#state.log;
    if (log.isLevelEnabled('debug')) log.debug({ code, status: reply.status, err: err.message }, 'malformed request');
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
  #onH2Connect(req: H2StreamRequest): void {
    const stream = req.stream;
    const headers = req.headers;
    if (headers[':protocol'] !== 'websocket') {
      if (!stream.headersSent && !stream.destroyed) stream.respond({ ':status': 405 }, { endStream: true });
      return;
    }
    this.#openTunnel({ kind: 'h2', stream, headers }, req, req.url ?? '/');
  }

  #openTunnel(client: WebSocketClient, req: ClientRequest, path: string): void {
    if (this.#state.closing) {
      refuseWebSocket(client, REPLIES.shuttingDown);
      return;
    }
    this.#router!.tunnel(client, req, path);
  }

  /** The route stage is about to tunnel `client`: it counts until tunnelEnded(). */
  tunnelOpening(client: WebSocketClient): void {
    this.#active++;
    this.#tunnels.add(client.kind === 'h1' ? client.socket : client.stream);
  }

  tunnelEnded(client: WebSocketClient): void {
    this.#tunnels.delete(client.kind === 'h1' ? client.socket : client.stream);
    this.#ended();
  }
}

/** The proxy's own answer to a WebSocket it will not tunnel. */
export function refuseWebSocket(client: WebSocketClient, reply: ErrorReply): void {
  if (client.kind === 'h1') {
    client.socket.end(reply.raw, () => client.socket.destroy());
    return;
  }
  const stream = client.stream;
  if (stream.destroyed || stream.headersSent) return;
  stream.respond({ ':status': reply.status, 'content-type': 'application/json', 'content-length': String(reply.body.length) });
  stream.end(reply.body);
}

function onConnectMethod(socket: Duplex): void {
  // Node hands the socket over without its own error listener.
  socket.on('error', onDetachedSocketError);
  socket.end(REPLIES.connectMethod.raw, () => socket.destroy());
}

/**
 * The bytes llhttp refused are a request line with a method it does not know (`TOKEN SP target SP
 * HTTP/`), not garbage. Node puts the refused bytes on the error as `rawPacket`.
 */
function startsWithMethodToken(err: Error): boolean {
  const raw = (err as { rawPacket?: unknown }).rawPacket;
  if (!Buffer.isBuffer(raw)) return false;
  let i = 0;
  while (i < raw.length && i < 32 && TCHAR[raw[i]!] === 1) i++;
  if (i === 0 || raw[i] !== 0x20) return false;
  const targetEnd = raw.indexOf(0x20, i + 1);
  return targetEnd > i + 1 && raw.subarray(targetEnd + 1, targetEnd + 6).equals(HTTP_VERSION_PREFIX);
}

const HTTP_VERSION_PREFIX = Buffer.from('HTTP/', 'latin1');

/** The client connection closed: close the responses Node queued and will never close. */
function onSocketClose(this: Socket): void {
  const socket = this as TrackedSocket;
  const pending = socket[kResponses].splice(0);
  const close = socket[kCloseResponse];
  // A response Node did close is skipped by its closeSeen mark.
  for (const res of pending) close.call(res);
}

/** `100-continue`, the one expectation there is, in any case (RFC 9110 section 10.1.1). */
function isContinueExpectation(value: string): boolean {
  return value === '100-continue' || (value.length === 12 && value.toLowerCase() === '100-continue');
}

/** After a 408 for a stalled body: the client still owes the body, so end the stream with RST_STREAM. */
function resetStream(this: ServerHttp2Stream): void {
  if (!this.closed) this.close(http2.constants.NGHTTP2_NO_ERROR);
}

function onDetachedSocketError(this: Duplex, _err: Error): void {
  // The connection is being refused anyway; a reset during that changes nothing.
  this.destroy();
}
