/**
 * A strict parser of HTTP/1.1 request heads (RFC 9112 sections 2 to 6, 9), the front of the
 * proxy's raw HTTP/1.1 path and so its security boundary: what it refuses never reaches a pod,
 * and what it accepts must mean one thing only. Pure (no I/O, no timers); one pass over the bytes
 * with table loads, strings made only once the head is complete (see field-lines.ts), the method
 * an interned name.
 *
 * It follows llhttp in strict mode (Node's parser, the other path into the proxy), so that the two
 * paths accept and refuse alike, and is stricter where RFC 9112 asks and llhttp is lax:
 * - Versions: only HTTP/1.0 and HTTP/1.1 (llhttp also takes HTTP/0.9, a request line without a
 *   version, and HTTP/2.0).
 * - Framing: Content-Length once and digits only; Transfer-Encoding and Content-Length together
 *   refused (RFC 9112 section 6.1 lets a server read such a request as chunked, but a proxy that
 *   refuses it closes the door on request smuggling, as llhttp does); Transfer-Encoding a
 *   well-formed list ending in chunked, chunked once, no empty members (llhttp takes
 *   `, chunked`, `gzip,,chunked`, `x y, chunked` and an empty value).
 * - Targets: VCHAR only; origin form (`/...`), asterisk form (`*` alone; llhttp takes `*x`),
 *   absolute form (`scheme://authority...`, the scheme letters only and the authority RFC 3986
 *   characters, as llhttp has it), or for CONNECT anything.
 * - Lines: CRLF only, no obs-fold, no whitespace before a colon, no controls but HTAB in values.
 * Where RFC 9112 allows leniency and llhttp uses it, so does this parser: several SP between the
 * parts of the request line (section 3), empty lines (CR or LF) before the request line (section
 * 2.2), empty elements in Connection and Expect lists (RFC 9110 section 5.6.1).
 *
 * Who refuses what. This parser: everything above (400), unknown methods ('unknown-method', 501 as
 * Node answers), heads over maxHeaderBytes or maxHeaderCount (431). The route stage that both the
 * raw and the node:http path share (src/proxy: RequestHeadReader on the flat header list, and the
 * route checks): Host missing in HTTP/1.1 or repeated, or not host[:port] (400); Transfer-Encoding
 * codings other than chunked (`gzip, chunked`: 501, since the proxy forwards the body de-chunked);
 * targets it cannot route (`*` without OPTIONS, schemes other than http and https, an absolute
 * target's invalid authority: 400); CONNECT (405); Upgrade to anything but websocket (501); Expect
 * other than 100-continue (417, which Node's http layer answers on the other path).
 */
import { AUTHORITY, CR, LF, SP, TARGET, TCHAR } from './chars.js';
import { FieldLines, TE_CHUNKED, TE_NONE } from './field-lines.js';
import type { HeadLimits, HeadParse } from './head-parse.js';
import { headFields, headIncomplete, headInvalid } from './head-parse.js';
import { VERSION_BAD, VERSION_PARTIAL, readHttpVersion } from './http-version.js';
import { knownMethod } from './methods.js';

export interface RequestHead {
  /** One of HTTP1_METHODS, as an interned string. */
  readonly method: string;
  /** The request-target as sent, in any of its four forms (RFC 9112 section 3.2). */
  readonly target: string;
  readonly minor: 0 | 1;
  /** Flat [name, value, ...] in arrival order; names as sent, values without leading or trailing OWS. */
  readonly headers: string[];
  /**
   * How the body is delimited (RFC 9112 section 6.3): none (no Content-Length, no
   * Transfer-Encoding), Content-Length bytes (`Content-Length: 0` is 'length' with 0, as sent), or
   * chunked.
   */
  readonly body: 'none' | 'length' | 'chunked';
  /** When body is 'length', the number of bytes; otherwise -1. */
  readonly contentLength: number;
  /**
   * The connection may carry another request after this one: HTTP/1.1 unless Connection has
   * close, HTTP/1.0 only with keep-alive, and never after an HTTP/1.0 request with
   * Transfer-Encoding, whose framing RFC 9112 section 6.1 calls faulty.
   */
  readonly keepAlive: boolean;
  /** HTTP/1.1 and Expect lists 100-continue (RFC 9110 section 10.1.1). */
  readonly expectContinue: boolean;
  /** Connection lists upgrade and an Upgrade field is present (RFC 9110 section 7.8): the WebSocket path's. */
  readonly upgrade: boolean;
}

// The field scanner's tables, reused by every call: parsing is synchronous and never re-entered.
const FIELDS = new FieldLines();

const SLASH = 0x2f;
const ASTERISK = 0x2a;
const COLON = 0x3a;
const QUESTION = 0x3f;

