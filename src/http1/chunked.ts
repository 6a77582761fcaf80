/**
 * A strict, incremental decoder of the chunked transfer coding (RFC 9112 section 7.1), for request
 * and response bodies alike. Bytes arrive in any split; each push() carries the state machine on
 * from where the last one stopped, so every split of a message decodes to the same spans, the
 * same trailers and the same refusal.
 *
 * Strict where a lax reading is a smuggling tool: a chunk-size is hex digits only, below 2^53 (no
 * sign, no `0x`, no whitespace, no overflow wrapping to a small size); the size line ends in CRLF
 * or in chunk extensions `;name[=token|quoted-string]` without whitespace (the BWS that RFC 9112
 * section 7.1.1 tolerates is refused, as llhttp refuses it; an empty name or value before or
 * after `=` passes, as llhttp lets it, since no one reads extensions), the whole line at most
 * MAX_SIZE_LINE_BYTES; chunk data is followed by CRLF exactly; no bare CR or LF anywhere; trailer
 * lines are checked as header lines are, and bounded.
 *
 * Pure and allocation-free per push: data goes to the sink as ranges of the caller's buffer. Only
 * a trailer section allocates: a buffer of maxTrailerBytes, made on the first trailer and kept
 * for the connection, and the trailer strings.
 */
import { BACKSLASH, CR, DQUOTE, EQUALS, FIELD_VALUE, HEX_VALUE, LF, QDTEXT, SEMICOLON, TCHAR } from './chars.js';
import type { Http1Error, Http1ErrorCode } from './errors.js';
import { HTTP1_ERRORS } from './errors.js';
import { FieldLines, SCAN_FAILED, SCAN_PARTIAL } from './field-lines.js';

/** Receives the decoded body: each call a range of the buffer given to push(), valid until it returns. */
export interface ChunkSink {
  data(buf: Buffer, start: number, end: number): void;
}

export interface ChunkedLimits {
  /** Bytes of the trailer section, its final CRLF included. */
  readonly maxTrailerBytes: number;
  /** Trailer field lines. */
  readonly maxTrailerCount: number;
}

/**
 * Bytes of one chunk-size line, its digits and extensions: Node's own bound on extensions (its
 * parser refuses more than 16 KiB of them since CVE-2024-22019), so that bytes nobody reads, and
 * no body limit counts, cannot be sent without end. Leading zeros count too.
 */
export const MAX_SIZE_LINE_BYTES = 16_384;

/** Chunk sizes stay exact in a Number: below 2^53. */
const MAX_SIZE = Number.MAX_SAFE_INTEGER;

// States of the decoder, between any two bytes.
const SIZE_START = 0;
const SIZE = 1;
const EXT_NAME_START = 2;
const EXT_NAME = 3;
const EXT_VALUE_START = 4;
const EXT_TOKEN = 5;
const EXT_QUOTED = 6;
const EXT_QUOTED_PAIR = 7;
const EXT_AFTER_QUOTED = 8;
const SIZE_LF = 9;
const DATA = 10;
const DATA_CR = 11;
const DATA_LF = 12;
const TRAILER_START = 13;
const LAST_LF = 14;
const TRAILERS = 15;
const DONE = 16;
const FAILED = 17;

/** #trailerLength once the trailer section has ended. */
const SECTION_COMPLETE = -1;

const NO_TRAILERS: string[] = Object.freeze([]) as unknown as string[];

export class ChunkedDecoder {
  readonly #maxTrailerBytes: number;
  readonly #maxTrailerCount: number;
  #state = SIZE_START;
  /** The chunk-size being read, then the data bytes of the chunk still to come. */
  #size = 0;
  /** Bytes of the chunk-size line so far. */
  #lineBytes = 0;
  #error: Http1Error | null = null;
  #trailers: string[] = NO_TRAILERS;
  /** The trailer section as it arrives (made on the first trailer, kept for the next messages). */
  #trailerBuf: Buffer | null = null;
  #trailerLength = 0;
  #trailerLines: FieldLines | null = null;

  constructor(limits: ChunkedLimits) {
    this.#maxTrailerBytes = limits.maxTrailerBytes;
    this.#maxTrailerCount = limits.maxTrailerCount;
  }

  /** The last chunk and the trailer section have been read: the message body is complete. */
  get done(): boolean {
    return this.#state === DONE;
  }

  /** Flat [name, value, ...] of the trailer section; empty when it had none. */
  get trailers(): string[] {
    return this.#trailers;
  }

  /** Why push() returned -1; null otherwise. */
  get error(): Http1Error | null {
    return this.#error;
  }

  /** Ready for the next chunked message on the same connection. */
  reset(): void {
    this.#state = SIZE_START;
    this.#size = 0;
    this.#lineBytes = 0;
    this.#error = null;
    this.#trailers = NO_TRAILERS;
    this.#trailerLength = 0;
  }

