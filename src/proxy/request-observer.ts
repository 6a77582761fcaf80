/**
 * Who hears of each request the proxy took (metrics, the access log, the 5xx warnings:
 * src/metrics/request-recorder.ts). Called once per request, when its client response closes,
 * whether the request was forwarded (it has an exchange) or answered by the proxy itself
 * (`res.reply` names the refusal), or its client left first. WebSocket tunnels are not requests
 * here.
 *
 * Synchronous, on the request path: an observer reads what the response and the exchange hold
 * (`res.startedMs`, `res.reply`, `exchange.attempt`, `exchange.upstreamMs`, `exchange.bytesOut`,
 * `exchange.failure`, `exchange.error`), must not throw, and should allocate nothing for a request
 * it does not log.
 */
import type { ClientResponse } from './client-response.js';
import type { Exchange } from './exchange.js';

export interface RequestObserver {
  ended(res: ClientResponse, exchange: Exchange | null): void;
}
