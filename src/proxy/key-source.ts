/**
 * Where a request carries its routing key, and how the proxy reads it. A spec is parsed once at
 * startup (`parseKeySource`); reading a key from a request (`keyText`) is on the request path, so
 * it scans with indexOf and charCodeAt, allocates only the key string itself, and never throws.
 *
 * Decoding rules (the same in every instance, so a key always lands on the same owner):
 * - header: the first field line with the name, taken verbatim (Node has already trimmed OWS).
 * - cookie: the first cookie pair with the name (RFC 6265 section 4.2.1 syntax, parsed leniently:
 *   pairs without `=` are skipped), surrounding DQUOTEs removed, then percent-decoded.
 * - query: the first parameter with the name in the query string, decoded as
 *   application/x-www-form-urlencoded (`+` is a space), like URLSearchParams.
 * - path: the segment at the 0-based index after the leading `/` (`/accounts/{key}/...` is
 *   path:1), percent-decoded. Empty segments (`//`) count, so indexes do not shift.
 * - json: a field of a JSON request body (`json:account.id`), read by `jsonKey()` in
 *   ./json-key.ts once the proxy has buffered the body; see there for paths and values.
 * Malformed percent-encoding (`%zz`, or bytes that are not UTF-8) is NOT an error: the raw text is
 * the key, so one malformed key still always reaches the same pod. An empty value is no key.
 *
 * The key text becomes a RoutingKey only through `hashKey()` in src/balancer/hash.ts (R7).
 */
import { ConfigError } from '../errors.js';
import type { JsonPath } from './json-key.js';
import { jsonKey, parseJsonPath } from './json-key.js';

export type KeySource =
  | { readonly kind: 'header'; readonly spec: string; readonly name: string; readonly header: string }
  | { readonly kind: 'cookie'; readonly spec: string; readonly name: string; readonly header: 'cookie' }
  | { readonly kind: 'query'; readonly spec: string; readonly name: string; readonly header: null }
  | { readonly kind: 'path'; readonly spec: string; readonly index: number; readonly header: null }
  /** The key is in the request body: the proxy buffers it (up to proxy.maxBodyBuffer) first. */
  | { readonly kind: 'json'; readonly spec: string; readonly path: JsonPath; readonly header: null };

export const KEY_SOURCE_FORMS = 'header:NAME, cookie:NAME, query:NAME, path:INDEX, json:PATH or grpc:NAME';

/** The largest path index accepted: deeper URLs are not sharded by a segment in practice. */
export const MAX_PATH_INDEX = 999;

// RFC 9110 section 5.6.2 token: what a field name (and a cookie name, RFC 6265) is made of.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const INDEX = /^\d{1,3}$/;

/**
 * Parses `header:NAME`, `cookie:NAME`, `query:NAME`, `path:INDEX` or `json:PATH`.
 * @throws ConfigError SG_ERR_KEY_SOURCE naming `field`, the value and the allowed forms
 */
export function parseKeySource(spec: string, field = 'keySource'): KeySource {
  if (typeof spec !== 'string') {
    throw new ConfigError('SG_ERR_KEY_SOURCE', field, `is ${JSON.stringify(spec)}: write ${KEY_SOURCE_FORMS}`);
  }
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const arg = colon < 0 ? '' : spec.slice(colon + 1);
  const shown = JSON.stringify(spec);
  switch (kind) {
    case 'grpc':
      // gRPC call metadata travels as HTTP/2 header fields (lower-case names): a header source.
      if (!TOKEN.test(arg)) {
        throw new ConfigError('SG_ERR_KEY_SOURCE', field, `is ${shown}: grpc: needs a metadata key made of token characters, for example grpc:x-tenant; the forms are ${KEY_SOURCE_FORMS}`);
      }
      return Object.freeze({ kind: 'header', spec, name: arg, header: arg.toLowerCase() });
    case 'header':
    case 'cookie':
      if (!TOKEN.test(arg)) {
        throw new ConfigError('SG_ERR_KEY_SOURCE', field, `is ${shown}: ${kind}: needs a ${kind} name made of token characters, for example ${kind}:x-affinity; the forms are ${KEY_SOURCE_FORMS}`);
      }
      return kind === 'header'
        ? Object.freeze({ kind, spec, name: arg, header: arg.toLowerCase() })
        : Object.freeze({ kind, spec, name: arg, header: 'cookie' });
    case 'query':
      if (arg.length === 0) {
        throw new ConfigError('SG_ERR_KEY_SOURCE', field, `is ${shown}: query: needs a parameter name, for example query:account; the forms are ${KEY_SOURCE_FORMS}`);
      }
      return Object.freeze({ kind, spec, name: arg, header: null });
    case 'path':
      if (!INDEX.test(arg)) {
        throw new ConfigError('SG_ERR_KEY_SOURCE', field, `is ${shown}: path: needs the 0-based index of a path segment, from 0 to ${MAX_PATH_INDEX} (/accounts/{key}/... is path:1); the forms are ${KEY_SOURCE_FORMS}`);
      }
      return Object.freeze({ kind, spec, index: Number(arg), header: null });
    case 'json':
      if (arg.length === 0) {
        throw new ConfigError('SG_ERR_KEY_SOURCE', field, `is ${shown}: json: needs the path of a body field, for example json:account.id or json:items.0.id; the forms are ${KEY_SOURCE_FORMS}`);
      }
      return Object.freeze({ kind, spec, path: parseJsonPath(arg, field, spec), header: null });
    default:
      throw new ConfigError('SG_ERR_KEY_SOURCE', field, `is ${shown}: write ${KEY_SOURCE_FORMS}`);
  }
}

