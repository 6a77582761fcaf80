/**
 * gRPC at the proxy hop. A gRPC client reads a call's outcome from `grpc-status` and
 * `grpc-message`, never from an HTTP status or body, so every answer the proxy makes itself to a
 * gRPC call is a status (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md):
 * a Trailers-Only response (one HEADERS frame with END_STREAM) before the response started, or
 * trailers after it. The mapping follows gRPC's own for HTTP statuses
 * (doc/http-grpc-status-mapping.md), except that the proxy's timeouts are DEADLINE_EXCEEDED.
 */
import type { ErrorReply } from './error-reply.js';
import type { H2StreamResponse } from './h2-stream-response.js';
import { ENDPOINT_HEADER } from './headers.js';

export const GRPC_STATUS = Object.freeze({
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INTERNAL: 13,
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
  PERMISSION_DENIED: 7,
});

/** The gRPC status for one of the proxy's own replies. */
export function grpcStatusOf(reply: ErrorReply): number {
  switch (reply.code) {
    case 'SG_ERR_UPSTREAM_TIMEOUT':
    case 'SG_ERR_DEADLINE':
      return GRPC_STATUS.DEADLINE_EXCEEDED;
    case 'SG_ERR_BODY_TOO_LARGE':
    case 'SG_ERR_HEADERS_TOO_LARGE':
      return GRPC_STATUS.RESOURCE_EXHAUSTED;
    case 'SG_ERR_UPSTREAM_PROTOCOL':
    case 'SG_ERR_INTERNAL':
    case 'SG_ERR_BAD_REQUEST':
      return GRPC_STATUS.INTERNAL;
    default:
      // No endpoint, connect failures and timeouts, resets, refused streams, shutting down: the
      // service is unavailable, and a client may retry (gRPC's own mapping of 502, 503 and 504).
      return GRPC_STATUS.UNAVAILABLE;
  }
}

/**
 * `grpc-message` is percent-encoded (PROTOCOL-HTTP2.md, "Response"): bytes outside 0x20-0x7E and
 * `%` itself.
 */
export function encodeGrpcMessage(message: string): string {
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Answers a gRPC call with a status: Trailers-Only before the response started, trailers after. */
export function sendGrpcStatus(res: H2StreamResponse, status: number, message: string, endpoint: string | null): void {
  const encoded = encodeGrpcMessage(message);
  if (!res.headersSent) {
    const headers: Record<string, string> = { ':status': '200', 'content-type': 'application/grpc', 'grpc-status': String(status), 'grpc-message': encoded };
    if (endpoint !== null) headers[ENDPOINT_HEADER] = endpoint;
    if (res.stream.destroyed || res.stream.closed || res.stream.headersSent) return;
    res.stream.respond(headers, { endStream: true });
    return;
  }
  if (res.writableEnded) return;
  res.addTrailers({ 'grpc-status': String(status), 'grpc-message': encoded });
  res.end();
}

const UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000_001 };

/**
 * The `grpc-timeout` header (`TimeoutValue TimeoutUnit`: at most 8 digits and one of H M S m u n)
 * in milliseconds, rounded up so that a sub-millisecond deadline still expires; null when absent
 * or malformed (a malformed one is ignored, as gRPC servers do).
 */
export function parseGrpcTimeout(value: string | undefined): number | null {
  if (value === undefined || value.length < 2 || value.length > 9) return null;
  const unit = UNIT_MS[value.charAt(value.length - 1)];
  if (unit === undefined) return null;
  let n = 0;
  for (let i = 0; i < value.length - 1; i++) {
    const c = value.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return null;
    n = n * 10 + c;
  }
  return Math.ceil(n * unit);
}

export function isGrpcContentType(value: string | undefined): boolean {
  return value !== undefined && value.startsWith('application/grpc') && (value.length === 16 || value.charCodeAt(16) === 43 /* + */ || value.charCodeAt(16) === 59 /* ; */);
}
