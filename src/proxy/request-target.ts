/**
 * Request targets in absolute form (RFC 9112 section 3.2.2): `GET http://host/path`, which a
 * server must accept. The proxy forwards the origin form and takes the target's authority as Host.
 * And the authority itself (Host, `:authority`), checked before it is forwarded and copied into
 * Forwarded and X-Forwarded-Host, where `a b` or `evil.com/@a` would mislead whoever reads them.
 */
import http from 'node:http';

/**
 * Request methods the proxy forwards: those Node's HTTP/1.1 parser (llhttp) knows, for HTTP/2 as
 * well, so that a request is refused or forwarded alike whichever protocol carries it.
 */
export const KNOWN_METHODS: ReadonlySet<string> = new Set(http.METHODS);

// RFC 3986 section 3.2.2: reg-name and IPv4 characters (unreserved, pct-encoded, sub-delims); an
// IP-literal in brackets; then an optional port. Empty is allowed: RFC 9112 section 3.2 has an
// empty Host for a target without an authority.
const AUTHORITY = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*(?::[0-9]*)?$|^\[[0-9A-Za-z.:\-_~!$&'()*+,;=%]+\](?::[0-9]*)?$/;

/** `host[:port]` as RFC 9110 section 7.2 allows it in Host and `:authority`: no user info, path, spaces. */
export function isValidAuthority(text: string): boolean {
  return AUTHORITY.test(text);
}

/**
 * The origin form (`/path?query`) of an absolute-form target (`http://host/path?query`, RFC 9112
 * section 3.2.2), which a server must accept; null for anything else (`*`, authority form).
 */
export function originForm(target: string): string | null {
  const scheme = target.indexOf('://');
  if (scheme < 0) return null;
  const name = target.slice(0, scheme).toLowerCase();
  if (name !== 'http' && name !== 'https') return null;
  const slash = target.indexOf('/', scheme + 3);
  const query = target.indexOf('?', scheme + 3);
  if (slash < 0 || (query >= 0 && query < slash)) return query < 0 ? '/' : `/${target.slice(query)}`;
  return target.slice(slash);
}

/**
 * The authority (`host[:port]`, without any `user@`) of an absolute-form target that
 * `originForm()` accepted; null when it is empty.
 */
export function authorityOf(target: string): string | null {
  const start = target.indexOf('://') + 3;
  let end = target.length;
  const slash = target.indexOf('/', start);
  if (slash >= 0) end = slash;
  const query = target.indexOf('?', start);
  if (query >= 0 && query < end) end = query;
  const at = target.lastIndexOf('@', end - 1);
  const authority = target.slice(at >= start ? at + 1 : start, end);
  return authority.length === 0 ? null : authority;
}
