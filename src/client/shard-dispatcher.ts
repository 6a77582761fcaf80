/**
 * The dispatcher: an undici Agent composed with the retry and pick interceptors
 * (`agent.compose(pick, retry)`: the last runs first), wrapped so that closing it also closes every
 * managed service (its discovery, its pools, its data plane). Handlers of undici's controller API
 * (from interceptors composed over this dispatcher) take the composed chain; handlers of the
 * callback API, which request(), stream() and both fetches still use, are routed by the same pick
 * without the chain's conversions, and other origins go to the Agent untouched. A Dispatcher like any other: give it
 * to fetch as `dispatcher`, to `setGlobalDispatcher`, or to undici's request, stream and pipeline;
 * `compose()` adds interceptors over it. Node 20's own fetch (the undici bundled with Node) calls
 * `dispatch` with handlers of the older callback form, which the composed chain adapts.
 *
 * Built by createShardDispatcher, once every service has its first endpoint set.
 */
import type { Agent } from 'undici';
import { Dispatcher, errors } from 'undici';
import type { DataPlane } from '../dataplane/data-plane.js';
import { pickInterceptor } from './pick-interceptor.js';
import { retryInterceptor } from './retry-interceptor.js';
import type { ServiceTable } from './service-table.js';

export class ShardDispatcher extends Dispatcher {
  readonly #agent: Agent;
  readonly #table: ServiceTable;
  readonly #dispatch: Dispatcher.Dispatch;
  #closing: Promise<void> | null = null;

  /** @param agent for requests to origins no service names; closed with the dispatcher */
  constructor(agent: Agent, table: ServiceTable) {
    super();
    this.#agent = agent;
    this.#table = table;
    const composed = agent.compose(pickInterceptor(table), retryInterceptor(table));
    this.#dispatch = composed.dispatch.bind(composed);
  }

  /** The names of the managed services, as configured. */
  get services(): readonly string[] {
    return this.#table.services.map((s) => s.name);
  }

  /**
   * The data plane of a managed service (its current endpoint set, its load board, its balancer),
   * by the name it was configured with; undefined for another name.
   */
  plane(name: string): DataPlane | undefined {
    return this.#table.byName(name)?.plane;
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (this.#closing !== null) {
      // As undici's own dispatchers refuse once closed; the handler may be of either form.
      const closed = new errors.ClientClosedError();
      if (handler.onResponseError !== undefined) handler.onResponseError(null as unknown as Dispatcher.DispatchController, closed);
      else handler.onError?.(closed);
      return false;
    }
    if (handler.onRequestStart !== undefined) return this.#dispatch(opts, handler);
    // A callback handler (request(), stream(), fetch, Node's own fetch) is routed, or passed to the
    // Agent, as it is: the chain would convert it to a controller handler and every response back
    // (legacy-request.ts says what that costs).
    const service = this.#table.get(opts.origin);
    return service === undefined ? this.#agent.dispatch(opts, handler) : service.dispatchLegacy(opts, handler);
  }

  /**
   * Stops discovery and lets requests in flight finish (for at most each service's
   * `proxy.timeouts.shutdownGraceMs`), then closes every connection. Idempotent.
   */
  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    const done = this.#end(false);
    if (callback === undefined) return done;
    done.then(callback, callback);
  }

  /** Stops discovery and closes every connection at once: requests in flight fail. Idempotent. */
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null): Promise<void>;
  override destroy(): Promise<void>;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const callback = typeof a === 'function' ? a : b;
    const done = this.#end(true);
    if (callback === undefined) return done;
    done.then(callback, callback);
  }

  #end(force: boolean): Promise<void> {
    if (this.#closing !== null && !force) return this.#closing;
    const services = this.#table.services.map((s) => s.close(force));
    const agent = force ? this.#agent.destroy() : this.#agent.close();
    this.#closing = Promise.all([...services, agent]).then(() => undefined);
    return this.#closing;
  }
}
