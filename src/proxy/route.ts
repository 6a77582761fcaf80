/**
 * The route stage: from a request's head to a routed request (routed-request.ts). One pass over
 * the raw field lines (headers.ts) checks what both protocols' parsers let through (Host lines,
 * the target's form, methods, codings), chooses the subset by its selector headers, reads the key
 * (key-source.ts: a field, a cookie, the query, the path, or a JSON body read whole first) and
 * decides what happens to the body (streamed, limited, or kept whole for a retry); then the
 * dispatch stage picks. The HTTP/1.1 and HTTP/2 fronts both route here, and so does a WebSocket's
 * handshake.
 */
import type { Readable } from 'node:stream';
import type { Balancer } from '../balancer/balancer.js';
import type { RoutingKey } from '../balancer/hash.js';
import { BodyLimit } from './body-limit.js';
import type { ClientRequest, ClientResponse } from './client-response.js';
import { endResponse, requestBody, sendContinue, writeHeadTo } from './client-response.js';
import type { RequestDispatch } from './dispatch.js';
import { REPLIES, noSubsetReply } from './error-reply.js';
import { parseGrpcTimeout } from './grpc.js';
import type { KeySource } from './key-source.js';
import { keyText } from './key-source.js';
import type { ProxyState } from './proxy-state.js';
import { KNOWN_METHODS, authorityOf, isValidAuthority, originForm } from './request-target.js';
import type { RouteGeneration } from './route-generation.js';
import { RoutedRequest } from './routed-request.js';
import type { WebSocketClient } from './websocket-routing.js';
import { routeWebSocket } from './websocket-routing.js';

const SLASH = 47;

/** Bodies up to this size (declared) are kept for a retry: HAProxy's default buffer size. */
const REPLAY_BUFFER_BYTES = 16_384;

const OPTIONS_ASTERISK: readonly string[] = Object.freeze(['content-length', '0']);
const OPTIONS_ASTERISK_CLOSE: readonly string[] = Object.freeze(['content-length', '0', 'connection', 'close']);

export class RequestRouter {
  readonly #state: ProxyState;
  readonly #dispatch: RequestDispatch;
  readonly #maxHeaderCount: number;
  /** Told of each WebSocket about to be tunnelled, before anything can end it. */
  readonly #tunnelOpening: (client: WebSocketClient) => void;

  constructor(state: ProxyState, dispatch: RequestDispatch, maxHeaderCount: number, tunnelOpening: (client: WebSocketClient) => void) {
    this.#state = state;
    this.#dispatch = dispatch;
    this.#maxHeaderCount = maxHeaderCount;
    this.#tunnelOpening = tunnelOpening;
  }

