/**
 * The result of parsing a request or response head, shared by both parsers.
 *
 * The caller accumulates bytes and calls the parser again until the head is complete; each call
 * parses from the start of the head, so one call costs at most maxHeaderBytes of scanning, and a
 * head that cannot fit the limit is refused as soon as the limit is passed rather than when it
 * ends. 'partial' and 'invalid' results are module constants: waiting and refusing allocate nothing.
 */
import type { Http1Error, Http1ErrorCode } from './errors.js';
import { HTTP1_ERRORS } from './errors.js';
import type { FieldLines } from './field-lines.js';
import { SCAN_FAILED, SCAN_PARTIAL } from './field-lines.js';

export interface HeadLimits {
  /** Bytes of the whole head, start line to the final CRLF CRLF included. */
  readonly maxHeaderBytes: number;
  /** Field lines in the head. */
  readonly maxHeaderCount: number;
}

export type HeadParse<T> =
  /** `length`: bytes of the head including the final CRLF CRLF; the body or the next message follows. */
  | { readonly kind: 'done'; readonly head: T; readonly length: number }
  /** No complete head yet, and nothing wrong so far: call again with more bytes. */
  | { readonly kind: 'partial' }
  | { readonly kind: 'invalid'; readonly error: Http1Error };

export type HeadInvalid = Extract<HeadParse<never>, { kind: 'invalid' }>;

/** The one 'partial' result. */
export const HEAD_PARTIAL: Extract<HeadParse<never>, { kind: 'partial' }> = Object.freeze({ kind: 'partial' });

const INVALID: Readonly<Record<Http1ErrorCode, HeadInvalid>> = Object.freeze(
  Object.fromEntries(Object.values(HTTP1_ERRORS).map((error) => [error.code, Object.freeze({ kind: 'invalid', error })])) as Record<Http1ErrorCode, HeadInvalid>,
);

/** The frozen 'invalid' result for `code`. */
export function headInvalid(code: Http1ErrorCode): HeadInvalid {
  return INVALID[code];
}

/**
 * What to answer when the bytes ran out before the head ended: 'partial' while more bytes could
 * still complete it within the limit, 'head-too-large' once they cannot.
 */
export function headIncomplete(start: number, end: number, limits: HeadLimits): HeadParse<never> {
  return end - start >= limits.maxHeaderBytes ? INVALID['head-too-large'] : HEAD_PARTIAL;
}

/**
 * The field lines of a head, from `from` (just after the start line) to the empty line, with the
 * framing fields read into `fields`: their flat list, or the result to hand back when they are
 * incomplete or invalid. On a list, `fields.sectionEnd` is where the head ends and `fields.text`
 * is the whole head, from `start`, as a string.
 * @param stop where the bytes end, or the limit does
 */
export function headFields(fields: FieldLines, buf: Uint8Array, from: number, stop: number, start: number, end: number, limits: HeadLimits): string[] | HeadParse<never> {
  const sectionEnd = fields.scan(buf, from, stop, limits.maxHeaderCount);
  if (sectionEnd === SCAN_PARTIAL) return headIncomplete(start, end, limits);
  if (sectionEnd === SCAN_FAILED) return INVALID[fields.error];
  return fields.read(buf, start, true) ?? INVALID[fields.error];
}
