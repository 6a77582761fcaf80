/**
 * The dispatch stage: a routed request (routed-request.ts) gets its pick and goes to the picked
 * endpoint's upstream as an Exchange, or waits for capacity in its generation's queue, or is
 * refused; a failed attempt the retry rules allow is sent again to the key's next owner. Both
 * fronts end here, so the pick, the queue and the retries are one code.
 */
import type { Pick } from '../balancer/balancer.js';
import { NO_ENDPOINT_REPLIES, REPLIES } from './error-reply.js';
import { sendContinue } from './client-response.js';
import { Exchange } from './exchange.js';
import type { ProxyState } from './proxy-state.js';
import type { RouteGeneration } from './route-generation.js';
import type { RoutedRequest } from './routed-request.js';

export class RequestDispatch {
  readonly #state: ProxyState;
  #drainScheduled = false;
  readonly #drainQueue = (): void => this.#drain();

  constructor(state: ProxyState) {
    this.#state = state;
  }

  /** Picks an endpoint for `r` and forwards it, queues it for capacity, or refuses it. */
  pickAndForward(r: RoutedRequest): void {
    const pick = r.balancer.pick(r.key, null);
    if (pick.kind === 'none') {
      if (pick.reason === 'saturated' && r.generation.queue.offer(r, this.#state.clock.nowMs())) return;
      this.#state.refuse(r.res, NO_ENDPOINT_REPLIES[pick.reason], r.bodyUnread);
      return;
    }
    this.#forward(r, pick);
  }

  /** Sends a picked request to its endpoint. */
  #forward(r: RoutedRequest, pick: Pick): void {
    const g = r.generation;
    const startedMs = this.#state.clock.nowMs();
    // Read at once: Pick objects are shared and rebound when the set changes.
    const endpoint = pick.endpoint.name;
    const upstream = g.pools.get(endpoint);
    if (upstream === undefined) {
      // The balancer and the pools are updated together; an endpoint without a pool is a bug.
      pick.done(startedMs, 'cancelled');
      this.#state.log.error({ endpoint }, 'picked endpoint has no upstream pool');
      this.#state.refuse(r.res, REPLIES.internal, r.bodyUnread);
      return;
    }
    const res = r.res;
    const exchange = new Exchange(g.ctx, r, endpoint, pick.done, startedMs);
    g.ctx.retries?.requested();
    res.exchange = exchange;
    if (!res.h2 && res.closeWhenDone) exchange.closeAfter();
    if (r.deadlineMs !== null) exchange.setDeadline(r.deadlineMs);
    // The return value is undici's back-pressure signal; with no connection limit the pool
    // always has or opens a connection, so there is no queue to wait on. Concurrency per
    // endpoint is bounded by the board's in-flight limit where one is set (requests beyond it
    // wait in the generation's queue), and by client connections and streams otherwise.
    const body = r.body;
    if (body !== null && !Buffer.isBuffer(body)) {
      this.#state.bodyTimeouts.watch(r.req, res);
      sendContinue(res);
    }
    upstream.pool.dispatch(r, exchange);
  }

  /**
   * Capacity came back (a request to a full endpoint ended, an endpoint returned, a new set):
   * serve waiting requests in order while picks succeed. Run as a microtask, never inside the
   * `done()` that reported it.
   */
  scheduleDrain(): void {
    if (this.#drainScheduled) return;
    this.#drainScheduled = true;
    queueMicrotask(this.#drainQueue);
  }

  #drain(): void {
    this.#drainScheduled = false;
    this.#drainGeneration(this.#state.gen);
    for (const g of this.#state.retiring) this.#drainGeneration(g);
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
        this.#state.refuse(w.res, NO_ENDPOINT_REPLIES[pick.reason], w.bodyUnread);
        continue;
      }
      if (w.deadlineMs !== null) w.deadlineMs = Math.max(1, w.deadlineMs - (this.#state.clock.nowMs() - w.sinceMs));
      this.#forward(w, pick);
    }
  }

  /**
   * Dispatches a retried exchange to another endpoint: the key's next owner in its preference
   * order (the endpoints tried are excluded), or any other endpoint for a keyless request.
   * Returns false, changing nothing, when no other endpoint can take it.
   */
  redispatch(g: RouteGeneration, exchange: Exchange, previous: string): boolean {
    const tried = (exchange.tried ??= new Set());
    const prev = g.plane.board.load(previous);
    if (prev !== undefined) tried.add(prev.endpoint);
    const pick = exchange.request.balancer.pick(exchange.key, tried);
    if (pick.kind === 'none') return false;
    const upstream = g.pools.get(pick.endpoint.name);
    if (upstream === undefined) {
      pick.done(this.#state.clock.nowMs(), 'cancelled');
      return false;
    }
    tried.add(pick.endpoint);
    exchange.reattempt(pick.endpoint.name, pick.done, this.#state.clock.nowMs());
    upstream.pool.dispatch(exchange.request, exchange);
    return true;
  }
}
