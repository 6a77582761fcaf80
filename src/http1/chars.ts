/**
 * The character classes of HTTP/1.1 messages (RFC 9110 section 5.6.2 and 5.5, RFC 9112 section
 * 3.2), as 256-entry tables: one indexed load per byte, no branch per class. Shared by the request
 * and response head parsers and the chunked body decoder, which are the proxy's security boundary:
 * what they refuse never reaches a pod.
 */

function table(test: (b: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let b = 0; b < 256; b++) t[b] = test(b) ? 1 : 0;
  return t;
}

const TCHAR_SYMBOLS = "!#$%&'*+-.^_`|~";

/** tchar: a letter, a digit or one of !#$%&'*+-.^_`|~ (the characters of a method or a field name). */
export const TCHAR: Uint8Array = table(
  (b) => (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || TCHAR_SYMBOLS.includes(String.fromCharCode(b)),
);

/**
 * The bytes of a field value: field-vchar (VCHAR and obs-text) and the SP and HTAB between them.
 * Never CR, LF or NUL (RFC 9110 section 5.5: they are refused, not replaced), nor other controls.
 */
export const FIELD_VALUE: Uint8Array = table((b) => b === 0x09 || (b >= 0x20 && b !== 0x7f));

/**
 * The bytes of a request target: VCHAR only (RFC 9112 section 3.2: no whitespace; the forms are
 * told apart later). obs-text is refused, as llhttp refuses it.
 */
export const TARGET: Uint8Array = table((b) => b > 0x20 && b < 0x7f);

/**
 * The bytes of the authority in an absolute-form target (RFC 3986 section 3.2): unreserved,
 * pct-encoded, sub-delims, and the `:`, `@`, `[` and `]` of user info, ports and IP literals.
 */
export const AUTHORITY: Uint8Array = table(
  (b) => (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || "-._~%!$&'()*+,;=:@[]".includes(String.fromCharCode(b)),
);

/** The reason phrase of a status line: HTAB, SP, VCHAR, obs-text (RFC 9112 section 4). */
export const REASON: Uint8Array = FIELD_VALUE;

/**
 * qdtext, the bytes of a quoted-string other than its escapes (RFC 9110 section 5.6.4): HTAB, SP,
 * VCHAR except DQUOTE and backslash, obs-text. After a backslash any FIELD_VALUE byte may follow.
 */
export const QDTEXT: Uint8Array = table((b) => b === 0x09 || (b >= 0x20 && b !== 0x7f && b !== 0x22 && b !== 0x5c));

/** HEXDIG, for chunk sizes: its value, or 255 for a byte that is not one. */
export const HEX_VALUE: Uint8Array = (() => {
  const t = new Uint8Array(256).fill(255);
  for (let d = 0; d < 10; d++) t[0x30 + d] = d;
  for (let d = 0; d < 6; d++) {
    t[0x41 + d] = 10 + d;
    t[0x61 + d] = 10 + d;
  }
  return t;
})();

export const CR = 0x0d;
export const LF = 0x0a;
export const SP = 0x20;
export const HTAB = 0x09;
export const COLON = 0x3a;
export const SEMICOLON = 0x3b;
export const COMMA = 0x2c;
export const EQUALS = 0x3d;
export const DQUOTE = 0x22;
export const BACKSLASH = 0x5c;

/** Optional whitespace (OWS): SP or HTAB. */
export function isOws(b: number): boolean {
  return b === SP || b === HTAB;
}
