/**
 * The head of a request to an HTTP/1.1 pod, built and checked as undici 7 builds it (the header
 * rules of its `core/request.js`, the head of `writeH1` in `dispatcher/client-h1.js`), so that the
 * raw upstream (h1-upstream.ts) sends what the undici Pool sent and refuses what it refused, with
 * the same error classes, which upstream-failure.ts classifies:
 *
 * - the request line, then `host: <value>` (the list's Host, or the pod's own authority when the
 *   list has none), then `connection: keep-alive`, or `connection: close` for HEAD (undici closes
 *   after a HEAD for pods that send a body anyway) and for a list that asks for it;
 * - the other fields in the list's order, names as given;
 * - no final CRLF: the framing (Content-Length or Transfer-Encoding and the blank line) follows,
 *   and depends on the body (h1-call.ts).
 *
 * Refused, before anything is sent (InvalidArgumentError, which the proxy answers 400): a method or
 * field name that is not a token, a field value with CR, LF, NUL or another control (RFC 9110
 * section 5.5: the only defence against a value that would add lines to the head), a path with
 * whitespace or controls, a second Host or Content-Length, a Content-Length that is not digits,
 * and the fields the transport owns (Transfer-Encoding, Keep-Alive, Upgrade; Expect is
 * NotSupportedError). Host, Content-Length and Connection are consumed, not copied: the head gets
 * the framing the body really has.
 *
 * Pure: no I/O. Cost per request: one pass over the list and one string.
 */
import { errors } from 'undici';
import { FIELD_VALUE, TCHAR } from '../http1/chars.js';

/** What a request head leaves behind for the write that follows; the request record implements it. */
export interface RequestHeadFields {
  /** The head up to the framing: request line and field lines, each ending in CRLF. */
  head: string;
  /** The Host value the list gave, or null (then the pod's authority was sent). */
  host: string | null;
  /** The list's Content-Length, or null. */
  declaredLength: number | null;
  /** The connection is closed after this request: HEAD, or `Connection: close` in the list. */
  closeAfter: boolean;
}

/**
 * Methods whose requests carry content (undici's `expectsPayload`): a bodiless one is sent with
 * `content-length: 0`, and a body on any other method closes the connection after the exchange
 * (RFC 9110 section 9.3: a body there has no defined meaning, and some servers misframe it).
 */
export function expectsPayload(method: string): boolean {
  return method === 'POST' || method === 'PUT' || method === 'PATCH' || method === 'QUERY' || method === 'PROPFIND' || method === 'PROPPATCH';
}

/**
 * Methods for which undici checks a buffered body against the declared Content-Length (its
 * `shouldSendContentLength`, RFC 9110 section 8.6).
 */
export function checksDeclaredLength(method: string): boolean {
  return method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS' && method !== 'TRACE' && method !== 'CONNECT';
}

// Any byte outside 0x21-0xff: whitespace and controls end the target early or add lines.
const BAD_PATH = /[^\u0021-\u00ff]/;

/**
 * Fills `out` with the head of `method path` carrying `fields` (a flat [name, value, ...] list),
 * or returns the error undici would have failed the request with.
 * @param hostLine `host: <authority>\r\n` for a list without Host
 */
export function buildRequestHead(out: RequestHeadFields, method: string, path: string, fields: readonly string[], hostLine: string): Error | null {
  if (!isToken(method)) return new errors.InvalidArgumentError('invalid request method');
  if (path.charCodeAt(0) !== 47 /* / */ && !path.startsWith('http://') && !path.startsWith('https://')) {
    return new errors.InvalidArgumentError('path must be an absolute URL or start with a slash');
  }
  if (BAD_PATH.test(path)) return new errors.InvalidArgumentError('invalid request path');
  if (fields.length % 2 !== 0) return new errors.InvalidArgumentError('headers array must be even');
  let host: string | null = null;
  let declared: number | null = null;
  let close = method === 'HEAD';
  let lines = '';
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    if (!isToken(name)) return new errors.InvalidArgumentError('invalid header key');
    if (!isFieldValue(value)) return new errors.InvalidArgumentError(`invalid ${name} header`);
    switch (special(name)) {
      case Special.None:
        lines += `${name}: ${value}\r\n`;
        break;
      case Special.Host:
        if (host !== null) return new errors.InvalidArgumentError('duplicate host header');
        host = value;
        break;
      case Special.ContentLength:
        if (declared !== null) return new errors.InvalidArgumentError('duplicate content-length header');
        if (!isDigits(value)) return new errors.InvalidArgumentError('invalid content-length header');
        declared = parseInt(value, 10);
        break;
      case Special.Connection: {
        const asksClose = connectionClose(value);
        if (asksClose === null) return new errors.InvalidArgumentError('invalid connection header');
        if (asksClose) close = true;
        break;
      }
      case Special.Owned:
        return new errors.InvalidArgumentError(`invalid ${name.toLowerCase()} header`);
      case Special.Expect:
        return new errors.NotSupportedError('expect header not supported');
    }
  }
  out.head = `${method} ${path} HTTP/1.1\r\n${host === null ? hostLine : `host: ${host}\r\n`}${close ? 'connection: close\r\n' : 'connection: keep-alive\r\n'}${lines}`;
  out.host = host;
  out.declaredLength = declared;
  out.closeAfter = close;
  return null;
}

const enum Special {
  None,
  Host,
  ContentLength,
  Connection,
  /** Framing and connection management: the transport's to write. */
  Owned,
  Expect,
}

/** Which of the fields undici treats apart `name` is; lower-cased only when its length matches one. */
function special(name: string): Special {
  switch (name.length) {
    case 4:
      return name.toLowerCase() === 'host' ? Special.Host : Special.None;
    case 6:
      return name.toLowerCase() === 'expect' ? Special.Expect : Special.None;
    case 7:
      return name.toLowerCase() === 'upgrade' ? Special.Owned : Special.None;
    case 10: {
      const lower = name.toLowerCase();
      return lower === 'connection' ? Special.Connection : lower === 'keep-alive' ? Special.Owned : Special.None;
    }
    case 14:
      return name.toLowerCase() === 'content-length' ? Special.ContentLength : Special.None;
    case 17:
      return name.toLowerCase() === 'transfer-encoding' ? Special.Owned : Special.None;
    default:
      return Special.None;
  }
}

/** Whether a Connection value asks for close; null when one of its options is not a token. */
function connectionClose(value: string): boolean | null {
  let close = false;
  for (const token of value.toLowerCase().split(',')) {
    const option = token.trim();
    if (!isToken(option)) return null;
    if (option === 'close') close = true;
  }
  return close;
}

function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (TCHAR[s.charCodeAt(i)] !== 1) return false;
  return true;
}

/** field-vchar, SP and HTAB only; a char code past 0xff has no table entry and fails. */
function isFieldValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (FIELD_VALUE[s.charCodeAt(i)] !== 1) return false;
  return true;
}

function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}