  /** Routes a request whose head has arrived; the dispatch stage takes it from there. */
  route(req: ClientRequest, res: ClientResponse): void {
    const state = this.#state;
    // The generation the request routes with to its end, whatever a reload does meanwhile.
    const g = state.gen;
    g.take();
    res.generation = g;
    if (!res.h2 && req.rawHeaders.length > 2 * this.#maxHeaderCount) {
      state.refuse(res, REPLIES.tooManyHeaders, true);
      return;
    }
    // llhttp takes `HTTP/2.0` and HTTP/0.9 request lines; the raw path's parser refuses them, and
    // so does this, so that neither path forwards them.
    if (!res.h2 && (req.httpVersionMajor !== 1 || req.httpVersionMinor > 1)) {
      state.refuse(res, REPLIES.versionNotSupported, true);
      return;
    }
    const reader = g.reader;
    reader.read(req.rawHeaders, g.keyField, req.socket.remoteAddress);
    // An HTTP/2 request has a body unless its HEADERS frame ended the stream.
    const hasBody = res.h2 ? !res.req.stream.endAfterHeaders : reader.hasBody;
    if (res.h2) res.grpc = reader.grpc;
    if (reader.hostLines > 1 || (reader.hostLines === 0 && req.httpVersionMajor === 1 && req.httpVersionMinor === 1)) {
      state.refuse(res, REPLIES.badHost, true);
      return;
    }
    if (reader.host !== undefined && !isValidAuthority(reader.host)) {
      state.refuse(res, REPLIES.malformedHost, hasBody);
      return;
    }
    // Node's HTTP/1.1 parser refuses what it does not know; HTTP/2 carries any token: the same rule.
    if (res.h2 && !KNOWN_METHODS.has(req.method ?? '')) {
      state.refuse(res, REPLIES.unknownMethod, hasBody);
      return;
    }
    if (reader.codingProblem !== null) {
      // The body cannot be relayed as sent: close, since Node would otherwise read it.
      state.refuse(res, reader.codingProblem === 'unsupported' ? REPLIES.transferCoding : REPLIES.badFraming, true);
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
        state.refuse(res, REPLIES.badTarget, true);
        return;
      }
      // RFC 9112 section 3.2.2: the target's authority, not the Host line, names the host.
      reader.useAuthority(authority);
      path = origin;
    }
    const lb = this.#balancerFor(g, res, hasBody);
    if (lb === null) return;
    const r = new RoutedRequest(g, lb, req, res, path, reader.out);
    const body = hasBody ? requestBody(res) : null;
    if (body !== null) {
      r.body = g.maxBodyBytes > 0 ? this.#limitedBody(g.maxBodyBytes, req, res, body) : body;
      if (r.body === null) return;
    }
    if (res.grpc) r.deadlineMs = parseGrpcTimeout(reader.grpcTimeout);
    const source = g.keySource;
    if (source !== null && source.kind === 'json' && hasBody) {
      this.#bufferBody(r, source, g.maxBodyBuffer);
      return;
    }
    if (source !== null) r.key = g.plane.key(keyText(source, path, reader.key));
    if (body !== null && r.body === body && g.ctx.retries !== null && replayable(req)) {
      this.#bufferBody(r, null, REPLAY_BUFFER_BYTES);
      return;
    }
    this.#dispatch.pickAndForward(r);
  }

  /**
   * Routes a WebSocket handshake (an HTTP/1.1 Upgrade or an HTTP/2 extended CONNECT) to the key's
   * pod, or refuses it (its values match no subset).
   */
  tunnel(client: WebSocketClient, req: ClientRequest, path: string): void {
    // A tunnel keeps its connection to the pod through reloads; it does not hold its generation.
    const g = this.#state.gen;
    const reader = g.reader;
    reader.read(req.rawHeaders, g.keyField, req.socket.remoteAddress);
    const subsets = g.subsets;
    const lb = subsets === null ? g.balancer : subsets.select(reader.selectorValues);
    if (lb === null) {
      g.ws.refuse(client, noSubsetReply(subsets!.describeMiss(reader.selectorValues)));
      return;
    }
    const source = g.keySource;
    const key: RoutingKey | null = source === null ? null : g.plane.key(keyText(source, path, reader.key));
    this.#tunnelOpening(client);
    routeWebSocket(g.ws, client, key, reader.out, lb);
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
    if (lb === null) this.#state.refuse(res, noSubsetReply(subsets.describeMiss(values)), close);
    return lb;
  }

  /**
   * The body to forward, held to maxBodyBytes: a declared length over it is refused at once
   * (null); a body without one is counted as it streams through a BodyLimit, which answers 413
   * when it passes the limit. Only when a limit is set: otherwise the request stream itself.
   */
  #limitedBody(limit: number, req: ClientRequest, res: ClientResponse, body: Readable): Readable | null {
    const declared = req.headers['content-length'];
    if (declared === undefined) return body.pipe(new BodyLimit(limit, res));
    if (Number(declared) <= limit) return body;
    this.#state.refuse(res, REPLIES.bodyTooLarge, true);
    return null;
  }

  /**
   * A body read whole, up to `limit`, then routed and forwarded byte for byte from the buffer,
   * which also makes it replayable for retries: for a JSON body key (`source`: the key is read
   * from the body), or a small body kept for a retry (the request's key is known already). A body
   * over the limit is never half forwarded: it gets 413 and, over HTTP/1.1, the connection
   * closes. Closures per request, but only for bodies read whole.
   */
  #bufferBody(r: RoutedRequest, source: (KeySource & { kind: 'json' }) | null, limit: number): void {
    const { req, res } = r;
    const state = this.#state;
    const declared = Number(req.headers['content-length'] ?? -1);
    if (declared > limit) {
      state.refuse(res, REPLIES.bodyTooLarge, true);
      return;
    }
    state.bodyTimeouts.watch(req, res);
    sendContinue(res);
    const body = requestBody(res);
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (res.headersSent) {
        // Answered already (the body stopped arriving for a while: 408).
        body.off('data', onData);
        body.off('end', onEnd);
        return;
      }
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      body.off('data', onData);
      body.off('end', onEnd);
      chunks.length = 0;
      state.refuse(res, REPLIES.bodyTooLarge, true);
      // HTTP/2: the rest of the stream is not wanted; HTTP/1.1 closes after the answer.
      if (res.h2) body.resume();
    };
    const onEnd = (): void => {
      if (res.closeSeen || res.headersSent) return;
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      r.body = body;
      if (source !== null) r.key = r.generation.plane.key(keyText(source, r.path, undefined, body));
      this.#dispatch.pickAndForward(r);
    };
    body.on('data', onData);
    body.on('end', onEnd);
  }

  /**
   * `OPTIONS *` (RFC 9110 section 9.3.7) asks about the server, not a resource: no pod owns it, and
   * the pods' HTTP client sends only paths, so the proxy answers for the service itself: 200, no
   * content.
   */
  #answerOptionsAsterisk(res: ClientResponse, hasBody: boolean): void {
    const close = hasBody || this.#state.closing || (!res.h2 && res.closeWhenDone);
    writeHeadTo(res, 200, close && !res.h2 ? OPTIONS_ASTERISK_CLOSE : OPTIONS_ASTERISK);
    endResponse(res);
  }
}

/**
 * A body small enough to keep for a retry: one declared by Content-Length at most
 * REPLAY_BUFFER_BYTES. It is read whole before it is forwarded, as HAProxy's layer-7 retries
 * need the request to fit its buffer and Envoy's buffer it, so that a retry after the pod
 * failed can send it again; a body streamed to the pod cannot be.
 */
function replayable(req: ClientRequest): boolean {
  const declared = req.headers['content-length'];
  return declared !== undefined && Number(declared) <= REPLAY_BUFFER_BYTES;
}
