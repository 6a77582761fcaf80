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
 * Lean per request: one Exchange object; listeners are module functions that find the exchange
 * through the response (`ProxyResponse.exchange`), so nothing is bound or closed over per request.
 */
import diagnostics from 'node:diagnostics_channel';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { errors } from 'undici';
import type { Outcome, Pick } from '../balancer/balancer.js';
import type { Clock } from '../balancer/clock.js';
import type { ErrorReply } from './error-reply.js';
import { sendReply } from './error-reply.js';
import { isChunked, responseHeaders, responseTrailers } from './headers.js';
import type { UpstreamFailure } from './upstream-failure.js';
import { FAILURES, classifyUpstreamError } from './upstream-failure.js';

/** State the proxy shares with all of its exchanges. */
export interface ExchangeContext {
  readonly clock: Clock;
  readonly log: Logger;
  /** Add `x-shardgate-endpoint` to responses. */
  readonly endpointHeader: boolean;
  /** Set once close() starts: responses then ask the client to close the connection. */
  closing: boolean;
}

/** What subscribers of the `shardgate:proxy:exchange` diagnostics channel receive, once per pick. */
export interface ExchangeEvent {
  readonly endpoint: string;
  readonly outcome: Outcome;
  /** The pod's status; 0 when it sent none. */
  readonly status: number;
  readonly durationMs: number;
}

export const exchangeChannel = diagnostics.channel('shardgate:proxy:exchange');

/** The server's response class: it can point at its exchange, which module listeners need. */
export class ProxyResponse extends ServerResponse<IncomingMessage> {
  exchange: Exchange | null = null;
  /** The proxy has handled this response's close (see ShardingProxy#responseClosed). */
  closeSeen = false;
  /**
   * A request pipelined behind this one was malformed while this one still waited in Node's
   * queue: close the connection after this response.
   */
  closeWhenDone = false;
}

// One instance for every abort: undici only passes it back to onResponseError.
const CLIENT_GONE = new errors.RequestAbortedError('the client closed the connection');

export class Exchange implements Dispatcher.DispatchHandler {
  /** The endpoint's name as it was at pick time (Pick objects are rebound on set updates). */
  readonly endpoint: string;
  readonly #ctx: ExchangeContext;
  readonly #req: IncomingMessage;
  readonly #res: ProxyResponse;
  readonly #done: Pick['done'];
  readonly #startedMs: number;
  /** The request has a body, which may be unread when the answer goes out. */
  readonly #hasBody: boolean;
  #controller: Dispatcher.DispatchController | null = null;
  #outcome: Outcome = 'ok';
  #status = 0;
  #ended = false;
  #clientGone = false;
  /** undici has finished with the request: onResponseEnd or onResponseError ran. */
  #upstreamDone = false;
  /** Close the client connection after this response (a later pipelined request was malformed). */
  #closeAfter = false;
  #drainHooked = false;

  constructor(ctx: ExchangeContext, req: IncomingMessage, res: ProxyResponse, endpoint: string, done: Pick['done'], startedMs: number, hasBody: boolean) {
    this.#ctx = ctx;
    this.#req = req;
    this.#res = res;
    this.endpoint = endpoint;
    this.#done = done;
    this.#startedMs = startedMs;
    this.#hasBody = hasBody;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#clientGone || this.#ended) controller.abort(CLIENT_GONE);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    // 1xx: Node's server has already answered Expect itself; interim responses end here.
    if (statusCode < 200) return;
    if (this.#clientGone || this.#ended) {
      controller.abort(CLIENT_GONE);
      return;
    }
    const ctx = this.#ctx;
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
    try {
      // A pod that answers before the upload is complete (413, say) leaves the rest of the body
      // unread: close the connection after this response rather than have Node read it for nothing
      // while the client, waiting for its upload to drain, never sends the next request.
      const close = ctx.closing || this.#closeAfter || (this.#hasBody && !this.#req.complete);
      this.#res.writeHead(statusCode, responseHeaders(headers, ctx.endpointHeader ? this.endpoint : null, close));
    } catch (err) {
      // Node refuses what undici accepted (a field value with forbidden characters, say).
      ctx.log.warn({ endpoint: this.endpoint, err }, 'response head from the endpoint cannot be forwarded');
      this.#fail(FAILURES.badResponse);
      controller.abort(err instanceof Error ? err : CLIENT_GONE);
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#ended) return;
    const res = this.#res;
    if (res.destroyed) {
      this.#clientGone = true;
      controller.abort(CLIENT_GONE);
      return;
    }
    if (!res.write(chunk)) {
      controller.pause();
      if (!this.#drainHooked) {
        this.#drainHooked = true;
        res.on('drain', onResponseDrain);
      }
    }
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
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
    res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    this.#upstreamDone = true;
    if (this.#ended) return;
    // A request body cut short by a client that left (Node destroys the request when its
    // connection closes) fails the pod request too, as a socket error: not the pod's fault.
    const req = this.#req;
    const clientGone = this.#clientGone || this.#res.destroyed || (req.destroyed && !req.complete);
    const failure = clientGone ? FAILURES.cancelled : classifyUpstreamError(err, this.#controller !== null);
    const log = this.#ctx.log;
    if (log.isLevelEnabled('debug')) {
      log.debug({ endpoint: this.endpoint, outcome: failure.outcome, code: (err as { code?: unknown }).code, err: err.message }, 'request to endpoint failed');
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
    if (this.#res.headersSent) this.#res.once('finish', endConnection);
    else this.#closeAfter = true;
  }

  /** The client drained what it was sent: read on from the pod. */
  resume(): void {
    if (!this.#ended) this.#controller?.resume();
  }

  #fail(failure: UpstreamFailure): void {
    this.#finish(failure.outcome);
    const res = this.#res;
    if (res.headersSent || failure.reply === null) {
      // A response cut short must not look complete to the client: close its connection.
      res.destroy();
      return;
    }
    const unread = this.#hasBody && !this.#req.complete;
    sendReply(res, failure.reply, this.#ctx.endpointHeader ? this.endpoint : null, unread || this.#ctx.closing);
  }

  /** The one place the pick ends. */
  #finish(outcome: Outcome): void {
    this.#ended = true;
    const ctx = this.#ctx;
    this.#done(this.#startedMs, outcome);
    if (exchangeChannel.hasSubscribers) {
      const event: ExchangeEvent = { endpoint: this.endpoint, outcome, status: this.#status, durationMs: ctx.clock.nowMs() - this.#startedMs };
      exchangeChannel.publish(event);
    }
  }
}

function onResponseDrain(this: ProxyResponse): void {
  this.exchange?.resume();
}

function endConnection(this: ProxyResponse): void {
  this.req.socket.end();
}
