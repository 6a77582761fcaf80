/**
 * The two proxies bench:faults compares, configured as a user who wants them to ride out failing
 * pods would configure them, and alike wherever both have the setting:
 *
 * - one worker (shardgate `--workers 1`, HAProxy `nbthread 1`), round robin, the same connection
 *   limit;
 * - 3 retries on another pod, on every error either can retry on: shardgate's `--retry-on` default
 *   (connect failures and resets before any response for every method; other resets and
 *   502/503/504 for idempotent methods) and `timeout`, HAProxy's `retry-on all-retryable-errors`
 *   (which includes response timeouts) with `option redispatch 1` and `http-request
 *   disable-l7-retry` for the other methods, as HAProxy's documentation of disable-l7-retry advises
 *   (it keeps retrying connection failures);
 * - passive health: shardgate's outlier detection (on by default; 5 consecutive 5xx eject), HAProxy's
 *   `observe layer7` with `error-limit 5` and `on-error mark-down`;
 * - active health checks of GET /healthz every 2 s, 3 failures out, 2 passes back, 1 s to answer;
 * - no limit on the requests in flight to a pod, except where a scenario sets one for both
 *   (shardgate `--max-inflight`, HAProxy server `maxconn`, each with a queue);
 * - the same timeouts: connect 2 s, request head 10 s, idle keep-alive 60 s, the pod's answer 10 s
 *   (HAProxy `timeout server`, shardgate's upstream headers and body timeouts), a client silent
 *   mid-request 30 s (HAProxy `timeout client`, its common value; shardgate
 *   `--client-body-timeout-ms`);
 * - HAProxy: `http-reuse safe` (its default, which its documentation recommends), `hard-stop-after
 *   30s` and `option idle-close-on-response`, which its documentation gives for clients that keep
 *   idle connections across reloads. Reloads are master-worker reloads (`-W`, SIGUSR2 to the master).
 *
 * shardgate's endpoints come from a watched file, rewritten and followed by SIGHUP on a reload;
 * HAProxy's config file is rewritten with the same servers and weights.
 */
import type { HaproxyServer } from '../common/haproxy-config.js';
import { haproxyConfigText } from '../common/haproxy-config.js';

export type FaultTargetName = 'shardgate' | 'haproxy';

export const FAULT_TARGETS: readonly FaultTargetName[] = ['shardgate', 'haproxy'];

export const TARGET_LABELS: Readonly<Record<FaultTargetName, string>> = { shardgate: 'shardgate', haproxy: 'HAProxy' };

export const RETRIES = 3;
export const CONNECT_TIMEOUT_S = 2;
export const CLIENT_HEADERS_TIMEOUT_S = 10;
export const CLIENT_IDLE_TIMEOUT_S = 60;
/** A client silent this long mid-request is closed: HAProxy `timeout client`, shardgate `--client-body-timeout-ms`. */
export const CLIENT_TIMEOUT_S = 30;
export const SERVER_TIMEOUT_S = 10;
export const HEALTH_PATH = '/healthz';
export const HEALTH_INTERVAL_S = 2;
/** shardgate's health-check timeout (not a flag); HAProxy's `timeout check`. */
export const HEALTH_TIMEOUT_S = 1;
/** Consecutive 5xx that take a pod out: shardgate's outlier default, HAProxy's error-limit. */
export const CONSECUTIVE_ERRORS = 5;
export const HARD_STOP_AFTER_S = 30;

/**
 * A limit on the requests in flight to each pod, with a queue for the rest: shardgate's
 * `--max-inflight` and `--queue-timeout-ms`, HAProxy's server `maxconn` and `timeout queue`.
 */
export interface PerPodLimit {
  readonly inFlight: number;
  readonly queueTimeoutS: number;
}

/** A pod in the proxies' configuration. */
export interface Backend {
  readonly name: string;
  readonly port: number;
  readonly weight: number;
}

/** shardgate's --endpoints-file, in YAML. */
export function endpointsFileText(backends: readonly Backend[]): string {
  return backends.map((b) => `- { name: ${b.name}, address: "127.0.0.1:${b.port}", weight: ${b.weight} }\n`).join('');
}

export interface ShardgateOptions {
  readonly port: number;
  readonly endpointsFile: string;
  readonly maxConnections: number;
  /** None when absent. */
  readonly perPod?: PerPodLimit;
}

