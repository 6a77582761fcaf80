/**
 * A strict parser of HTTP/1.1 response heads (RFC 9112 sections 4 to 6), for the proxy's raw
 * upstream connections: status line, field lines, and how the body is framed given the request
 * that the response answers. Pure (no I/O, no timers); one pass over the bytes with table loads,
 * strings made only once the head is complete (see field-lines.ts).
 *
 * Strictness follows llhttp (what undici, the upstream it replaces, parses with): only CRLF line
 * ends, no obs-fold, token field names with no whitespace before the colon, no NUL or controls in
 * values, Content-Length once. Two things are accepted that a request would not get away with,
 * because RFC 9112 gives the response its own rules and the pod is the proxy's own backend:
 * - Transfer-Encoding with Content-Length: the coding wins (section 6.3 point 3) and the
 *   connection is not reused. The header list still has the Content-Length line: whoever relays
 *   the response must drop it (section 6.3 point 3 asks an intermediary to).
 * - Transfer-Encoding whose last coding is not chunked: the body runs to the close (point 4).
 * A status line without the SP and reason phrase after the code (`HTTP/1.1 200` CRLF), which
 * some servers send and llhttp takes, is accepted with an empty reason.
 */
import { CR, LF, REASON, SP } from './chars.js';
import { FieldLines, TE_CHUNKED, TE_NONE } from './field-lines.js';
import type { HeadLimits, HeadParse } from './head-parse.js';
import { headFields, headIncomplete, headInvalid } from './head-parse.js';
import { VERSION_BAD, VERSION_PARTIAL, readHttpVersion } from './http-version.js';

export interface ResponseHead {
  /** 100 to 599 (RFC 9110 section 15). */
  readonly status: number;
  readonly reason: string;
  /** HTTP/1.0 or HTTP/1.1. */
  readonly minor: 0 | 1;
  /** Flat [name, value, ...] in arrival order; names as sent, values without leading or trailing OWS. */
  readonly headers: string[];
  /**
   * How the body is delimited (RFC 9112 section 6.3): none (a HEAD request, 1xx, 204, 304, or a 2xx
   * to CONNECT, after which the connection is a tunnel), Content-Length bytes, chunked, or
   * everything until the pod closes.
   */
  readonly body: 'none' | 'length' | 'chunked' | 'close';
  /** When body is 'length', the number of bytes; otherwise -1. */
  readonly contentLength: number;
  /** The connection may carry another request once this response has been read. */
  readonly keepAlive: boolean;
}

// The field scanner's tables, reused by every call: parsing is synchronous and never re-entered.
const FIELDS = new FieldLines();

const OK = 'OK';

/**
 * Parses the response head at buf[start, end).
 * @param requestMethod the method of the request it answers: a HEAD or CONNECT changes the framing
 */
export function parseResponseHead(buf: Buffer, start: number, end: number, limits: HeadLimits, requestMethod: string): HeadParse<ResponseHead> {
  // Nothing past the limit is looked at: a head still unfinished there is refused as too large.
  const stop = Math.min(end, start + limits.maxHeaderBytes);
  const version = readHttpVersion(buf, start, stop);
  if (version < 0) {
    if (version === VERSION_PARTIAL) return headIncomplete(start, end, limits);
    return headInvalid(version === VERSION_BAD ? 'bad-version' : 'bad-status-line');
  }
  let i = start + 8;
  if (i >= stop) return headIncomplete(start, end, limits);
  if (buf[i] !== SP) return headInvalid('bad-status-line');
  let status = 0;
  for (let k = 1; k <= 3; k++) {
    if (i + k >= stop) return headIncomplete(start, end, limits);
    const d = buf[i + k]! - 0x30;
    if (d < 0 || d > 9) return headInvalid('bad-status-line');
    status = status * 10 + d;
  }
  if (status < 100 || status > 599) return headInvalid('bad-status-line');
  i += 4;
  if (i >= stop) return headIncomplete(start, end, limits);
  let reasonStart = i;
  if (buf[i] === SP) {
    reasonStart = ++i;
    while (i < stop && REASON[buf[i]!] === 1) i++;
    if (i >= stop) return headIncomplete(start, end, limits);
  }
  const reasonEnd = i;
  if (buf[i] !== CR) return headInvalid(buf[i] === LF ? 'bare-lf' : 'bad-status-line');
  if (i + 1 >= stop) return headIncomplete(start, end, limits);
  if (buf[i + 1] !== LF) return headInvalid('bare-cr');

  const fields = FIELDS;
  const headers = headFields(fields, buf, i + 2, stop, start, end, limits);
  if (!Array.isArray(headers)) return headers;

  const minor = version as 0 | 1;
  const te = fields.transferEncoding;
  const length = fields.contentLength;
  // HTTP/1.1 persists unless told to close; HTTP/1.0 only when asked to (RFC 9112 section 9.3).
  // An HTTP/1.0 message with Transfer-Encoding has faulty framing and the connection ends after
  // it (section 6.1); so does one framed by the coding over a Content-Length (section 6.3 point 3).
  let keepAlive = !fields.close && (minor === 1 || fields.keepAlive) && !(te !== TE_NONE && (minor === 0 || length !== -1));
  let body: ResponseHead['body'];
  if (requestMethod === 'HEAD' || status < 200 || status === 204 || status === 304) {
    body = 'none';
    // After 101 Switching Protocols the connection speaks something else.
    if (status === 101) keepAlive = false;
  } else if (requestMethod === 'CONNECT' && status < 300) {
    body = 'none';
    keepAlive = false;
  } else if (te === TE_CHUNKED) {
    body = 'chunked';
  } else if (te !== TE_NONE || length === -1) {
    body = 'close';
    keepAlive = false;
  } else {
    body = 'length';
  }
  const reason = reasonEnd - reasonStart === 2 && buf[reasonStart] === 0x4f && buf[reasonStart + 1] === 0x4b ? OK : fields.text.substring(reasonStart - start, reasonEnd - start);
  const head: ResponseHead = { status, reason, minor, headers, body, contentLength: body === 'length' ? length : -1, keepAlive };
  return { kind: 'done', head, length: fields.sectionEnd - start };
}