/** Parses the request head at buf[start, end), after any empty lines. */
export function parseRequestHead(buf: Buffer, start: number, end: number, limits: HeadLimits): HeadParse<RequestHead> {
  // Nothing past the limit is looked at: a head still unfinished there is refused as too large.
  const stop = Math.min(end, start + limits.maxHeaderBytes);
  let i = start;
  // Empty lines before a request line are ignored (RFC 9112 section 2.2), as llhttp ignores them.
  while (i < stop && (buf[i] === CR || buf[i] === LF)) i++;

  const methodStart = i;
  while (i < stop && TCHAR[buf[i]!] === 1) i++;
  if (i >= stop) return headIncomplete(start, end, limits);
  const methodEnd = i;
  if (i === methodStart) return headInvalid('bad-method');
  if (buf[i] !== SP) {
    const b = buf[i];
    return headInvalid(b === CR || b === LF || b === 0x09 ? 'bad-request-line' : 'bad-method');
  }
  while (i < stop && buf[i] === SP) i++;

  const targetStart = i;
  while (i < stop && TARGET[buf[i]!] === 1) i++;
  if (i >= stop) return headIncomplete(start, end, limits);
  const targetEnd = i;
  if (buf[i] !== SP) {
    // `GET /` CRLF is an HTTP/0.9 request line: no version, not served.
    const b = buf[i];
    return headInvalid(b === CR || b === LF || i === targetStart ? 'bad-request-line' : 'bad-target');
  }
  while (i < stop && buf[i] === SP) i++;

  const version = readHttpVersion(buf, i, stop);
  if (version < 0) {
    if (version === VERSION_PARTIAL) return headIncomplete(start, end, limits);
    return headInvalid(version === VERSION_BAD ? 'bad-version' : 'bad-request-line');
  }
  i += 8;
  if (i >= stop) return headIncomplete(start, end, limits);
  if (buf[i] !== CR) {
    const b = buf[i]!;
    return headInvalid(b === LF ? 'bare-lf' : b >= 0x30 && b <= 0x39 ? 'bad-version' : 'bad-request-line');
  }
  if (i + 1 >= stop) return headIncomplete(start, end, limits);
  if (buf[i + 1] !== LF) return headInvalid('bare-cr');

  const method = knownMethod(buf, methodStart, methodEnd);
  if (method === null) return headInvalid('unknown-method');
  if (method !== 'CONNECT' && !isTargetForm(buf, targetStart, targetEnd)) return headInvalid('bad-target');

  const fields = FIELDS;
  const headers = headFields(fields, buf, i + 2, stop, start, end, limits);
  if (!Array.isArray(headers)) return headers;

  const minor = version as 0 | 1;
  const te = fields.transferEncoding;
  const length = fields.contentLength;
  let body: RequestHead['body'] = 'none';
  if (te !== TE_NONE) {
    // RFC 9112 section 6.1: both is a smuggling shape; section 6.3 point 4: a request whose last
    // coding is not chunked has no knowable length.
    if (length !== -1) return headInvalid('length-and-chunked');
    if (te !== TE_CHUNKED) return headInvalid('bad-transfer-encoding');
    body = 'chunked';
  } else if (length !== -1) {
    body = 'length';
  }
  const head: RequestHead = {
    method,
    target: fields.text.substring(targetStart - start, targetEnd - start),
    minor,
    headers,
    body,
    contentLength: length,
    keepAlive: !fields.close && (minor === 1 || fields.keepAlive) && !(minor === 0 && te !== TE_NONE),
    expectContinue: minor === 1 && fields.expectContinue,
    upgrade: fields.upgradeOption && fields.upgrade,
  };
  return { kind: 'done', head, length: fields.sectionEnd - start };
}

/**
 * Whether buf[start, end) is an origin-form, asterisk-form or absolute-form target (RFC 9112
 * sections 3.2.1, 3.2.2 and 3.2.4); its bytes are VCHAR already.
 */
function isTargetForm(buf: Uint8Array, start: number, end: number): boolean {
  const first = buf[start]!;
  if (first === SLASH) return true;
  if (first === ASTERISK) return end - start === 1;
  // absolute-form: scheme "://" authority, then a path or a query.
  let i = start;
  while (i < end && ((buf[i]! | 0x20) >= 0x61 && (buf[i]! | 0x20) <= 0x7a)) i++;
  if (i === start || end - i < 3 || buf[i] !== COLON || buf[i + 1] !== SLASH || buf[i + 2] !== SLASH) return false;
  for (i += 3; i < end; i++) {
    const b = buf[i]!;
    if (b === SLASH || b === QUESTION) return true;
    if (AUTHORITY[b] === 0) return false;
  }
  return true;
}
