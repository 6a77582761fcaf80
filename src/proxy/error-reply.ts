/**
 * The proxy's own responses: a status and a small JSON body `{"error":"...","code":"..."}` with a
 * stable code. Bodies and header lists are built once at module load; sending one allocates only
 * the header list when the endpoint name is added.
 * The codes are catalogued in src/errors.ts with every other code.
 */
import type { NoPickReason } from '../balancer/balancer.js';
import type { ProxyErrorCode } from '../errors.js';
import type { ClientResponse } from './client-response.js';
import { writeHeadTo } from './client-response.js';
import { grpcStatusOf, sendGrpcStatus } from './grpc.js';
import { ENDPOINT_HEADER } from './headers.js';
import { lingerAfterResponse } from './lingering-close.js';


export interface ErrorReply {
  readonly status: number;
  readonly code: ProxyErrorCode;
  /** What went wrong, for people: the JSON body's `error`, a gRPC call's `grpc-message`. */
  readonly message: string;
  readonly body: Buffer;
  /** For `writeHead`, without Connection. */
  readonly headers: readonly string[];
  /** The whole response as bytes, with `Connection: close`, for sockets Node has no response object for. */
  readonly raw: Buffer;
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Content Too Large',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};

export function errorReply(status: number, code: ProxyErrorCode, message: string): ErrorReply {
  const body = Buffer.from(JSON.stringify({ error: message, code }));
  const length = String(body.length);
  const headers = Object.freeze(['content-type', 'application/json', 'content-length', length, 'cache-control', 'no-store']);
  const head = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n`;
  return Object.freeze({ status, code, message, body, headers, raw: Buffer.concat([Buffer.from(head, 'latin1'), body]) });
}

export const NO_ENDPOINT_REPLIES: Readonly<Record<NoPickReason, ErrorReply>> = Object.freeze({
  empty: errorReply(503, 'SG_ERR_NO_ENDPOINT', 'no endpoint is ready: empty (the endpoint set is empty)'),
  'all-unavailable': errorReply(503, 'SG_ERR_NO_ENDPOINT', 'no endpoint is ready: all-unavailable (every endpoint is draining, excluded, ejected or failing health checks)'),
  saturated: errorReply(503, 'SG_ERR_NO_ENDPOINT', 'no endpoint is ready: saturated (every endpoint that may serve the request is at its in-flight limit)'),
  'owner-missing': errorReply(503, 'SG_ERR_NO_ENDPOINT', 'no endpoint is ready: owner-missing (the owner of the key is not in the endpoint set)'),
  'no-range': errorReply(503, 'SG_ERR_NO_ENDPOINT', 'no endpoint is ready: no-range (no key range holds the key)'),
  'no-key': errorReply(503, 'SG_ERR_NO_ENDPOINT', 'no endpoint is ready: no-key (the request has no routing key and the balancer has no keyless fallback)'),
});

/**
 * 503 for a request whose subset selector headers match no subset, with subset fallback `fail`;
 * `detail` names the labels and values asked for (SubsetRouter.describeMiss). Built per refusal.
 */
export function noSubsetReply(detail: string): ErrorReply {
  return errorReply(503, 'SG_ERR_NO_SUBSET', `no subset serves the request: ${detail}`);
}

export const REPLIES = Object.freeze({
  connectFailed: errorReply(502, 'SG_ERR_UPSTREAM_CONNECT', 'the endpoint could not be reached (connection refused or unreachable)'),
  connectTimeout: errorReply(504, 'SG_ERR_UPSTREAM_CONNECT_TIMEOUT', 'connecting to the endpoint timed out'),
  reset: errorReply(502, 'SG_ERR_UPSTREAM_RESET', 'the connection to the endpoint failed before the response was complete'),
  headersTimeout: errorReply(504, 'SG_ERR_UPSTREAM_TIMEOUT', 'the endpoint did not answer in time'),
  deadline: errorReply(504, 'SG_ERR_DEADLINE', 'the call\'s deadline (grpc-timeout) passed'),
  badResponse: errorReply(502, 'SG_ERR_UPSTREAM_PROTOCOL', 'the endpoint sent an invalid HTTP response'),
  refusedStream: errorReply(503, 'SG_ERR_UPSTREAM_REFUSED', 'the endpoint refused the request without processing it (HTTP/2 REFUSED_STREAM or GOAWAY)'),
  shuttingDown: errorReply(503, 'SG_ERR_SHUTTING_DOWN', 'the proxy is shutting down'),
  badRequest: errorReply(400, 'SG_ERR_BAD_REQUEST', 'malformed HTTP request'),
  badHost: errorReply(400, 'SG_ERR_BAD_REQUEST', 'an HTTP/1.1 request needs exactly one Host header (RFC 9112 section 3.2)'),
  malformedHost: errorReply(400, 'SG_ERR_BAD_REQUEST', 'the Host (or :authority) must be host[:port], with no spaces, user info or path (RFC 9110 section 7.2)'),
  unknownMethod: errorReply(501, 'SG_ERR_UNKNOWN_METHOD', 'the request method is not one the proxy forwards'),
  badFraming: errorReply(400, 'SG_ERR_BAD_REQUEST', 'a request Transfer-Encoding must end with chunked (RFC 9112 section 6.3)'),
  badTarget: errorReply(400, 'SG_ERR_BAD_REQUEST', 'the request target must be a path (/...) or an absolute http URL'),
  bodyTooLarge: errorReply(413, 'SG_ERR_BODY_TOO_LARGE', 'the request body is larger than the proxy accepts'),
  tooManyHeaders: errorReply(431, 'SG_ERR_HEADERS_TOO_LARGE', 'the request has more header fields than the proxy accepts'),
  headersTooLarge: errorReply(431, 'SG_ERR_HEADERS_TOO_LARGE', 'the request headers are too large'),
  requestTimeout: errorReply(408, 'SG_ERR_REQUEST_TIMEOUT', 'the request headers did not arrive in time'),
  bodyTimeout: errorReply(408, 'SG_ERR_REQUEST_TIMEOUT', 'the request body stopped arriving (client body timeout)'),
  connectMethod: errorReply(405, 'SG_ERR_METHOD', 'CONNECT is not supported'),
  upgradeRefused: errorReply(501, 'SG_ERR_UPGRADE', 'the only protocol upgrade proxied is a GET with Upgrade: websocket'),
  versionNotSupported: errorReply(505, 'SG_ERR_HTTP_VERSION', 'an HTTP/1 connection carries HTTP/1.0 and HTTP/1.1 requests only (RFC 9112 section 2.3)'),
  transferCoding: errorReply(501, 'SG_ERR_TRANSFER_CODING', 'the only request transfer coding supported is chunked (RFC 9112 section 6.1)'),
  internal: errorReply(500, 'SG_ERR_INTERNAL', 'internal proxy error'),
});

/**
 * Answers with `reply`: JSON, or a gRPC status for a gRPC call. `close` ends an HTTP/1.1 client
 * connection after it (set when the request body was not read, so that Node need not drain an
 * upload nobody wants), with a lingering close while the body is still arriving
 * (lingering-close.ts); an HTTP/2 stream ends alone.
 */
export function sendReply(res: ClientResponse, reply: ErrorReply, endpoint: string | null, close: boolean): void {
  res.reply = reply;
  if (res.h2) {
    if (res.grpc) {
      sendGrpcStatus(res, grpcStatusOf(reply), reply.message, endpoint);
      return;
    }
    writeHeadTo(res, reply.status, endpoint === null ? reply.headers : [...reply.headers, ENDPOINT_HEADER, endpoint]);
    res.end(reply.body);
    return;
  }
  let headers = reply.headers;
  if (endpoint !== null || close) {
    const list = headers.slice();
    if (endpoint !== null) list.push(ENDPOINT_HEADER, endpoint);
    if (close) list.push('connection', 'close');
    headers = list;
  }
  // Closing with the body still arriving: linger, so that the client reads this answer.
  if (close && !res.req.complete) lingerAfterResponse(res.socket);
  res.writeHead(reply.status, headers as string[]);
  res.end(reply.body);
}
