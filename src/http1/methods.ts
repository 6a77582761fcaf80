/**
 * The request methods the proxy implements: those of Node's HTTP/1.1 parser (llhttp), so that the
 * raw path and the node:http path forward and refuse the same methods (RFC 9110 section 9.1: a
 * server answers 501 to a method it does not implement). Matched against the bytes of the request
 * line without making a string: the parser hands out these interned names.
 */

/** Node's `http.METHODS` (llhttp 9.3), the common ones first since they are tried in order. */
export const HTTP1_METHODS: readonly string[] = Object.freeze([
  'GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE',
  'ACL', 'BIND', 'CHECKOUT', 'COPY', 'LINK', 'LOCK', 'M-SEARCH', 'MERGE', 'MKACTIVITY', 'MKCALENDAR',
  'MKCOL', 'MOVE', 'NOTIFY', 'PROPFIND', 'PROPPATCH', 'PURGE', 'QUERY', 'REBIND', 'REPORT', 'SEARCH',
  'SOURCE', 'SUBSCRIBE', 'UNBIND', 'UNLINK', 'UNLOCK', 'UNSUBSCRIBE',
]);

interface Method {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** The methods by length: a request line's method is compared with a handful at most. */
const BY_LENGTH: readonly (readonly Method[])[] = (() => {
  const table: Method[][] = [];
  for (const name of HTTP1_METHODS) (table[name.length] ??= []).push({ name, bytes: Uint8Array.from(name, (c) => c.charCodeAt(0)) });
  return table;
})();

/** The method at buf[start, end) if it is one of HTTP1_METHODS (case-sensitive, RFC 9110 section 9.1), else null. */
export function knownMethod(buf: Uint8Array, start: number, end: number): string | null {
  const candidates = BY_LENGTH[end - start];
  if (candidates === undefined) return null;
  next: for (const m of candidates) {
    const bytes = m.bytes;
    for (let k = 0; k < bytes.length; k++) if (buf[start + k] !== bytes[k]) continue next;
    return m.name;
  }
  return null;
}