/** `serve` arguments for the settings the module comment lists. */
export function shardgateFaultArgs(o: ShardgateOptions): string[] {
  const ms = (s: number): string => String(s * 1000);
  return [
    'serve',
    '--listen',
    `127.0.0.1:${o.port}`,
    '--endpoints-file',
    o.endpointsFile,
    '--workers',
    '1',
    '--balancer',
    'round-robin',
    '--retries',
    String(RETRIES),
    '--retry-on',
    'connect-failure,refused-stream,unread-reset,reset,gateway-error,timeout',
    '--outlier-consecutive-5xx',
    String(CONSECUTIVE_ERRORS),
    '--health-check',
    HEALTH_PATH,
    '--health-interval-ms',
    ms(HEALTH_INTERVAL_S),
    '--connect-timeout-ms',
    ms(CONNECT_TIMEOUT_S),
    '--upstream-headers-timeout-ms',
    ms(SERVER_TIMEOUT_S),
    '--upstream-body-timeout-ms',
    ms(SERVER_TIMEOUT_S),
    '--client-headers-timeout-ms',
    ms(CLIENT_HEADERS_TIMEOUT_S),
    '--client-idle-timeout-ms',
    ms(CLIENT_IDLE_TIMEOUT_S),
    '--client-body-timeout-ms',
    ms(CLIENT_TIMEOUT_S),
    '--max-connections',
    String(o.maxConnections),
    ...(o.perPod === undefined ? [] : ['--max-inflight', String(o.perPod.inFlight), '--queue-timeout-ms', ms(o.perPod.queueTimeoutS)]),
    // HAProxy adds no header naming the pod.
    '--no-endpoint-header',
  ];
}

export interface HaproxyFaultOptions {
  readonly port: number;
  readonly backends: readonly Backend[];
  readonly maxConnections: number;
  /** None when absent. */
  readonly perPod?: PerPodLimit;
}

/** Methods that may be replayed, as shardgate's retries count them: HAProxy's METH_GET covers HEAD. */
const IDEMPOTENT_ACL = 'METH_GET || METH_OPTIONS || METH_TRACE || METH_PUT || { method DELETE }';

export function haproxyFaultConfig(o: HaproxyFaultOptions): string {
  const servers: HaproxyServer[] = o.backends.map((b) => ({ name: b.name, port: b.port, weight: b.weight }));
  return haproxyConfigText({
    threads: 1,
    maxConnections: o.maxConnections,
    globalLines: [`hard-stop-after ${HARD_STOP_AFTER_S}s`],
    timeouts: {
      connectS: CONNECT_TIMEOUT_S,
      clientS: CLIENT_TIMEOUT_S,
      httpRequestS: CLIENT_HEADERS_TIMEOUT_S,
      keepAliveS: CLIENT_IDLE_TIMEOUT_S,
      serverS: SERVER_TIMEOUT_S,
      checkS: HEALTH_TIMEOUT_S,
    },
    defaultsLines: [
      `retries ${RETRIES}`,
      'option redispatch 1',
      'retry-on all-retryable-errors',
      'http-reuse safe',
      'option idle-close-on-response',
      ...(o.perPod === undefined ? [] : [`timeout queue ${o.perPod.queueTimeoutS}s`]),
    ],
    binds: [`127.0.0.1:${o.port}`],
    backendLines: ['balance roundrobin', `option httpchk GET ${HEALTH_PATH}`, `http-request disable-l7-retry unless ${IDEMPOTENT_ACL}`],
    servers,
    serverOptions: [
      ...(o.perPod === undefined ? [] : [`maxconn ${o.perPod.inFlight}`]),
      `check inter ${HEALTH_INTERVAL_S}s fall 3 rise 2 observe layer7 error-limit ${CONSECUTIVE_ERRORS} on-error mark-down`,
    ].join(' '),
  });
}

/**
 * The pods after reload `i` (0-based) of the reload scenario: the extra pod is added on even
 * reloads and removed on odd ones, and the first pod's weight goes 1, 2, 2, 1 in turn, so that
 * every reload changes the set, and every fourth leaves it as it started.
 */
export function reloadBackends(i: number, base: readonly Backend[], extra: Backend): Backend[] {
  const phase = i % 4;
  const firstWeight = phase === 1 || phase === 2 ? 2 : 1;
  const pods = base.map((b, k) => (k === 0 ? { ...b, weight: firstWeight } : b));
  return i % 2 === 0 ? [...pods, extra] : pods;
}