  /**
   * Decodes chunked bytes buf[start, end): each data span goes to sink.data (ranges of buf, no
   * copies). Returns the number of bytes consumed: end - start unless the message ended inside
   * (the rest belongs to the next message), or -1 on an error (then `error` says what). Once done,
   * consumes nothing until reset(); once failed, returns -1 until reset().
   */
  push(buf: Buffer, start: number, end: number, sink: ChunkSink): number {
    let state = this.#state;
    if (state === FAILED) return -1;
    let i = start;
    while (i < end && state !== DONE) {
      if (state === DATA) {
        // The body's bytes, handed over as one span per push and chunk.
        const take = Math.min(this.#size, end - i);
        sink.data(buf, i, i + take);
        i += take;
        this.#size -= take;
        if (this.#size === 0) state = DATA_CR;
        continue;
      }
      if (state === TRAILERS) {
        const used = this.#pushTrailers(buf, i, end);
        if (used < 0) return -1;
        i += used;
        if (this.#trailerLength === SECTION_COMPLETE) state = DONE;
        continue;
      }
      const b = buf[i]!;
      i++;
      switch (state) {
        case SIZE_START:
        case SIZE: {
          const d = HEX_VALUE[b]!;
          if (d !== 255) {
            if (++this.#lineBytes > MAX_SIZE_LINE_BYTES) return this.#fail('bad-chunk-size');
            // Checked before it grows: a size never wraps round to a small one.
            if (this.#size > (MAX_SIZE - d) / 16) return this.#fail('chunk-too-large');
            this.#size = this.#size * 16 + d;
            state = SIZE;
          } else if (state === SIZE_START) {
            return this.#fail(b === LF ? 'bare-lf' : 'bad-chunk-size');
          } else if (b === CR) {
            state = SIZE_LF;
          } else if (b === SEMICOLON) {
            state = EXT_NAME_START;
          } else {
            return this.#fail(b === LF ? 'bare-lf' : 'bad-chunk-size');
          }
          break;
        }
        case SIZE_LF:
          if (b !== LF) return this.#fail('bare-cr');
          state = this.#size === 0 ? TRAILER_START : DATA;
          this.#lineBytes = 0;
          break;
        case DATA_CR:
          if (b !== CR) return this.#fail('bad-chunk-end');
          state = DATA_LF;
          break;
        case DATA_LF:
          if (b !== LF) return this.#fail('bad-chunk-end');
          state = SIZE_START;
          break;
        case TRAILER_START:
          if (b === CR) state = LAST_LF;
          else if (b === LF) return this.#fail('bare-lf');
          else {
            // The first byte of a trailer line: read again as part of the section.
            i--;
            state = TRAILERS;
          }
          break;
        case LAST_LF:
          if (b !== LF) return this.#fail('bare-cr');
          state = DONE;
          break;
        default: {
          // A chunk extension (RFC 9112 section 7.1.1): chunk-ext = *( ";" ext-name [ "=" ext-val ] ).
          if (++this.#lineBytes > MAX_SIZE_LINE_BYTES) return this.#fail('bad-chunk-extension');
          const next = extensionStep(state, b);
          if (next < 0) return this.#fail(next === BARE_LF ? 'bare-lf' : 'bad-chunk-extension');
          state = next;
        }
      }
    }
    this.#state = state;
    return i - start;
  }

  /**
   * Copies trailer bytes in (up to the limit) and rescans the section from its start: bounded by
   * maxTrailerBytes, and trailers are rare. Returns the bytes of buf used, -1 on an error; sets
   * #trailerLength to SECTION_COMPLETE once the section is complete.
   */
  #pushTrailers(buf: Buffer, start: number, end: number): number {
    const max = this.#maxTrailerBytes;
    const section = (this.#trailerBuf ??= Buffer.allocUnsafe(max));
    const lines = (this.#trailerLines ??= new FieldLines());
    const before = this.#trailerLength;
    const copied = buf.copy(section, before, start, Math.min(end, start + max - before));
    const length = before + copied;
    const sectionEnd = lines.scan(section, 0, length, this.#maxTrailerCount);
    if (sectionEnd === SCAN_PARTIAL) {
      if (length >= max) return this.#fail('trailer-too-large');
      this.#trailerLength = length;
      return copied;
    }
    if (sectionEnd === SCAN_FAILED) return this.#fail(lines.error === 'too-many-fields' ? 'trailer-too-large' : 'bad-trailer');
    this.#trailers = lines.read(section, 0, false)!;
    this.#trailerLength = SECTION_COMPLETE;
    return sectionEnd - before;
  }

  #fail(code: Http1ErrorCode): -1 {
    this.#error = HTTP1_ERRORS[code];
    this.#state = FAILED;
    return -1;
  }
}

/** extensionStep(): an LF without CR. */
const BARE_LF = -2;

/** The state after byte `b` of a chunk extension in state `state`; -1 (malformed) or BARE_LF. */
function extensionStep(state: number, b: number): number {
  switch (state) {
    case EXT_NAME_START:
      // An empty name before `=` (`;=v`) passes, as llhttp lets it: nothing here reads extensions,
      // and both of the proxy's paths then take the same bodies.
      if (b === EQUALS) return EXT_VALUE_START;
      return TCHAR[b] === 1 ? EXT_NAME : -1;
    case EXT_NAME:
      if (TCHAR[b] === 1) return EXT_NAME;
      if (b === EQUALS) return EXT_VALUE_START;
      return extensionEnd(b);
    case EXT_VALUE_START:
      if (b === DQUOTE) return EXT_QUOTED;
      // An empty value (`;name=`) passes, as llhttp lets it: nothing here reads extensions.
      return TCHAR[b] === 1 ? EXT_TOKEN : extensionEnd(b);
    case EXT_TOKEN:
      return TCHAR[b] === 1 ? EXT_TOKEN : extensionEnd(b);
    case EXT_QUOTED:
      if (b === DQUOTE) return EXT_AFTER_QUOTED;
      if (b === BACKSLASH) return EXT_QUOTED_PAIR;
      return QDTEXT[b] === 1 ? EXT_QUOTED : -1;
    case EXT_QUOTED_PAIR:
      return FIELD_VALUE[b] === 1 ? EXT_QUOTED : -1;
    default:
      return extensionEnd(b);
  }
}

/** After an extension: another one, or the end of the size line. */
function extensionEnd(b: number): number {
  if (b === SEMICOLON) return EXT_NAME_START;
  if (b === CR) return SIZE_LF;
  return b === LF ? BARE_LF : -1;
}
