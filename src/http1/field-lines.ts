/**
 * The field section of an HTTP/1.1 message (RFC 9112 section 5): the header lines after a start
 * line, or the trailer lines after the last chunk. Shared by the request and response head parsers
 * and the chunked decoder.
 *
 * Two stages. `scan()` walks the bytes once, one table load per byte, validating each line
 * (`name ":" OWS value OWS CRLF`: token name, no whitespace before the colon, field-vchar value, no
 * obs-fold, no bare CR or LF) and recording where each name and value lies in an Int32Array; it
 * allocates nothing, so a head that is still arriving costs no garbage however often it is
 * rescanned. Only once the section is complete does `read()` make the strings and, for a head,
 * work out the framing fields in place from the bytes: Content-Length, Transfer-Encoding,
 * Connection, Expect and Upgrade. The strings are cut from one latin1 string of the whole message
 * head: each Buffer slice is a call into C++ (about 90 ns), a substring of a string is not (about
 * 15 ns), so one slice and 2n substrings cost a fifth of 2n slices. Common names are not cut at
 * all but interned (field-names.ts): a fifth less garbage per head, at the same speed.
 */
import { BACKSLASH, COLON, COMMA, CR, DQUOTE, EQUALS, FIELD_VALUE, HTAB, LF, QDTEXT, SEMICOLON, SP, TCHAR } from './chars.js';
import type { Http1ErrorCode } from './errors.js';
import { commonFieldName } from './field-names.js';

/** scan(): the bytes ran out before the empty line that ends the section. */
export const SCAN_PARTIAL = -1;
/** scan(): the section is malformed; `error` says how. */
export const SCAN_FAILED = -2;

/** Buffer's own latin1 slicer: toString('latin1', s, e) without the encoding lookup on each call. */
type Latin1Buffer = Uint8Array & { latin1Slice(start: number, end: number): string };

/** A slice of bytes as a string, one byte per character (RFC 9110 section 5.5: obs-text is opaque). */
export function latin1(buf: Uint8Array, start: number, end: number): string {
  return (buf as Latin1Buffer).latin1Slice(start, end);
}

/** Lower-case ASCII names compared against the bytes of a field name. */
const CONTENT_LENGTH = ascii('content-length');
const TRANSFER_ENCODING = ascii('transfer-encoding');
const CONNECTION = ascii('connection');
const EXPECT = ascii('expect');
const UPGRADE = ascii('upgrade');
const CHUNKED = ascii('chunked');
const CLOSE = ascii('close');
const KEEP_ALIVE = ascii('keep-alive');
const CONTINUE = ascii('100-continue');

function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/**
 * Whether buf[at, at + lower.length) is `lower`, ignoring ASCII case. `b | 0x20` folds only
 * letters onto lower case among the bytes that can reach here (tokens, and the `-` and digits of
 * the names above), so it is exact.
 */
function equalsLower(buf: Uint8Array, at: number, end: number, lower: Uint8Array): boolean {
  const n = lower.length;
  if (end - at !== n) return false;
  for (let k = 0; k < n; k++) if ((buf[at + k]! | 0x20) !== lower[k]) return false;
  return true;
}

/** The largest Content-Length: 2^53 - 1, the largest integer a Number holds exactly. */
const MAX_LENGTH = Number.MAX_SAFE_INTEGER;

/** How Transfer-Encoding ends, once read(): what the framing rules of RFC 9112 section 6.3 need. */
export const TE_NONE = 0;
/** The final coding is chunked, applied once. */
export const TE_CHUNKED = 1;
/** Codings are listed, none of them chunked or chunked before another one. */
export const TE_OTHER = 2;

/**
 * One field section at a time. Not re-entrant, and need not be: scan() and read() run to
 * completion synchronously, so one instance serves every head parsed on a thread.
 */
export class FieldLines {
  /** Per field: name start, name end (the colon), value start, value end (trailing OWS trimmed). */
  #marks = new Int32Array(4 * 32);
  /** Field lines found by the last scan(). */
  count = 0;
  /** Where the section found by the last successful scan() ends: after its empty line. */
  sectionEnd = 0;
  /**
   * After read(): the bytes from read()'s `base` to sectionEnd as one latin1 string, so that the
   * start line's parts can be cut from it as well.
   */
  text = '';
  /** Why the last scan() or read() failed. */
  error: Http1ErrorCode = 'bad-field-name';

  // The framing fields, set by read(buf, true).
  /** Content-Length, or -1 when absent. */
  contentLength = -1;
  /** TE_NONE, TE_CHUNKED or TE_OTHER. */
  transferEncoding = TE_NONE;
  /** Connection lists these options (RFC 9112 section 9.3, RFC 9110 section 7.6.1). */
  close = false;
  keepAlive = false;
  upgradeOption = false;
  /** An Upgrade field is present (RFC 9110 section 7.8). */
  upgrade = false;
  /** Expect lists 100-continue (RFC 9110 section 10.1.1). */
  expectContinue = false;
  /** Transfer-Encoding has listed chunked already (last or not): it may not be applied again. */
  #chunked = false;

