/**
 * The one catalogue of shardgate's errors. Every error has a stable code; messages name what was
 * wrong, where, and what to do. Config and startup throw these; the request path returns values.
 */
export const ERROR_CODES = {
  SG_ERR_CONFIG: 'a configuration value is invalid',
  SG_ERR_ENDPOINTS: 'an endpoint list is invalid (duplicate name, bad address or weight)',
  SG_ERR_BALANCER: 'a balancer option is invalid',
  SG_ERR_HEALTH: 'an outlier-detection or active health-check option is invalid',
  SG_ERR_RETRY: 'a retry option is invalid (retry budget)',
  SG_ERR_KEY_SOURCE: 'a key source (header:, cookie:, query:, path:, json:) is invalid',
  SG_ERR_KEY_TRANSFORM: 'a key transform (prefix:, delimited:, s2:) is invalid',
  SG_ERR_LISTEN: 'the listen address is invalid or cannot be bound',
  SG_ERR_CLI: 'a command-line argument is invalid',
  SG_ERR_DISCOVERY: 'an endpoint source failed (unreadable or invalid endpoints file); the last good endpoints keep serving',
  SG_ERR_WORKER: 'a worker thread (--workers) failed to start or ended unexpectedly',
} as const;

/**
 * Codes of the proxy's own answers on the wire: the `code` of the JSON body
 * `{"error":"...","code":"..."}`, with the status each goes with.
 */
export const PROXY_ERROR_CODES = {
  SG_ERR_NO_ENDPOINT: '503: no endpoint can take the request; the message names the balancer\'s reason (empty, all-unavailable, saturated, owner-missing, no-range, no-key)',
  SG_ERR_NO_SUBSET: '503: the request\'s subset selector headers match no subset of endpoint labels and subsets.fallback is fail (or the default subset is empty); the message names the labels and values',
  SG_ERR_UPSTREAM_CONNECT: '502: the endpoint refused or could not be reached',
  SG_ERR_UPSTREAM_CONNECT_TIMEOUT: '504: connecting to the endpoint took longer than timeouts.connectMs',
  SG_ERR_UPSTREAM_RESET: '502: the connection to the endpoint closed or failed before the response was complete',
  SG_ERR_UPSTREAM_TIMEOUT: '504: the endpoint sent no response headers within timeouts.upstreamHeadersMs',
  SG_ERR_UPSTREAM_PROTOCOL: '502: the endpoint sent a response that is not valid HTTP',
  SG_ERR_UPSTREAM_REFUSED: '503: the endpoint refused the HTTP/2 stream unprocessed (REFUSED_STREAM or GOAWAY) and no retry was possible',
  SG_ERR_DEADLINE: '504: the gRPC call\'s deadline (grpc-timeout) passed before the response was complete; gRPC clients get DEADLINE_EXCEEDED',
  SG_ERR_BODY_TOO_LARGE: '413: the request body is larger than the proxy may read or forward',
  SG_ERR_SHUTTING_DOWN: '503: the proxy is shutting down',
  SG_ERR_BAD_REQUEST: '400: the request is not valid HTTP (syntax, framing, a missing, repeated or malformed Host or :authority)',
  SG_ERR_HEADERS_TOO_LARGE: '431: the request head is larger than maxHeaderBytes',
  SG_ERR_REQUEST_TIMEOUT: '408: the request head did not arrive within timeouts.clientHeadersMs, or its body stopped arriving for timeouts.clientBodyMs',
  SG_ERR_METHOD: '405: CONNECT is not proxied',
  SG_ERR_UNKNOWN_METHOD: '501: the request method is none of those the proxy forwards (the methods of node:http, over HTTP/1.1 and HTTP/2 alike)',
  SG_ERR_UPGRADE: '501: an Upgrade to something other than websocket (h2c, say): use HTTP/2 with prior knowledge or TLS with ALPN instead',
  SG_ERR_TRANSFER_CODING: '501: the request has a Transfer-Encoding other than exactly chunked, which the proxy cannot forward (RFC 9112 section 6.1)',
  SG_ERR_HTTP_VERSION: '505: an HTTP/1 request line names a version other than HTTP/1.0 or HTTP/1.1 (HTTP/2.0, HTTP/0.9), which the proxy does not forward (RFC 9112 section 2.3)',
  SG_ERR_INTERNAL: '500: the proxy failed on this request (a bug; it keeps serving others)',
} as const;

export type ProxyErrorCode = keyof typeof PROXY_ERROR_CODES;

/**
 * Codes of the directory's answers (`/v1/owner`, `/v1/owners`, `/v1/plan`, `/v1/assignments`),
 * in the same JSON body as the proxy's, with the status each goes with. A key without a home and
 * a directory without endpoints answer the proxy's own SG_ERR_NO_ENDPOINT and SG_ERR_NO_SUBSET.
 */
export const DIRECTORY_ERROR_CODES = {
  SG_ERR_KEY_MISSING: '400: no key was given (key= absent or empty, or an empty batch): an empty key is no key to the proxy either',
  SG_ERR_KEY_MALFORMED: '400: a key the proxy never routes by: longer than the directory reads, not a string in a batch, or one the key transform reads no key from (the proxy sends such a request to the keyless balancer)',
  SG_ERR_PARAMETER: '400: a query parameter beside the key is malformed (n, generation)',
  SG_ERR_BATCH: '400: the batch is not a JSON array of key strings, holds more keys than a batch may, or its body is larger than a batch may be',
  SG_ERR_KEYLESS_BALANCER: '409: the balancer is keyless (p2c, round-robin...): no key has an owner; configure a keyed balancer (ring-hash, maglev, ordinal...) and a key source',
  SG_ERR_GENERATION_GONE: '410: the generation asked for is not kept (the directory keeps the last few and the pending one)',
  SG_ERR_PLAN: '400: a plan parameter names no change, an endpoint that is not there (remove, drain) or already is (add), or a replica count the names cannot take',
  SG_ERR_WATCHERS: '503: the directory serves as many watch streams as it may; try again later or another directory replica',
} as const;

export type DirectoryErrorCode = keyof typeof DIRECTORY_ERROR_CODES;

export type ErrorCode = keyof typeof ERROR_CODES;

export class ShardgateError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ShardgateError';
    this.code = code;
  }
}

/** A configuration (file, flag or option) that cannot be used; `field` is its dotted path. */
export class ConfigError extends ShardgateError {
  readonly field: string;
  constructor(code: ErrorCode, field: string, message: string, options?: ErrorOptions) {
    super(code, `${field}: ${message}`, options);
    this.name = 'ConfigError';
    this.field = field;
  }
}

/** The `code` of a Node, DNS or OpenSSL error (`ENOENT`, `ESERVFAIL`, `ERR_OSSL_...`), or null. */
export function errorCode(e: unknown): string | null {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : null;
}
