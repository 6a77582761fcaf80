/**
 * Classifies an error from an endpoint's undici pool into the balancer's Outcome (R4, R11) and
 * the reply the client gets while no response has started. Every branch returns a module
 * constant: classifying allocates nothing.
 *
 * The phase matters as much as the code: undici starts a request (onRequestStart) only on a
 * connected socket, so an error before that is a connect failure, whatever the socket reported.
 * A connect timeout is `connect-failed` for the balancer (the pod is unreachable: what passive
 * health needs to know) but 504 for the client (it is a timeout to them).
 */
import { errors } from 'undici';
import type { Outcome } from '../balancer/balancer.js';
import type { ErrorReply } from './error-reply.js';
import { REPLIES } from './error-reply.js';

export interface UpstreamFailure {
  readonly outcome: Outcome;
  /** What the client gets if the response has not started; null: nobody is listening. */
  readonly reply: ErrorReply | null;
  /**
   * The request provably never reached the pod's application: retrying it elsewhere is safe for
   * any method. Anything else may have been processed.
   */
  readonly unsent: boolean;
  /**
   * The pod's kernel reset the connection (RST) before any byte of the response: it answers so
   * for bytes its application never read (a connection closed as the request arrived, the idle-close
   * race of a graceful restart; a killed pod with the request still in its receive buffer). A pod
   * that had read the request and then closed sends FIN, which is a plain `reset`. Retried for
   * any method (the `unread-reset` condition), as browsers resend on a reused connection reset
   * before the response.
   */
  readonly unread: boolean;
}

const failure = (outcome: Outcome, reply: ErrorReply | null, unsent = false, unread = false): UpstreamFailure => Object.freeze({ outcome, reply, unsent, unread });

export const FAILURES = Object.freeze({
  connectFailed: failure('connect-failed', REPLIES.connectFailed, true),
  connectTimeout: failure('connect-failed', REPLIES.connectTimeout, true),
  /**
   * HTTP/2 REFUSED_STREAM, or a stream above a GOAWAY's last stream id: the pod says it did not
   * process it. Not the pod's failure (a graceful shutdown says this too): neutral for health.
   */
  refusedStream: failure('cancelled', REPLIES.refusedStream, true),
  reset: failure('reset', REPLIES.reset),
  resetUnread: failure('reset', REPLIES.reset, false, true),
  timeout: failure('timeout', REPLIES.headersTimeout),
  /** A gRPC call's own deadline passed first. */
  deadline: failure('timeout', REPLIES.deadline),
  badResponse: failure('reset', REPLIES.badResponse),
  cancelled: failure('cancelled', null),
  /** The pool was closed under the request: it never reached the pod. */
  closed: failure('cancelled', REPLIES.shuttingDown, true),
  /** undici refused the request itself; it never reached the pod. */
  refused: failure('cancelled', REPLIES.badRequest),
});

/**
 * @param err what undici passed to onResponseError
 * @param started whether the request reached a connected socket (onRequestStart ran)
 */
export function classifyUpstreamError(err: unknown, started: boolean): UpstreamFailure {
  const code = errorCode(err);
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return FAILURES.connectTimeout;
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return FAILURES.timeout;
    // A request body shorter than its Content-Length comes only from an aborted client: Node's
    // parser holds a live one to its framing.
    case 'UND_ERR_ABORTED':
    case 'UND_ERR_ABORT':
    case 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH':
      return FAILURES.cancelled;
    case 'UND_ERR_CLOSED':
    case 'UND_ERR_DESTROYED':
      return FAILURES.closed;
    case 'UND_ERR_INVALID_ARG':
    case 'UND_ERR_NOT_SUPPORTED':
      return FAILURES.refused;
    case 'SG_H2_REFUSED_STREAM':
      return FAILURES.refusedStream;
    case 'UND_ERR_HEADERS_OVERFLOW':
    case 'UND_ERR_RES_EXCEEDED_MAX_SIZE':
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      return FAILURES.badResponse;
    default:
      // llhttp's errors carry HPE_* codes, or none at all for some (a bad status line).
      if (err instanceof errors.HTTPParserError) return FAILURES.badResponse;
      if (!started) return FAILURES.connectFailed;
      if (code === 'ETIMEDOUT') return FAILURES.timeout;
      // An RST from the pod (ECONNRESET, or EPIPE writing after one): the caller knows whether the
      // response had begun, and when it had not, the request lay unread.
      if (code === 'ECONNRESET' || code === 'EPIPE') return FAILURES.resetUnread;
      // UND_ERR_SOCKET (other side closed) and anything unforeseen after the connection was up:
      // the exchange broke midway.
      return FAILURES.reset;
  }
}

function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}