  /**
   * Validates the field lines from `pos` to the empty line that ends the section, without making
   * strings. `end` is where the bytes stop, or where the size limit stops them.
   * @returns the position after the empty line's CRLF, SCAN_PARTIAL or SCAN_FAILED
   */
  scan(buf: Uint8Array, pos: number, end: number, maxCount: number): number {
    let marks = this.#marks;
    let count = 0;
    let p = pos;
    for (;;) {
      if (p >= end) return SCAN_PARTIAL;
      const first = buf[p]!;
      if (first === CR) {
        if (p + 1 >= end) return SCAN_PARTIAL;
        if (buf[p + 1] !== LF) return this.#fail('bare-cr');
        this.count = count;
        return (this.sectionEnd = p + 2);
      }
      // A name: tokens up to the colon, nothing between (RFC 9112 section 5.1).
      let i = p;
      while (i < end && TCHAR[buf[i]!] === 1) i++;
      if (i >= end) return SCAN_PARTIAL;
      if (buf[i] !== COLON || i === p) {
        if (i === p) {
          if (first === SP || first === HTAB) return this.#fail('obs-fold');
          if (first === LF) return this.#fail('bare-lf');
        }
        return this.#fail('bad-field-name');
      }
      const nameEnd = i++;
      while (i < end && (buf[i] === SP || buf[i] === HTAB)) i++;
      const valueStart = i;
      // Four bytes a step while they last: one branch for the common run of plain text.
      while (i + 4 <= end && (FIELD_VALUE[buf[i]!]! & FIELD_VALUE[buf[i + 1]!]! & FIELD_VALUE[buf[i + 2]!]! & FIELD_VALUE[buf[i + 3]!]!) === 1) i += 4;
      while (i < end && FIELD_VALUE[buf[i]!] === 1) i++;
      if (i >= end) return SCAN_PARTIAL;
      const stop = buf[i];
      if (stop !== CR) return this.#fail(stop === LF ? 'bare-lf' : 'bad-field-value');
      if (i + 1 >= end) return SCAN_PARTIAL;
      if (buf[i + 1] !== LF) return this.#fail('bare-cr');
      let valueEnd = i;
      while (valueEnd > valueStart && (buf[valueEnd - 1] === SP || buf[valueEnd - 1] === HTAB)) valueEnd--;
      if (count === maxCount) return this.#fail('too-many-fields');
      const m = count * 4;
      if (m === marks.length) {
        const grown = new Int32Array(marks.length * 2);
        grown.set(marks);
        this.#marks = marks = grown;
      }
      marks[m] = p;
      marks[m + 1] = nameEnd;
      marks[m + 2] = valueStart;
      marks[m + 3] = valueEnd;
      count++;
      p = i + 2;
    }
  }

  /**
   * The fields of the last successful scan() as a flat [name, value, ...] list, names as sent.
   * With `framing`, reads the framing fields too, and fails (null, `error` set) on a
   * Content-Length given twice or malformed, or a malformed Transfer-Encoding.
   * @param base where the message head starts (at or before the section): `text` starts there
   */
  read(buf: Uint8Array, base: number, framing: boolean): string[] | null {
    const marks = this.#marks;
    const count = this.count;
    const text = (this.text = latin1(buf, base, this.sectionEnd));
    const list = new Array<string>(count * 2);
    if (framing) {
      this.contentLength = -1;
      this.transferEncoding = TE_NONE;
      this.#chunked = false;
      this.close = this.keepAlive = this.upgradeOption = this.upgrade = this.expectContinue = false;
    }
    for (let f = 0; f < count; f++) {
      const m = f * 4;
      const nameStart = marks[m]!;
      const nameEnd = marks[m + 1]!;
      const valueStart = marks[m + 2]!;
      const valueEnd = marks[m + 3]!;
      list[2 * f] = commonFieldName(buf, nameStart, nameEnd) ?? text.substring(nameStart - base, nameEnd - base);
      list[2 * f + 1] = text.substring(valueStart - base, valueEnd - base);
      if (framing && !this.#framingField(buf, nameStart, nameEnd, valueStart, valueEnd)) return null;
    }
    return list;
  }

  /** Reads one field if it is a framing field; false when it is malformed. */
  #framingField(buf: Uint8Array, nameStart: number, nameEnd: number, valueStart: number, valueEnd: number): boolean {
    // The length alone rules out nearly every other field before a byte is compared.
    switch (nameEnd - nameStart) {
      case 14:
        if (equalsLower(buf, nameStart, nameEnd, CONTENT_LENGTH)) return this.#contentLength(buf, valueStart, valueEnd);
        return true;
      case 17:
        if (equalsLower(buf, nameStart, nameEnd, TRANSFER_ENCODING)) return this.#transferCodings(buf, valueStart, valueEnd);
        return true;
      case 10:
        if (equalsLower(buf, nameStart, nameEnd, CONNECTION)) this.#listMembers(buf, valueStart, valueEnd, false);
        return true;
      case 6:
        if (equalsLower(buf, nameStart, nameEnd, EXPECT)) this.#listMembers(buf, valueStart, valueEnd, true);
        return true;
      case 7:
        if (equalsLower(buf, nameStart, nameEnd, UPGRADE)) this.upgrade = true;
        return true;
      default:
        return true;
    }
  }

