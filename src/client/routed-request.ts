/**
 * One request to a managed service across its attempts, whichever handler API carries it: what
 * both handlers (controller-request.ts for undici's controller API, legacy-request.ts for the
 * callback API that request() and fetch still use) share. It ends each attempt's pick exactly
 * once, with the attempt's outcome (in-flight counts and latency, so that bounded loads,
 * least-request and peak-EWMA see the client's own load), tells the data plane how the attempt
 * went (passive health, and a DNS re-resolution after a failed connect), and decides whether a
 * failed attempt is tried again on the key's next owner, under the proxy's rules and budget
 * (src/proxy/retries.ts): the retry goes back through the pick, which leaves out the endpoints
 * tried.
 *
 * One object per request; nothing is bound or closed over per attempt.
 */
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
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
  /** Picks an endpoint for the request's next attempt and dispatches it there. */
  route(req: RoutedRequest & Dispatcher.DispatchHandler): boolean;
}

/** A body held in memory (a string or bytes): the retry rules take it as sendable again. */
const IN_MEMORY = Buffer.alloc(0);

export abstract class RoutedRequest implements RetryAttempt {
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
  /** The current attempt reached a connected socket. */
  protected started = false;
  /** The current attempt's response status; 0 before one. */
  protected status = 0;
  /** The caller's handler has a final response head: no retry from here on. */
  protected responded = false;
  #done: Pick['done'] | null = null;
  #startedMs = 0;

  constructor(service: RoutedService, opts: Dispatcher.DispatchOptions) {
    this.service = service;
    this.opts = opts;
  }

  /** What the retry rules read (built only when an attempt failed). */
  get request(): RetryAttempt['request'] {
    return { method: this.opts.method, body: replayView(this.opts.body) };
  }

  /** The pick chose `pick` for the next attempt, about to be dispatched. */
  begin(pick: Pick, nowMs: number): void {
    this.attempt++;
    this.endpoint = pick.endpoint.name;
    this.#done = pick.done;
    this.#startedMs = nowMs;
    this.started = false;
    this.status = 0;
  }

  /**
   * No endpoint could take the request. The first attempt fails with `error`; a retry that finds
   * none leaves the attempt count unchanged, and the failed attempt's own answer or error stands.
   */
  unrouted(error: Error): void {
    if (this.attempt === 0) this.fail(error);
  }

  /** Tells the caller's handler that the request failed. */
  protected abstract fail(error: Error): void;

  /** Failed attempts of this request may be sent again (retries are on for it). */
  protected abstract get retryable(): boolean;

  /** Sends the request again through the pick, synchronously. */
  protected abstract redispatch(): void;

  /**
   * The pod answered `status` >= 500 before anything reached the caller: the pick ends, and true
   * when the request went to another endpoint (the caller abandons this attempt).
   */
  protected retryAnswer(status: number): boolean {
    this.#endPick('http-5xx', status);
    return this.#retry(null, status);
  }

  /**
   * The attempt failed with `err` (`aborted`: by the caller): the pick ends with the failure's
   * outcome, and true when the request went to another endpoint; false: tell the caller.
   */
  protected retryFailure(err: Error, aborted: boolean): boolean {
    const failure = aborted ? FAILURES.cancelled : classifyUpstreamError(err, this.started);
    this.#endPick(failure.outcome, 0);
    return !this.responded && failure.reply !== null && this.#retry(failure, 0);
  }

  /** The attempt ended with a whole response (or an upgrade): its pick ends. */
  protected finished(): void {
    this.#endPick(this.status >= 500 ? 'http-5xx' : 'ok', this.status);
  }

  /** Sends the request again when the rules allow and an endpoint takes it. */
  #retry(failure: UpstreamFailure | null, status: number): boolean {
    const plane = this.service.plane;
    const retries = plane.retries;
    if (retries === null || !this.retryable || !retries.allows(this, failure, status)) return false;
    const tried = (this.tried ??= new Set());
    const previous = plane.board.load(this.endpoint);
    if (previous !== undefined) tried.add(previous.endpoint);
    const attempt = this.attempt;
    this.redispatch();
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
