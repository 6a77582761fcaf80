/**
 * One proxied request: the undici dispatch handler that carries the pod's response to the client
 * and ends the request's pick exactly once (R4).
 *
 * Why `pool.dispatch()` with a handler, not `request()`, `stream()` or `pipeline()`: those build a
 * promise, a body Readable and an abort signal per request, then need a second pipe into the
 * ServerResponse. dispatch hands each chunk straight to `res.write()`; back-pressure is the
 * handler's controller (`pause()` when `res.write()` returns false, `resume()` on 'drain'); the
 * request body is the IncomingMessage itself, which undici reads with its own back-pressure; and
 * every failure arrives once, in onResponseError, with undici's error code (UND_ERR_CONNECT_TIMEOUT,
 * UND_ERR_HEADERS_TIMEOUT, UND_ERR_SOCKET, ECONNREFUSED...) for upstream-failure.ts to classify.
 * The handler uses the controller API of undici 7 (onRequestStart, onResponseStart...), not the
 * deprecated onConnect/onHeaders one.
 *
 * The same handler serves every kind of upstream (an H1Upstream on raw sockets, or an undici Pool,
 * for HTTP/1.1; an H2Upstream for HTTP/2: all offer the same dispatch shape) and every kind of
 * client (Node's HTTP/1.1 server, the raw HTTP/1.1 path and the proxy's own HTTP/2 stream
 * responses, see client-response.ts).
 *
 * Attempts: an attempt that fails before the response reached the client may be handed back to
 * the proxy's RetryPolicy, which picks another endpoint and dispatches this same exchange again.
 * Each attempt ends its own pick. Callbacks from an abandoned attempt (one whose pod answered 503
 * and was retried) carry that attempt's controller and are ignored.
 *
 * Lean per request: one Exchange object; listeners are module functions that find the exchange
 * through the response (`ClientResponse.exchange`), so nothing is bound or closed over per request.
 */
import diagnostics from 'node:diagnostics_channel';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { errors } from 'undici';
import type { Balancer, Outcome, Pick } from '../balancer/balancer.js';
import type { Clock } from '../balancer/clock.js';
import type { Endpoint } from '../balancer/endpoint.js';
import type { RoutingKey } from '../balancer/hash.js';
import type { ClientRequest, ClientResponse, ProxyResponse } from './client-response.js';
import { endResponse, responseGone, writeTo } from './client-response.js';
import type { ErrorReply } from './error-reply.js';
import { lingerAfterResponse } from './lingering-close.js';
import { sendReply } from './error-reply.js';
import { GRPC_STATUS, sendGrpcStatus } from './grpc.js';
import { isChunked, responseHeaders, responseTrailers } from './headers.js';
import type { UpstreamFailure } from './upstream-failure.js';
import { FAILURES, classifyUpstreamError } from './upstream-failure.js';

export { ProxyResponse } from './client-response.js';

/**
 * Decides whether a failed attempt may be tried again elsewhere (src/proxy/retries.ts). Called
 * only while nothing of the response has reached the client.
 */
export interface RetryPolicy {
  /**
   * `failure` is the attempt's error, or null when the pod answered `status` (5xx). True: the
   * caller may dispatch the request again (the budget has paid for it).
   */
  allows(attempt: RetryAttempt, failure: UpstreamFailure | null, status: number): boolean;
  /** The caller dispatched a retry the policy allowed. */
  retried(): void;
  /** A request (not a retry) is about to be sent: the budget grows with the traffic. */
  requested(): void;
}

/** What a retry decision reads of an attempt, whichever front made it. */
export interface RetryAttempt {
  /** 1 for the first attempt, 2 for the first retry... */
  readonly attempt: number;
  readonly request: { readonly method: string; readonly body: Readable | Buffer | null };
}

/** State the proxy shares with all of its exchanges. */
export interface ExchangeContext {
  readonly clock: Clock;
  readonly log: Logger;
  /** Add `x-shardgate-endpoint` to responses. */
  readonly endpointHeader: boolean;
  /** Set once close() starts: responses then ask the client to close the connection. */
  closing: boolean;
  readonly retries: RetryPolicy | null;
  /**
   * Picks another endpoint for the exchange (excluding `previous` and those tried) and dispatches
   * it there, after `exchange.reattempt()`; false, changing nothing, when none can take it.
   */
  readonly redispatch: (exchange: Exchange, previous: string) => boolean;
  /** Told how every attempt ended (passive health: outlier detection). */
  readonly observe: ((endpoint: string, outcome: Outcome, status: number) => void) | null;
}

