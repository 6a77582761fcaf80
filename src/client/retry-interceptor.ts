/**
 * The interceptor that retries, composed over the pick interceptor: a request to a managed
 * service whose config allows retries (`proxy.retries`, the proxy's rules and budget) is wrapped
 * in a ControllerRequest that holds the chain below; a failed attempt re-enters that chain, so the
 * pick interceptor picks the key's next owner, leaving out the endpoints tried. Other requests
 * pass untouched.
 */
import type { Dispatcher } from 'undici';
import { ControllerRequest } from './controller-request.js';
import type { ServiceTable } from './service-table.js';

export function retryInterceptor(table: ServiceTable): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) =>
    function shardRetry(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
      const service = table.get(opts.origin);
      if (service === undefined || service.plane.retries === null) return dispatch(opts, handler);
      return dispatch(opts, new ControllerRequest(service, opts, handler, dispatch));
    };
}