  /**
   * Content-Length = 1*DIGIT (RFC 9110 section 8.6), below 2^53, given once. A list of identical
   * values (`5, 5`) or repeated identical lines, which section 8.6 lets a recipient accept, are
   * refused as llhttp refuses them: one rule for both of the proxy's paths, and no room for two
   * parsers to read one message two ways.
   */
  #contentLength(buf: Uint8Array, start: number, end: number): boolean {
    if (this.contentLength !== -1) return this.#refuse('conflicting-content-length');
    if (start === end || end - start > 16) return this.#refuse('bad-content-length');
    let n = 0;
    for (let i = start; i < end; i++) {
      const d = buf[i]! - 0x30;
      if (d < 0 || d > 9) return this.#refuse('bad-content-length');
      n = n * 10 + d;
    }
    if (n > MAX_LENGTH) return this.#refuse('bad-content-length');
    this.contentLength = n;
    return true;
  }

  /**
   * Transfer-Encoding = #transfer-coding, transfer-coding = token *( OWS ";" OWS token "="
   * ( token / quoted-string ) ) (RFC 9112 section 7, RFC 9110 section 5.6). Lines add to one list;
   * an empty value or member is refused. Chunked must not be applied twice nor take parameters
   * (RFC 9112 section 7.1); whether it ends the list is recorded for the framing rules.
   */
  #transferCodings(buf: Uint8Array, start: number, end: number): boolean {
    let i = start;
    for (;;) {
      const nameStart = i;
      while (i < end && TCHAR[buf[i]!] === 1) i++;
      // An empty member, or a byte that is no token: refused, since two parsers could read a
      // coding list with holes two ways (llhttp takes `, chunked` but not `chunked,`).
      if (i === nameStart) return this.#badCoding();
      const chunked = equalsLower(buf, nameStart, i, CHUNKED);
      let params = false;
      for (;;) {
        let j = i;
        while (j < end && (buf[j] === SP || buf[j] === HTAB)) j++;
        if (j >= end || buf[j] !== SEMICOLON) {
          i = j;
          break;
        }
        j++;
        while (j < end && (buf[j] === SP || buf[j] === HTAB)) j++;
        const paramStart = j;
        while (j < end && TCHAR[buf[j]!] === 1) j++;
        if (j === paramStart || j >= end || buf[j] !== EQUALS) return this.#badCoding();
        j++;
        if (j < end && buf[j] === DQUOTE) j = quotedStringEnd(buf, j, end);
        else {
          const valueStart = j;
          while (j < end && TCHAR[buf[j]!] === 1) j++;
          if (j === valueStart) j = -1;
        }
        if (j < 0) return this.#badCoding();
        i = j;
        params = true;
      }
      if (chunked && (params || this.#chunked)) return this.#badCoding();
      if (chunked) this.#chunked = true;
      this.transferEncoding = chunked ? TE_CHUNKED : TE_OTHER;
      if (i >= end) return true;
      if (buf[i] !== COMMA) return this.#badCoding();
      i++;
      while (i < end && (buf[i] === SP || buf[i] === HTAB)) i++;
    }
  }

  #badCoding(): boolean {
    return this.#refuse('bad-transfer-encoding');
  }

  /**
   * The members of a Connection list (RFC 9110 section 7.6.1: the options the framing needs) or
   * of an Expect list (section 10.1.1: only 100-continue means anything).
   */
  #listMembers(buf: Uint8Array, start: number, end: number, expect: boolean): void {
    let i = start;
    while (i < end) {
      while (i < end && (buf[i] === COMMA || buf[i] === SP || buf[i] === HTAB)) i++;
      const memberStart = i;
      while (i < end && buf[i] !== COMMA && buf[i] !== SP && buf[i] !== HTAB) i++;
      if (expect) {
        if (equalsLower(buf, memberStart, i, CONTINUE)) this.expectContinue = true;
      } else if (equalsLower(buf, memberStart, i, CLOSE)) this.close = true;
      else if (equalsLower(buf, memberStart, i, KEEP_ALIVE)) this.keepAlive = true;
      else if (equalsLower(buf, memberStart, i, UPGRADE)) this.upgradeOption = true;
    }
  }

  #fail(code: Http1ErrorCode): number {
    this.error = code;
    return SCAN_FAILED;
  }

  #refuse(code: Http1ErrorCode): false {
    this.error = code;
    return false;
  }
}

/**
 * The position after the quoted-string that starts with the DQUOTE at `at` (RFC 9110 section
 * 5.6.4), or -1 when it is malformed or unterminated before `end`.
 */
export function quotedStringEnd(buf: Uint8Array, at: number, end: number): number {
  let i = at + 1;
  while (i < end) {
    const b = buf[i]!;
    if (b === DQUOTE) return i + 1;
    if (b === BACKSLASH) {
      if (i + 1 >= end || FIELD_VALUE[buf[i + 1]!] === 0) return -1;
      i += 2;
    } else if (QDTEXT[b] === 1) i++;
    else return -1;
  }
  return -1;
}
