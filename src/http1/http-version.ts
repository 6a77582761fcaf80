/**
 * HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 section 2.3), of which this proxy speaks two:
 * HTTP/1.0 and HTTP/1.1. Anything else, HTTP/1.2 and HTTP/2.0 included, is refused: a minor
 * version above 1 names no HTTP/1 that exists, and HTTP/2 does not begin with a request line.
 */

/** The bytes ran out before the version did. */
export const VERSION_PARTIAL = -1;
/** `HTTP/` and a version other than 1.0 or 1.1. */
export const VERSION_BAD = -2;
/** Not `HTTP/` at all: the line is something else. */
export const VERSION_NOT_HTTP = -3;

const PREFIX = Uint8Array.from('HTTP/1.', (c) => c.charCodeAt(0));

/** The minor version (0 or 1) of the HTTP-version at buf[at, at + 8), VERSION_PARTIAL, VERSION_BAD or VERSION_NOT_HTTP. */
export function readHttpVersion(buf: Uint8Array, at: number, end: number): number {
  for (let k = 0; k < 7; k++) {
    if (at + k >= end) return VERSION_PARTIAL;
    if (buf[at + k] !== PREFIX[k]) return k < 5 ? VERSION_NOT_HTTP : VERSION_BAD;
  }
  if (at + 7 >= end) return VERSION_PARTIAL;
  const minor = buf[at + 7]! - 0x30;
  return minor === 0 || minor === 1 ? minor : VERSION_BAD;
}
