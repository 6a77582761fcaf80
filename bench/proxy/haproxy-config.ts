/**
 * HAProxy configuration equivalent to a shardgate serve: keep-alive on both sides with idle server
 * connections shared by all clients (`http-reuse always`, as shardgate's per-endpoint pools are),
 * the same timeouts, the same forwarding headers, no logging. Hashing is `balance hdr(x-key)` on a
 * consistent ring with `hash-balance-factor 125`: HAProxy's bounded loads, c = 1.25.
 */
import type { BalanceMode, PodAddress } from './scenario.js';
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
    o.mode === 'round-robin'
      ? ['  balance roundrobin']
      : [`  balance hdr(${KEY_HEADER})`, '  hash-type consistent', `  hash-balance-factor ${Math.round(BOUNDED_LOAD * 100)}`];
  return [
    'global',
    `  nbthread ${o.threads}`,
    `  maxconn ${o.maxConnections}`,
    // Where the hard limit on open files is below HAProxy's estimate (2 per connection), run with
    // what there is rather than refuse to start: idle client connections take one each.
    '  no strict-limits',
    '',
    'defaults',
    '  mode http',
    `  timeout connect ${CONNECT_TIMEOUT_S}s`,
    `  timeout client ${CLIENT_IDLE_TIMEOUT_S}s`,
    `  timeout http-request ${CLIENT_HEADERS_TIMEOUT_S}s`,
    // Without it an idle keep-alive connection is closed after `timeout http-request`.
    `  timeout http-keep-alive ${CLIENT_IDLE_TIMEOUT_S}s`,
    `  timeout server ${UPSTREAM_TIMEOUT_S}s`,
    '  http-reuse always',
    '',
    'frontend fe',
    `  bind 127.0.0.1:${o.h1Port}`,
    `  bind 127.0.0.1:${o.h2Port} proto h2`,
    `  maxconn ${o.maxConnections}`,
    '  option forwardfor',
    '  http-request set-header x-forwarded-proto http',
    '  http-request set-header x-forwarded-host %[req.hdr(host)]',
    '  http-request set-header x-real-ip %[src]',
    '  http-request set-header forwarded for=%[src];host=%[req.hdr(host)];proto=http',
    '  default_backend pods',
    '',
    'backend pods',
    ...balance,
    ...o.pods.map((p) => `  server ${p.name} 127.0.0.1:${p.port}`),
    '',
  ].join('\n');
}
