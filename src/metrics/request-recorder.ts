/**
 * The proxy's RequestObserver in `shardgate serve`: each finished request is counted by the
 * thread's metrics (and its key by the hot-key sketch), offered to the access log, and, if it is
 * a 502, 503 or 504, to the gateway-error log. One clock read per request, shared by all three.
 */
import type { Clock } from '../balancer/clock.js';
import type { ClientResponse } from '../proxy/client-response.js';
import type { Exchange } from '../proxy/exchange.js';
import type { RequestObserver } from '../proxy/request-observer.js';
import type { AccessLog } from './access-log.js';
import type { GatewayErrorLog } from './gateway-error-log.js';
import type { ThreadMetrics } from './thread-metrics.js';

export class RequestRecorder implements RequestObserver {
  readonly metrics: ThreadMetrics;
  readonly accessLog: AccessLog;
  readonly gatewayErrors: GatewayErrorLog;
  readonly #clock: Clock;

  constructor(clock: Clock, metrics: ThreadMetrics, accessLog: AccessLog, gatewayErrors: GatewayErrorLog) {
    this.#clock = clock;
    this.metrics = metrics;
    this.accessLog = accessLog;
    this.gatewayErrors = gatewayErrors;
  }

  ended(res: ClientResponse, exchange: Exchange | null): void {
    const now = this.#clock.nowMs();
    this.metrics.record(res, exchange, now);
    this.accessLog.record(res, exchange, now);
    if (res.statusCode >= 502 && res.statusCode <= 504) this.gatewayErrors.record(res, exchange);
  }
}
