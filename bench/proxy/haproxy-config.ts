/**
 * HAProxy configuration equivalent to a shardgate serve: keep-alive on both sides with idle server
 * connections shared by all clients (`http-reuse always`, as shardgate's per-endpoint pools are),
 * the same timeouts, the same forwarding headers, no logging. Hashing is `balance hdr(x-key)` on a
 * consistent ring with `hash-balance-factor 125`: HAProxy's bounded loads, c = 1.25.
 */
import { haproxyConfigText } from '../common/haproxy-config.js';
import type { PodAddress } from '../common/pod-messages.js';
import type { BalanceMode } from './scenario.js';
import { BOUNDED_LOAD, CLIENT_HEADERS_TIMEOUT_S, CLIENT_IDLE_TIMEOUT_S, CONNECT_TIMEOUT_S, KEY_HEADER, UPSTREAM_TIMEOUT_S } from './scenario.js';

export interface HaproxyOptions {
  /** nbthread. */
  readonly threads: number;
  readonly mode: BalanceMode;
  readonly pods: readonly PodAddress[];
  readonly h1Port: number;
  /** A second listener that speaks h2c with prior knowledge (`proto h2`). */
  readonly h2Port: number;
  /** Client connections the frontend accepts; above the idle test's count. */
  readonly maxConnections: number;
}

export function haproxyConfig(o: HaproxyOptions): string {
  const balance =
    o.mode === 'round-robin' ? ['balance roundrobin'] : [`balance hdr(${KEY_HEADER})`, 'hash-type consistent', `hash-balance-factor ${Math.round(BOUNDED_LOAD * 100)}`];
  return haproxyConfigText({
    threads: o.threads,
    maxConnections: o.maxConnections,
    timeouts: { connectS: CONNECT_TIMEOUT_S, clientS: CLIENT_IDLE_TIMEOUT_S, httpRequestS: CLIENT_HEADERS_TIMEOUT_S, keepAliveS: CLIENT_IDLE_TIMEOUT_S, serverS: UPSTREAM_TIMEOUT_S },
    defaultsLines: ['http-reuse always'],
    binds: [`127.0.0.1:${o.h1Port}`, `127.0.0.1:${o.h2Port} proto h2`],
    frontendLines: [
      'option forwardfor',
      'http-request set-header x-forwarded-proto http',
      'http-request set-header x-forwarded-host %[req.hdr(host)]',
      'http-request set-header x-real-ip %[src]',
      'http-request set-header forwarded for=%[src];host=%[req.hdr(host)];proto=http',
    ],
    backendLines: balance,
    servers: o.pods,
  });
}