/** What the exchange sends to the pod, kept for a retry (routed-request.ts is the proxy's). */
export interface ExchangeRequest {
  readonly path: string;
  readonly method: string;
  readonly headers: string[];
  /** The client's request stream, a buffered body, or null. */
  readonly body: Readable | Buffer | null;
  readonly req: ClientRequest;
  readonly res: ClientResponse;
  readonly key: RoutingKey | null;
  /** The balancer the request was picked by (its subset's, or the plane's): its retries pick from it too. */
  readonly balancer: Balancer;
}

/** What subscribers of the `shardgate:proxy:exchange` diagnostics channel receive, once per pick. */
export interface ExchangeEvent {
  readonly endpoint: string;
  readonly outcome: Outcome;
  /** The pod's status; 0 when it sent none. */
  readonly status: number;
  readonly durationMs: number;
  /** 1 for the first attempt, 2 for the first retry... */
  readonly attempt: number;
}

export const exchangeChannel = diagnostics.channel('shardgate:proxy:exchange');

// One instance for every abort: undici only passes it back to onResponseError.
const CLIENT_GONE = new errors.RequestAbortedError('the client closed the connection');
const RETRIED = new errors.RequestAbortedError('the attempt is retried on another endpoint');
const DEADLINE = new errors.RequestAbortedError('the call\'s deadline passed');

export class Exchange implements Dispatcher.DispatchHandler {
  /** The endpoint's name as it was at pick time (Pick objects are rebound on set updates). */
  endpoint: string;
  readonly request: ExchangeRequest;
  readonly key: RoutingKey | null;
  /** 1, then 2 on the first retry... */
  attempt = 1;
  /** Endpoints tried so far, once there is a retry (null before: no allocation on the common path). */
  tried: Set<Endpoint> | null = null;
  /** Time the last attempt spent at its endpoint, ms (set when its pick ends). */
  upstreamMs = 0;
  /** Response body bytes relayed to the client. */
  bytesOut = 0;
  /** Why the exchange failed (the proxy answered or cut the response), or null. */
  failure: UpstreamFailure | null = null;
  /** The upstream error behind `failure`, when there was one. */
  error: Error | null = null;
  readonly #ctx: ExchangeContext;
  readonly #req: ClientRequest;
  readonly #res: ClientResponse;
  #done: Pick['done'];
  #startedMs: number;
  /** The attempt's pick has not ended yet. */
  #pickOpen = true;
  /** The request has a body, which may be unread when the answer goes out. */
  readonly #hasBody: boolean;
  #controller: Dispatcher.DispatchController | null = null;
  /** An abandoned attempt's controller: its late callbacks are ignored. */
  #stale: Dispatcher.DispatchController | null = null;
  #outcome: Outcome = 'ok';
  #status = 0;
  #ended = false;
  #clientGone = false;
  /** undici has finished with the request: onResponseEnd or onResponseError ran. */
  #upstreamDone = false;
  /** Close the client connection after this response (a later pipelined request was malformed). */
  #closeAfter = false;
  #drainHooked = false;
  #deadline: NodeJS.Timeout | null = null;

  /** `request` is sent to `endpoint`, whose pick `done` ends. */
  constructor(ctx: ExchangeContext, request: ExchangeRequest, endpoint: string, done: Pick['done'], startedMs: number) {
    this.#ctx = ctx;
    this.#req = request.req;
    this.#res = request.res;
    this.request = request;
    this.key = request.key;
    this.endpoint = endpoint;
    this.#done = done;
    this.#startedMs = startedMs;
    this.#hasBody = request.body !== null;
  }

  /** The client request's body stream (for a retry's replay check). */
  get clientRequest(): ClientRequest {
    return this.#req;
  }

  /** Starts the next attempt on another endpoint; the caller dispatches right after. */
  reattempt(endpoint: string, done: Pick['done'], startedMs: number): void {
    this.attempt++;
    this.endpoint = endpoint;
    this.#done = done;
    this.#startedMs = startedMs;
    this.#pickOpen = true;
    this.#controller = null;
    this.#outcome = 'ok';
    this.#status = 0;
    this.#upstreamDone = false;
  }