/**
 * The key text of a request, or null when it has none. `path` is the request target in origin
 * form (`/a/b?c=d`); `headerValue` is the value of the field named `source.header` (the first
 * one; for cookies, every Cookie line joined by `; `), or undefined when absent; `body` is the
 * whole request body, needed only by `json` (null: not buffered, so no key).
 */
export function keyText(source: KeySource, path: string, headerValue: string | undefined, body: Uint8Array | null = null): string | null {
  switch (source.kind) {
    case 'header':
      return headerValue === undefined || headerValue.length === 0 ? null : headerValue;
    case 'cookie':
      return headerValue === undefined ? null : cookieValue(headerValue, source.name);
    case 'query':
      return queryValue(path, source.name);
    case 'path':
      return pathSegment(path, source.index);
    case 'json':
      return body === null ? null : jsonKey(body, source.path);
  }
}

const SEMICOLON = 59;
const SPACE = 32;
const TAB = 9;
const DQUOTE = 34;
const PERCENT = 37;
const PLUS = 43;
const SLASH = 47;
const QUESTION = 63;
const HASH = 35;

/** The value of cookie `name` in a Cookie header, or null. Never throws. */
export function cookieValue(header: string, name: string): string | null {
  const n = header.length;
  let i = 0;
  // The next `=` at or after i, searched again only once i passes it: a header of many pairs
  // without `=` (`a;a;a;...`) then costs one scan, not one per pair.
  let eq = -1;
  while (i < n) {
    let end = header.indexOf(';', i);
    if (end < 0) end = n;
    if (eq < i) {
      eq = header.indexOf('=', i);
      if (eq < 0) return null;
    }
    if (eq < end) {
      let ns = i;
      let ne = eq;
      while (ns < ne && isSpace(header.charCodeAt(ns))) ns++;
      while (ne > ns && isSpace(header.charCodeAt(ne - 1))) ne--;
      if (ne - ns === name.length && header.startsWith(name, ns)) {
        let vs = eq + 1;
        let ve = end;
        while (vs < ve && isSpace(header.charCodeAt(vs))) vs++;
        while (ve > vs && isSpace(header.charCodeAt(ve - 1))) ve--;
        if (ve - vs >= 2 && header.charCodeAt(vs) === DQUOTE && header.charCodeAt(ve - 1) === DQUOTE) {
          vs++;
          ve--;
        }
        return ve === vs ? null : decode(header.slice(vs, ve), false);
      }
    }
    i = end + 1;
    while (i < n && header.charCodeAt(i) === SEMICOLON) i++;
  }
  return null;
}

/** The first value of query parameter `name` in `path`, form-decoded, or null. Never throws. */
export function queryValue(path: string, name: string): string | null {
  const q = path.indexOf('?');
  if (q < 0) return null;
  let n = path.indexOf('#');
  if (n >= 0 && n < q) return null;
  if (n < 0) n = path.length;
  let i = q + 1;
  // As in cookieValue: the next `=` is searched again only once i passes it.
  let nextEq = -1;
  while (i < n) {
    let end = path.indexOf('&', i);
    if (end < 0 || end > n) end = n;
    if (nextEq < i && nextEq !== n) {
      nextEq = path.indexOf('=', i);
      if (nextEq < 0 || nextEq > n) nextEq = n;
    }
    const eq = nextEq < end ? nextEq : end;
    if (nameMatches(path, i, eq, name)) {
      return eq + 1 >= end ? null : decode(path.slice(eq + 1, end), true);
    }
    i = end + 1;
  }
  return null;
}

/** Segment `index` of the path (0 is the first after the leading `/`), decoded, or null. */
export function pathSegment(path: string, index: number): string | null {
  let end = path.length;
  for (let i = 0; i < end; i++) {
    const c = path.charCodeAt(i);
    if (c === QUESTION || c === HASH) {
      end = i;
      break;
    }
  }
  if (end === 0 || path.charCodeAt(0) !== SLASH) return null;
  let start = 1;
  for (let k = 0; k < index; k++) {
    const next = path.indexOf('/', start);
    if (next < 0 || next >= end) return null;
    start = next + 1;
  }
  let stop = path.indexOf('/', start);
  if (stop < 0 || stop > end) stop = end;
  return stop === start ? null : decode(path.slice(start, stop), false);
}

function nameMatches(text: string, start: number, end: number, name: string): boolean {
  if (end - start === name.length && text.startsWith(name, start)) return true;
  // An encoded parameter name (`acc%6Fount`, `my+key`) is rare: decode only when it could match.
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === PERCENT || c === PLUS) return decode(text.slice(start, end), true) === name;
  }
  return false;
}

function isSpace(c: number): boolean {
  return c === SPACE || c === TAB;
}

/**
 * Percent-decodes `raw` (and `+` to space for form encoding). Malformed input (`%zz`, truncated
 * escapes, bytes that are not UTF-8) yields the raw text: the key stays deterministic.
 */
function decode(raw: string, plusIsSpace: boolean): string {
  let text = raw;
  if (plusIsSpace && text.includes('+')) text = text.replaceAll('+', ' ');
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch (err) {
    // URIError is the documented outcome for malformed escapes; anything else is a bug.
    if (err instanceof URIError) return raw;
    throw err;
  }
}
