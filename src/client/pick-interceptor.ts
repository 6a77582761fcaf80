/**
 * The interceptor that routes: a request whose origin is a managed service gets a pick of its own
 * (the key's owner, or the keyless balancer's choice) and goes to that endpoint's pool; any other
 * request goes on down the chain (the Agent) untouched. Built as undici 7 builds its own
 * interceptors (`dispatch => (opts, handler) => ...`), for `Dispatcher.compose`.
 *
 * A request that the retry interceptor above already wrapped arrives with its ControllerRequest as
 * the handler, on its first attempt and on every retry, and is picked again with the endpoints it
 * tried left out; otherwise the request is wrapped here, without retries.
 */
import type { Dispatcher } from 'undici';
import { ControllerRequest } from './controller-request.js';
import type { ServiceTable } from './service-table.js';

export function pickInterceptor(table: ServiceTable): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) =>
    function shardPick(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
      const service = table.get(opts.origin);
      if (service === undefined) return dispatch(opts, handler);
      const req = handler instanceof ControllerRequest && handler.service === service ? handler : new ControllerRequest(service, opts, handler, null);
      return service.route(req);
    };
}
