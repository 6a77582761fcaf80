/**
 * The error a request to a managed service fails with when no endpoint can take it, with the code
 * and words the proxy answers 503 with (SG_ERR_NO_ENDPOINT naming the balancer's reason,
 * SG_ERR_NO_SUBSET naming the labels). fetch rejects with it as the `cause` of its TypeError;
 * undici.request rejects with it. The ones for the balancer's reasons are built once per service
 * and shared, as undici shares its abort errors: failing costs no allocation.
 */
import type { NoPickReason } from '../balancer/balancer.js';
import type { ProxyErrorCode } from '../errors.js';
import { NO_ENDPOINT_REPLIES } from '../proxy/error-reply.js';

export class ShardRoutingError extends Error {
  readonly code: Extract<ProxyErrorCode, 'SG_ERR_NO_ENDPOINT' | 'SG_ERR_NO_SUBSET'>;
  /** The service's name as configured. */
  readonly service: string;
  /** The balancer's reason, or `no-subset`. */
  readonly reason: NoPickReason | 'no-subset';

  constructor(service: string, reason: NoPickReason | 'no-subset', message: string) {
    super(`${service}: ${message}`);
    this.name = 'ShardRoutingError';
    this.code = reason === 'no-subset' ? 'SG_ERR_NO_SUBSET' : 'SG_ERR_NO_ENDPOINT';
    this.service = service;
    this.reason = reason;
  }
}

/** One error per reason for `service`, built when the service is opened. */
export function noEndpointErrors(service: string): Readonly<Record<NoPickReason, ShardRoutingError>> {
  const out = {} as Record<NoPickReason, ShardRoutingError>;
  for (const reason of Object.keys(NO_ENDPOINT_REPLIES) as NoPickReason[]) {
    out[reason] = new ShardRoutingError(service, reason, NO_ENDPOINT_REPLIES[reason].message);
  }
  return Object.freeze(out);
}
