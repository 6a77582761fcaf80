/**
 * Why the HTTP/1.1 parsers refused a message: one stable code per kind of fault, each with the
 * section of RFC 9112 or RFC 9110 it breaks. A refusal is a value, not an exception: the parsers
 * are the proxy's security boundary and see whatever a peer sends, so bad input must cost no more
 * than good input. The reasons are fixed sentences (no bytes of the message in them), so that a
 * refusal allocates nothing and a log line carries nothing a client chose.
 */

/** What was wrong with a message; the comment after each code names the rule it breaks. */
export type Http1ErrorCode =
  /** The head is larger than maxHeaderBytes (RFC 9110 section 5.4: a server answers 431). */
  | 'head-too-large'
  /** More field lines than maxHeaderCount (RFC 9110 section 5.4). */
  | 'too-many-fields'
  /** The request line is not `method SP request-target SP HTTP-version CRLF` (RFC 9112 section 3). */
  | 'bad-request-line'
  /** The method is not a token (RFC 9112 section 3.1, RFC 9110 section 9.1). */
  | 'bad-method'
  /** The method is a token no one here implements (RFC 9110 section 9.1: answered 501). */
  | 'unknown-method'
  /** The request-target has a byte other than VCHAR, or is in none of the four forms (RFC 9112 section 3.2). */
  | 'bad-target'
  /** The version is not HTTP/1.0 or HTTP/1.1 (RFC 9112 section 2.3). */
  | 'bad-version'
  /** The status line is not `HTTP-version SP 3DIGIT SP reason-phrase CRLF`, status 100-599 (RFC 9112 section 4, RFC 9110 section 15). */
  | 'bad-status-line'
  /** A field name is empty, not a token, or followed by whitespace before its colon (RFC 9112 section 5.1). */
  | 'bad-field-name'
  /** A field value has NUL or a control character other than HTAB (RFC 9110 section 5.5). */
  | 'bad-field-value'
  /** A field line starts with whitespace: obsolete line folding (RFC 9112 section 5.2). */
  | 'obs-fold'
  /** A CR not followed by LF (RFC 9112 section 2.2). */
  | 'bare-cr'
  /** An LF not preceded by CR: only CRLF ends a line here (RFC 9112 section 2.2). */
  | 'bare-lf'
  /** Content-Length is not 1*DIGIT, or not below 2^53 (RFC 9110 section 8.6). */
  | 'bad-content-length'
  /** Content-Length appears more than once (RFC 9110 section 8.6, RFC 9112 section 6.3 point 5). */
  | 'conflicting-content-length'
  /** A request has both Transfer-Encoding and Content-Length (RFC 9112 section 6.1 and 6.3 point 3). */
  | 'length-and-chunked'
  /** Transfer-Encoding is malformed, applies chunked more than once or not last in a request (RFC 9112 sections 6.1, 6.3 point 4 and 7). */
  | 'bad-transfer-encoding'
  /** A chunk-size is not 1*HEXDIG, is followed by something other than `;` or CRLF, or its line is too long (RFC 9112 section 7.1). */
  | 'bad-chunk-size'
  /** A chunk-size is not below 2^53 (RFC 9112 section 7.1: guard against overflow). */
  | 'chunk-too-large'
  /** A chunk extension is not `;name[=token|quoted-string]`, or the extensions are too long (RFC 9112 section 7.1.1). */
  | 'bad-chunk-extension'
  /** Chunk data is not followed by exactly CRLF (RFC 9112 section 7.1). */
  | 'bad-chunk-end'
  /** A trailer field line is malformed (RFC 9112 section 7.1.2, RFC 9110 section 5). */
  | 'bad-trailer'
  /** The trailer section is larger than maxTrailerBytes or has more than maxTrailerCount fields (RFC 9110 section 5.4). */
  | 'trailer-too-large';

export interface Http1Error {
  readonly code: Http1ErrorCode;
  /** One sentence for a log line or an error reply. */
  readonly reason: string;
}

const REASONS: Readonly<Record<Http1ErrorCode, string>> = {
  'head-too-large': 'The message head is larger than the configured maxHeaderBytes.',
  'too-many-fields': 'The message head has more field lines than the configured maxHeaderCount.',
  'bad-request-line': 'The request line is not "method SP request-target SP HTTP-version CRLF" (RFC 9112 section 3).',
  'bad-method': 'The request method is not a token (RFC 9112 section 3.1).',
  'unknown-method': 'The request method is not one this server implements (RFC 9110 section 9.1).',
  'bad-target': 'The request-target has a byte other than a visible ASCII character or is not in origin, absolute, authority or asterisk form (RFC 9112 section 3.2).',
  'bad-version': 'The HTTP version is neither HTTP/1.0 nor HTTP/1.1 (RFC 9112 section 2.3).',
  'bad-status-line': 'The status line is not "HTTP-version SP status-code SP reason-phrase CRLF" with a status from 100 to 599 (RFC 9112 section 4).',
  'bad-field-name': 'A field name is empty, has a character other than a token character, or is followed by whitespace before its colon (RFC 9112 section 5.1).',
  'bad-field-value': 'A field value has NUL or a control character other than HTAB (RFC 9110 section 5.5).',
  'obs-fold': 'A field line starts with whitespace: obsolete line folding is refused (RFC 9112 section 5.2).',
  'bare-cr': 'A CR is not followed by LF (RFC 9112 section 2.2).',
  'bare-lf': 'A line ends in LF without CR (RFC 9112 section 2.2).',
  'bad-content-length': 'Content-Length is not a single decimal number below 2^53 (RFC 9110 section 8.6).',
  'conflicting-content-length': 'Content-Length is given more than once (RFC 9110 section 8.6, RFC 9112 section 6.3).',
  'length-and-chunked': 'The request has both Transfer-Encoding and Content-Length, a request smuggling shape (RFC 9112 section 6.1).',
  'bad-transfer-encoding': 'Transfer-Encoding is malformed, applies chunked more than once, or does not end in chunked on a request (RFC 9112 sections 6.1 and 7).',
  'bad-chunk-size': 'A chunk size is not hexadecimal digits followed by an extension or CRLF, or its line is too long (RFC 9112 section 7.1).',
  'chunk-too-large': 'A chunk size is not below 2^53 (RFC 9112 section 7.1).',
  'bad-chunk-extension': 'A chunk extension is not ";name[=value]" with a token or quoted-string value, or the extensions are too long (RFC 9112 section 7.1.1).',
  'bad-chunk-end': 'Chunk data is not followed by CRLF (RFC 9112 section 7.1).',
  'bad-trailer': 'A trailer field line is malformed (RFC 9112 section 7.1.2).',
  'trailer-too-large': 'The trailer section is larger than the configured maxTrailerBytes or maxTrailerCount (RFC 9110 section 5.4).',
};

/** One frozen error per code, built once: a refusal hands out the same object every time. */
export const HTTP1_ERRORS: Readonly<Record<Http1ErrorCode, Http1Error>> = Object.freeze(
  Object.fromEntries(Object.entries(REASONS).map(([code, reason]) => [code, Object.freeze({ code, reason })])) as Record<Http1ErrorCode, Http1Error>,
);