  /** A gRPC call's deadline: past it the pod request is cancelled and the client gets DEADLINE_EXCEEDED. */
  setDeadline(ms: number): void {
    this.#deadline = setTimeout(onDeadline, ms, this);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (controller === this.#stale) return;
    this.#controller = controller;
    if (this.#clientGone || this.#ended) controller.abort(CLIENT_GONE);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (controller === this.#stale) return;
    // 1xx: Node's server has already answered Expect itself; interim responses end here.
    if (statusCode < 200) return;
    if (this.#clientGone || this.#ended) {
      controller.abort(CLIENT_GONE);
      return;
    }
    const ctx = this.#ctx;
    if (statusCode >= 500 && ctx.retries !== null) {
      this.#endPick('http-5xx', statusCode);
      if (this.#retry(null, statusCode)) {
        this.#stale = controller;
        controller.abort(RETRIED);
        return;
      }
    }
    const coding = headers['transfer-encoding'];
    if (coding !== undefined && !isChunked(coding)) {
      // `gzip, chunked`, say: undici has undone only the chunking, and the client would get the
      // coded bytes as plain content. Not relayable: a bad response (RFC 9112 section 6.1).
      ctx.log.warn({ endpoint: this.endpoint, transferEncoding: coding }, 'response transfer coding from the endpoint cannot be forwarded');
      this.#fail(FAILURES.badResponse);
      controller.abort(CLIENT_GONE);
      return;
    }
    this.#status = statusCode;
    if (statusCode >= 500) this.#outcome = 'http-5xx';
    const res = this.#res;
    try {
      if (res.h2) {
        res.relayHead(statusCode, responseHeaders(headers, ctx.endpointHeader ? this.endpoint : null, false), headers);
      } else {
        // A pod that answers before the upload is complete (413, say) leaves the rest of the body
        // unread: close the connection after this response rather than have Node read it for
        // nothing while the client, waiting for its upload to drain, never sends the next request.
        const unread = this.#hasBody && !this.#req.complete;
        if (unread) lingerAfterResponse(res.socket);
        const close = ctx.closing || this.#closeAfter || unread;
        res.writeHead(statusCode, responseHeaders(headers, ctx.endpointHeader ? this.endpoint : null, close));
      }
    } catch (err) {
      // Node refuses what undici accepted (a field value with forbidden characters, say).
      ctx.log.warn({ endpoint: this.endpoint, err }, 'response head from the endpoint cannot be forwarded');
      this.#fail(FAILURES.badResponse);
      controller.abort(err instanceof Error ? err : CLIENT_GONE);
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#ended || controller === this.#stale) return;
    const res = this.#res;
    if (responseGone(res)) {
      this.#clientGone = true;
      controller.abort(CLIENT_GONE);
      return;
    }
    this.bytesOut += chunk.length;
    if (!writeTo(res, chunk)) {
      controller.pause();
      if (!this.#drainHooked) {
        this.#drainHooked = true;
        if (res.h2) res.resumeOnDrain();
        else res.on('drain', onResponseDrain);
      }
    }
  }

  onResponseEnd(controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    if (controller === this.#stale) return;
    this.#upstreamDone = true;
    if (this.#ended) return;
    const res = this.#res;
    this.#finish(this.#outcome);
    const forwarded = responseTrailers(trailers);
    if (forwarded !== null) {
      try {
        res.addTrailers(forwarded);
      } catch (err) {
        this.#ctx.log.debug({ endpoint: this.endpoint, err }, 'response trailers dropped');
      }
    }
    endResponse(res);
  }

  onResponseError(controller: Dispatcher.DispatchController | undefined, err: Error): void {
    // A refusal before the request had a controller (a closed pool) comes with none: never stale.
    if (controller != null && controller === this.#stale) return;
    this.#upstreamDone = true;
    if (this.#ended) return;
    // A request body cut short by a client that left (Node destroys the request when its
    // connection closes) fails the pod request too, as a socket error: not the pod's fault.
    const req = this.#req;
    const clientGone = this.#clientGone || responseGone(this.#res) || (req.destroyed && !req.complete);
    const failure = clientGone ? FAILURES.cancelled : classifyUpstreamError(err, this.#controller !== null);
    this.error = err;
    const log = this.#ctx.log;
    if (log.isLevelEnabled('debug')) {
      log.debug({ endpoint: this.endpoint, attempt: this.attempt, outcome: failure.outcome, code: (err as { code?: unknown }).code, err: err.message }, 'request to endpoint failed');
    }
    const retries = this.#ctx.retries;
    if (!clientGone && retries !== null && !this.#res.headersSent && failure.reply !== null) {
      this.#endPick(failure.outcome, 0);
      if (this.#retry(failure, 0)) return;
    }
    this.#fail(failure);
  }

  /**
   * The client's response closed: after its end, or because the connection went away. Called by
   * the proxy for every exchange. A pod request still running is aborted; if the pick has not
   * ended, that ends it as cancelled.
   */
  responseClosed(): void {
    if (this.#upstreamDone) return;
    this.#clientGone = true;
    // Without a controller the request has not reached a socket yet: onRequestStart aborts it,
    // or the connect attempt fails, and either way onResponseError ends it.
    this.#controller?.abort(CLIENT_GONE);
  }

  /**
   * The client's request broke its own framing mid-body (Node's parser gave up): answer `reply`
   * and close the connection. The pod request is not aborted here, since aborting destroys the
   * request stream and with it the socket before the answer is out; `responseClosed()` aborts it
   * once the answer has gone.
   */
  abandon(reply: ErrorReply): void {
    if (this.#ended) return;
    this.#finish('cancelled');
    sendReply(this.#res, reply, this.#ctx.endpointHeader ? this.endpoint : null, true);
  }

  /**
   * A request pipelined behind this one was malformed: finish this response, then close the
   * connection, so the bad bytes cost only their own request.
   */
  closeAfter(): void {
    const res = this.#res;
    if (res.h2) return;
    if (res.headersSent) res.once('finish', endConnection);
    else this.#closeAfter = true;
  }

  /** The client drained what it was sent: read on from the pod. */
  resume(): void {
    if (!this.#ended) this.#controller?.resume();
  }

  /** The deadline passed: cancel the pod request, answer DEADLINE_EXCEEDED (or end the stream so). */
  expire(): void {
    this.#deadline = null;
    if (this.#ended) return;
    const res = this.#res;
    if (res.h2 && res.grpc && res.headersSent) {
      this.#finish('timeout');
      sendGrpcStatus(res, GRPC_STATUS.DEADLINE_EXCEEDED, 'the call\'s deadline (grpc-timeout) passed', null);
    } else {
      this.#fail(FAILURES.deadline);
    }
    this.#controller?.abort(DEADLINE);
  }

  #fail(failure: UpstreamFailure): void {
    this.failure = failure;
    this.#finish(failure.outcome);
    const res = this.#res;
    if (res.h2 && res.grpc && failure.reply !== null && !res.writableEnded) {
      // A gRPC client learns of a failure from a status, also mid-response.
      sendReply(res, failure.reply, this.#ctx.endpointHeader ? this.endpoint : null, false);
      return;
    }
    if (res.headersSent || failure.reply === null) {
      // A response cut short must not look complete to the client: close its connection (for
      // HTTP/2, reset its stream).
      res.destroy();
      return;
    }
    const unread = this.#hasBody && !this.#req.complete;
    sendReply(res, failure.reply, this.#ctx.endpointHeader ? this.endpoint : null, unread || this.#ctx.closing);
  }

  /** Tries the request again elsewhere if the policy allows and another endpoint can take it. */
  #retry(failure: UpstreamFailure | null, status: number): boolean {
    const ctx = this.#ctx;
    const retries = ctx.retries;
    if (retries === null || !retries.allows(this, failure, status)) return false;
    if (!ctx.redispatch(this, this.endpoint)) return false;
    retries.retried();
    return true;
  }

  /** Ends the current attempt's pick (once), telling the balancer and any subscriber how it went. */
  #endPick(outcome: Outcome, status: number): void {
    if (!this.#pickOpen) return;
    this.#pickOpen = false;
    this.#done(this.#startedMs, outcome);
    this.upstreamMs = this.#ctx.clock.nowMs() - this.#startedMs;
    this.#ctx.observe?.(this.endpoint, outcome, status);
    if (exchangeChannel.hasSubscribers) {
      const event: ExchangeEvent = { endpoint: this.endpoint, outcome, status, durationMs: this.upstreamMs, attempt: this.attempt };
      exchangeChannel.publish(event);
    }
  }

  /** The one place the exchange ends. */
  #finish(outcome: Outcome): void {
    this.#ended = true;
    this.#endPick(outcome, this.#status);
    if (this.#deadline !== null) {
      clearTimeout(this.#deadline);
      this.#deadline = null;
    }
  }
}

function onResponseDrain(this: ProxyResponse): void {
  this.exchange?.resume();
}

function onDeadline(exchange: Exchange): void {
  exchange.expire();
}

function endConnection(this: ProxyResponse): void {
  this.req.socket.end();
}
