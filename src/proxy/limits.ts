/**
 * The proxy's timeouts and limits with their defaults: one place for the proxy, the config parser
 * and `--help`. No imports, so that reading config doesn't load the data plane.
 */
export interface ProxyTimeouts {
  /** Connecting to a pod. */
  connectMs: number;
  /** From the request sent to the pod's response head. 0 disables. */
  upstreamHeadersMs: number;
  /** Longest silence between chunks of a pod's response body; default 300 s. 0 disables. */
  upstreamBodyMs?: number;
  /**
   * An idle keep-alive connection to an HTTP/1.1 pod is closed after this; default 4 s. A pod's
   * `Keep-Alive: timeout=N` shortens it to N - 2 s.
   */
  upstreamIdleMs?: number;
  /** A client's whole request head must arrive within this (slowloris). 0 disables. */
  clientHeadersMs: number;
  /** An idle keep-alive client connection is closed after this. 0 disables. */
  clientIdleMs: number;
  /**
   * Longest silence within a client's request body while the proxy reads it (then 408); default
   * 30 s. 0 disables.
   */
  clientBodyMs?: number;
  /**
   * A request (HTTP/1.1) or stream (HTTP/2) with no byte either way for this long is ended;
   * default 300 s. 0 disables.
   */
  streamIdleMs?: number;
  /** close() waits this long for in-flight requests before cutting them. */
  shutdownGraceMs: number;
  /**
   * A client connection is ended gracefully after this, ± 10 % (connection-age.ts): HTTP/1.1
   * `Connection: close` on its next response, HTTP/2 GOAWAY. Default 0: no maximum age.
   */
  maxConnectionAgeMs?: number;
  /** After the maximum age, this long for what is under way to finish; then the connection is closed. 0: no bound. */
  maxConnectionAgeGraceMs?: number;
}

export const DEFAULT_TIMEOUTS: Readonly<Required<ProxyTimeouts>> = Object.freeze({
  // Within a cluster a healthy pod accepts in well under a second.
  connectMs: 2_000,
  upstreamHeadersMs: 30_000,
  // undici's own default: long enough for streaming and long-poll responses.
  upstreamBodyMs: 300_000,
  // Below the pods' own keep-alive timeout, so that the proxy, not the pod, closes an idle
  // connection, and never sends a request down one the pod is closing: Node's servers keep 5 s,
  // Apache 5 s, nginx 75 s (gunicorn's 2 s announces itself in Keep-Alive: timeout=2).
  upstreamIdleMs: 4_000,
  clientHeadersMs: 10_000,
  clientIdleMs: 60_000,
  // HAProxy's `timeout client` as commonly set; nginx's client_body_timeout is 60 s. Within it, a
  // stalled body is ended after 30 to 37.5 s (body-timeout.ts).
  clientBodyMs: 30_000,
  // Envoy's stream_idle_timeout.
  streamIdleMs: 300_000,
  // Leaves room inside Kubernetes' default 30 s termination grace period.
  shutdownGraceMs: 10_000,
  // Off, as gRPC's MAX_CONNECTION_AGE and Envoy's max_connection_duration are: it helps only where
  // a connection-level balancer (a ClusterIP Service) spreads clients over several proxies, and it
  // costs every client a reconnect per age. deploy/proxy sets it.
  maxConnectionAgeMs: 0,
  // Bounded, unlike gRPC's default: a connection past its age closes within it, whatever streams.
  maxConnectionAgeGraceMs: 30_000,
});

export const DEFAULT_MAX_HEADER_BYTES = 16_384;

/** Upper bound of every duration setting: a day. Longer is a typo in practice (seconds for ms). */
export const MAX_MS = 86_400_000;
export const MIN_HEADER_BYTES = 1_024;
export const MAX_HEADER_BYTES_LIMIT = 1_048_576;

/**
 * The largest request body the proxy buffers to read a `json:` key from it. 64 KiB holds the
 * JSON of ordinary API calls; the limits keep a typo from buffering megabytes per request.
 */
export const DEFAULT_MAX_BODY_BUFFER = 65_536;
export const MIN_BODY_BUFFER = 1_024;
export const MAX_BODY_BUFFER_LIMIT = 524_288;

/** Header fields in a request head; HAProxy's tune.http.maxhdr is 101. */
export const DEFAULT_MAX_HEADER_COUNT = 100;
/** SETTINGS_MAX_CONCURRENT_STREAMS offered to HTTP/2 clients (HAProxy's and nginx's order of magnitude). */
export const DEFAULT_MAX_CONCURRENT_STREAMS = 100;
/** HTTP/2 sessions per h2c:// or h2:// endpoint. */
export const DEFAULT_UPSTREAM_SESSIONS = 2;
/** Requests that may wait for an endpoint under its in-flight limit, and for how long. */
export const DEFAULT_QUEUE = Object.freeze({ max: 1_024, timeoutMs: 1_000 });
