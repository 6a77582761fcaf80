/**
 * One request to a managed service across its attempts: the undici dispatch handler between the
 * endpoint's pool and the caller's handler. It ends each attempt's pick exactly once, with the
 * attempt's outcome (in-flight counts, latency, so that bounded loads, least-request and peak-EWMA
 * see the client's own load), tells the data plane how the attempt went (passive health, and a DNS
 * re-resolution after a failed connect), and, when the retry interceptor made it, tries a failed
 * attempt again on the key's next owner under the proxy's rules and budget (src/proxy/retries.ts):
 * it re-enters the pick interceptor with itself as the handler, and the pick leaves out the
 * endpoints tried.
 *
 * Callbacks of an abandoned attempt (a 5xx answer retried elsewhere) carry that attempt's
 * controller and are ignored. The caller's handler sees `onRequestStart` once per attempt, as
 * undici's own retry handler does, so its abort always reaches the attempt under way; everything
 * else it sees once. An attempt the caller aborted (its controller says so) is `cancelled` and is
 * never retried.
 *
 * One object per request; listeners are methods, nothing is bound or closed over per request.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { errors } from 'undici';
import type { Balancer, Outcome, Pick } from '../balancer/balancer.js';
import type { Endpoint } from '../balancer/endpoint.js';
import type { RoutingKey } from '../balancer/hash.js';
import type { DataPlane } from '../dataplane/data-plane.js';
import type { RetryAttempt } from '../proxy/exchange.js';
import type { UpstreamFailure } from '../proxy/upstream-failure.js';
import { FAILURES, classifyUpstreamError } from '../proxy/upstream-failure.js';

/** What a routed request needs of its service. */
export interface RoutedService {
  readonly plane: DataPlane;
}

type Controller = Dispatcher.DispatchController;
type Handler = Dispatcher.DispatchHandler;

// One instance for every abandoned attempt: undici only hands it back to onResponseError.
const RETRIED = new errors.RequestAbortedError('the attempt is retried on another endpoint');
/** A body held in memory (a string or bytes): the retry rules take it as sendable again. */
const IN_MEMORY = Buffer.alloc(0);

export class RoutedRequest implements Handler, RetryAttempt {
  readonly service: RoutedService;
  readonly opts: Dispatcher.DispatchOptions;
  /** The balancer of the first pick (a subset's or the plane's), for the retries. */
  balancer: Balancer | null = null;
  key: RoutingKey | null = null;
  /** 0 before the first pick, 1 during the first attempt, 2 during the first retry... */
  attempt = 0;
  /** Endpoints tried, once there is a retry (null before: nothing allocated on the common path). */
  tried: Set<Endpoint> | null = null;
  /** The current attempt's endpoint, by name (Pick objects are rebound when the set changes). */
  endpoint = '';
  readonly #handler: Handler;
  /** The chain under the retry interceptor, for a retry; null when retries are off. */
  readonly #redispatch: Dispatcher.Dispatch | null;
  #done: Pick['done'] | null = null;
  #startedMs = 0;
  #controller: Controller | null = null;
  #stale: Controller | null = null;
  #status = 0;
  /** The caller's handler has the response head: no retry from here on. */
  #responded = false;

  constructor(service: RoutedService, opts: Dispatcher.DispatchOptions, handler: Handler, redispatch: Dispatcher.Dispatch | null) {
    this.service = service;
    this.opts = opts;
    this.#handler = handler;
    this.#redispatch = redispatch;
  }

  /** What the retry rules read (built only when an attempt failed). */
  get request(): RetryAttempt['request'] {
    return { method: this.opts.method, body: replayView(this.opts.body) };
  }

  /** The pick interceptor chose `pick` for the next attempt, about to be dispatched. */
  begin(pick: Pick, nowMs: number): void {
    this.attempt++;
    this.endpoint = pick.endpoint.name;
    this.#done = pick.done;
    this.#startedMs = nowMs;
    this.#controller = null;
    this.#status = 0;
  }

  /**
   * No endpoint could take the request. The first attempt fails with `error`; a retry that finds
   * none leaves the attempt count unchanged, and the failed attempt's own answer or error stands.
   */
  unrouted(error: Error): void {
    if (this.attempt === 0) this.#handler.onResponseError?.(null as unknown as Controller, error);
  }

  onRequestStart(controller: Controller, context: unknown): void {
    if (controller === this.#stale) return;
    this.#controller = controller;
    this.#handler.onRequestStart?.(controller, context);
  }

  onRequestUpgrade(controller: Controller, statusCode: number, headers: IncomingHttpHeaders, socket: Duplex): void {
    if (controller === this.#stale) return;
    this.#responded = true;
    this.#endPick('ok', statusCode);
    this.#handler.onRequestUpgrade?.(controller, statusCode, headers, socket);
  }

  onResponseStart(controller: Controller, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    if (controller === this.#stale) return;
    if (statusCode >= 500 && !this.#responded && this.#redispatch !== null) {
      this.#endPick('http-5xx', statusCode);
      this.#stale = controller;
      if (this.#retry(null, statusCode)) {
        controller.abort(RETRIED);
        return;
      }
      this.#stale = null;
    }
    this.#status = statusCode;
    if (statusCode >= 200) this.#responded = true;
    this.#handler.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (controller === this.#stale) return;
    this.#handler.onResponseData?.(controller, chunk);
  }

  onResponseEnd(controller: Controller, trailers: IncomingHttpHeaders): void {
    if (controller === this.#stale) return;
    this.#endPick(this.#status >= 500 ? 'http-5xx' : 'ok', this.#status);
    this.#handler.onResponseEnd?.(controller, trailers);
  }

  onResponseError(controller: Controller | null | undefined, err: Error): void {
    if (controller !== null && controller !== undefined && controller === this.#stale) return;
    // The caller aborted (through the controller it was given): nobody is listening, no retry.
    const failure = controller?.aborted === true ? FAILURES.cancelled : classifyUpstreamError(err, this.#controller !== null);
    this.#endPick(failure.outcome, 0);
    if (!this.#responded && failure.reply !== null && this.#redispatch !== null) {
      if (controller !== null && controller !== undefined) this.#stale = controller;
      if (this.#retry(failure, 0)) return;
    }
    this.#handler.onResponseError?.(controller as Controller, err);
  }

  /** Sends the request again through the pick interceptor when the rules allow and an endpoint takes it. */
  #retry(failure: UpstreamFailure | null, status: number): boolean {
    const plane = this.service.plane;
    const retries = plane.retries;
    if (retries === null || !retries.allows(this, failure, status)) return false;
    const tried = (this.tried ??= new Set());
    const previous = plane.board.load(this.endpoint);
    if (previous !== undefined) tried.add(previous.endpoint);
    const attempt = this.attempt;
    this.#redispatch!(this.opts, this);
    if (this.attempt === attempt) return false;
    retries.retried();
    return true;
  }

  /** Ends the current attempt's pick, once, and reports its outcome to the plane. */
  #endPick(outcome: Outcome, status: number): void {
    const done = this.#done;
    if (done === null) return;
    this.#done = null;
    done(this.#startedMs, outcome);
    this.service.plane.observe(this.endpoint, outcome, status);
  }
}

/**
 * The body as the retry rules see it: none, one held in memory (sendable again), or a stream,
 * which can be sent again only if nothing of it was read (the rules ask only when the request
 * provably never left). fetch's bodies are async iterables, read only once a connection is up.
 */
function replayView(body: unknown): Readable | Buffer | null {
  if (body === null || body === undefined) return null;
  if (typeof body === 'string' || body instanceof Uint8Array) return IN_MEMORY;
  return body as Readable;
}
