/**
 * Header rewriting at the proxy hop, both ways.
 *
 * Hop-by-hop fields follow RFC 9110 section 7.6.1: an intermediary removes the Connection field,
 * every field that Connection names (its connection options), and the fields known to be
 * connection-specific whether named or not: Proxy-Connection, Keep-Alive, TE, Transfer-Encoding
 * and Upgrade. That list is the whole rule; Proxy-Authenticate and Proxy-Authorization are not on
 * it (RFC 9110 sections 11.7.1-2 leave relaying them to the proxies involved) and pass through.
 * Each side of the proxy then frames its own message: Node chooses Content-Length or chunked
 * toward the client, undici toward the pod.
 *
 * Besides, toward the pod: Host is kept as the client sent it (the pod sees the name it was asked
 * by), except that an absolute-form target's authority replaces it (RFC 9112 section 3.2.2); `Expect` is dropped because Node's server has already answered `100-continue` on this hop
 * and undici refuses to send it; X-Forwarded-For gets the client's address appended;
 * X-Forwarded-Proto (`http`, or `https` on a TLS listener) and X-Forwarded-Host are set,
 * replacing what the client sent, which it could have forged; so are `Forwarded` (RFC 7239),
 * replaced by this hop's element `for=<client>;proto=http;host="<host>"` (not appended to: the
 * client's elements are as forgeable as its X-Forwarded-Proto), and `X-Real-IP`, replaced by the
 * client's address.
 *
 * Cost: one pass over the raw header list and one output array per request; the Connection
 * options are split only when Connection names something other than close or keep-alive.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { isGrpcContentType } from './grpc.js';

/** Response header that names the endpoint that served the request. */
export const ENDPOINT_HEADER = 'x-shardgate-endpoint';

// What a request field name means to the proxy; absent from the map: forward unchanged.
const enum Field {
  HopByHop = 1,
  Connection,
  TransferEncoding,
  ContentLength,
  Host,
  ForwardedFor,
  Replaced,
  ContentType,
}

const REQUEST_FIELDS: ReadonlyMap<string, Field> = new Map([
  ['connection', Field.Connection],
  ['keep-alive', Field.HopByHop],
  ['proxy-connection', Field.HopByHop],
  ['te', Field.HopByHop],
  ['transfer-encoding', Field.TransferEncoding],
  ['upgrade', Field.HopByHop],
  ['expect', Field.HopByHop],
  ['content-length', Field.ContentLength],
  ['host', Field.Host],
  ['x-forwarded-for', Field.ForwardedFor],
  ['x-forwarded-proto', Field.Replaced],
  ['x-forwarded-host', Field.Replaced],
  // The same facts in RFC 7239's syntax, and nginx's single-address field: replaced as well.
  ['forwarded', Field.Replaced],
  ['x-real-ip', Field.Replaced],
  ['content-type', Field.ContentType],
]);

/** Removed from responses (RFC 9110 section 7.6.1); Connection's options are removed as well. */
const RESPONSE_HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade']);

/**
 * Rewrites one request's raw header list for the pod. One instance per proxy, reused for every
 * request (single-threaded): `read()` overwrites the fields, which stay valid until the next call,
 * so a request costs no result object.
 */
export class RequestHeadReader {
  /** Field lines for the pod as a flat [name, value, ...] list; a new array per request. */
  out: string[] = [];
  /** The first Host value, and how many Host lines there were (RFC 9112 section 3.2: one). */
  host: string | undefined = undefined;
  hostLines = 0;
  /** The value of the key source's field (several Cookie lines joined by `; `). */
  key: string | undefined = undefined;
  /** The request has content: Transfer-Encoding, or a Content-Length other than 0. */
  hasBody = false;
  /**
   * What is wrong with Transfer-Encoding, when it is something other than one `chunked`:
   * `unsupported` when chunked is the final coding (`gzip, chunked`: the proxy would forward the
   * de-chunked bytes without the coding, so it answers 501, RFC 9112 section 6.1), `unframed` when
   * it is not (`gzip`: the body length cannot be known, so 400, RFC 9112 section 6.3).
   */
  codingProblem: 'unsupported' | 'unframed' | null = null;
  /** Content-Type is application/grpc (or a +suffix): a gRPC call. */
  grpc = false;
  /** The `grpc-timeout` value, read only for gRPC calls. */
  grpcTimeout: string | undefined = undefined;
  /**
   * The first value of each subset selector header (subsets.ts), in selector order; undefined
   * where the request has none. One array, overwritten by every `read()`.
   */
  readonly selectorValues: (string | undefined)[];
  /** `http` or `https`: what this listener speaks, for X-Forwarded-Proto and Forwarded. */
  readonly #proto: 'http' | 'https';
  /** Lower-case names of the subset selector headers. */
  readonly #selectorFields: readonly string[];

  constructor(proto: 'http' | 'https' = 'http', selectorFields: readonly string[] = []) {
    this.#proto = proto;
    this.#selectorFields = selectorFields;
    this.selectorValues = new Array<string | undefined>(selectorFields.length).fill(undefined);
  }

  /**
   * @param raw `req.rawHeaders` (names in their original case)
   * @param keyField lower-case name of the field that carries the key, or null
   * @param clientAddress the peer's IP, appended to X-Forwarded-For
   */
  /** Where the x-forwarded-host and forwarded values are in `out`, or -1. */
  #forwardedHostAt = -1;
  #forwardedAt = -1;
  #clientAddress: string | undefined = undefined;

  /**
   * For an absolute-form target (`GET http://authority/path`): the pod gets the target's authority
   * as Host, whatever Host line the client sent (RFC 9112 section 3.2.2), and as X-Forwarded-Host.
   * Call after `read()`; a rare path, so it scans `out`.
   */
  useAuthority(authority: string): void {
    const out = this.out;
    let replaced = false;
    for (let i = 0; i + 1 < out.length; i += 2) {
      if (out[i]!.toLowerCase() === 'host') {
        out[i + 1] = authority;
        replaced = true;
        break;
      }
    }
    if (!replaced) out.push('host', authority);
    if (this.#forwardedHostAt >= 0) out[this.#forwardedHostAt] = authority;
    else out.push('x-forwarded-host', authority);
    out[this.#forwardedAt] = forwardedValue(this.#clientAddress, authority, this.#proto);
    this.host = authority;
  }

  read(raw: readonly string[], keyField: string | null, clientAddress: string | undefined): void {
    const out: string[] = [];
    let host: string | undefined;
    let hostLines = 0;
    let key: string | undefined;
    let hasBody = false;
    let codings = 0;
    let lastCoding: string | undefined;
    let badCoding = false;
    let forwardedFor: string | undefined;
    let connection: string | undefined;
    let grpc = false;
    let grpcTimeout: string | undefined;
    let authority = false;
    const selectorFields = this.#selectorFields;
    const selectorValues = this.selectorValues;
    for (let s = 0; s < selectorValues.length; s++) selectorValues[s] = undefined;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!;
      const value = raw[i + 1]!;
      if (name.charCodeAt(0) === 58 /* : */) {
        // HTTP/2 pseudo-headers: the pod gets :authority as Host (RFC 9113 section 8.3.1); method,
        // path and scheme travel as the request's own.
        if (name === ':authority') {
          authority = true;
          hostLines = 1;
          host = value;
          out.push('host', value);
        }
        continue;
      }
      const lower = name.toLowerCase();
      if (lower === 'grpc-timeout') grpcTimeout = value;
      if (lower === keyField) key = key === undefined ? value : keyField === 'cookie' ? `${key}; ${value}` : key;
      for (let s = 0; s < selectorFields.length; s++) if (lower === selectorFields[s] && selectorValues[s] === undefined) selectorValues[s] = value;
      switch (REQUEST_FIELDS.get(lower)) {
        case undefined:
          out.push(name, value);
          break;
        case Field.HopByHop:
        case Field.Replaced:
          break;
        case Field.Connection:
          connection = connection === undefined ? value : `${connection}, ${value}`;
          break;
        case Field.TransferEncoding:
          hasBody = true;
          lastCoding = value;
          if (++codings > 1 || !isChunked(value)) badCoding = true;
          break;
        case Field.ContentLength:
          if (value !== '0') hasBody = true;
          out.push(name, value);
          break;
        case Field.ContentType:
          grpc = isGrpcContentType(value);
          out.push(name, value);
          break;
        case Field.Host:
          // Beside :authority, Host is redundant (RFC 9113 section 8.3.1): :authority wins.
          if (authority) break;
          if (hostLines++ === 0) {
            host = value;
            out.push(name, value);
          }
          break;
        case Field.ForwardedFor:
          forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
          break;
      }
    }
    if (connection !== undefined) {
      const named = connectionOptions(connection);
      if (named !== null) removeNamed(out, named);
    }
    if (clientAddress !== undefined) {
      forwardedFor = forwardedFor === undefined ? clientAddress : `${forwardedFor}, ${clientAddress}`;
    }
    if (forwardedFor !== undefined) out.push('x-forwarded-for', forwardedFor);
    if (clientAddress !== undefined) out.push('x-real-ip', clientAddress);
    out.push('forwarded', forwardedValue(clientAddress, host, this.#proto));
    const forwardedAt = out.length - 1;
    out.push('x-forwarded-proto', this.#proto);
    if (host !== undefined) out.push('x-forwarded-host', host);
    this.out = out;
    this.#forwardedAt = forwardedAt;
    this.#clientAddress = clientAddress;
    this.host = host;
    this.hostLines = hostLines;
    this.key = key;
    this.hasBody = hasBody;
    this.#forwardedHostAt = host === undefined ? -1 : out.length - 1;
    this.codingProblem = badCoding ? (endsWithChunked(lastCoding!) ? 'unsupported' : 'unframed') : null;
    this.grpc = grpc;
    this.grpcTimeout = grpc ? grpcTimeout : undefined;
  }
}

/**
 * The pod's response fields for the client, as the flat list `res.writeHead()` takes without
 * copying. `headers` is undici's parsed object (lower-case names, repeated fields as arrays).
 */
export function responseHeaders(headers: IncomingHttpHeaders, endpoint: string | null, close: boolean): (string | string[])[] {
  const out: (string | string[])[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || RESPONSE_HOP_BY_HOP.has(name)) continue;
    out.push(name, value);
  }
  // Typed as one string, but undici makes an array of repeated lines.
  const connection = headers.connection as string | string[] | undefined;
  if (connection !== undefined) {
    const named = connectionOptions(typeof connection === 'string' ? connection : connection.join(','));
    if (named !== null) removeNamed(out, named);
  }
  if (endpoint !== null) out.push(ENDPOINT_HEADER, endpoint);
  // While shutting down, tell the client to reconnect elsewhere after this response.
  if (close) out.push('connection', 'close');
  return out;
}

/** Trailer fields for the client, without connection-specific ones; null when none remain. */
export function responseTrailers(trailers: IncomingHttpHeaders): Record<string, string | string[]> | null {
  let out: Record<string, string | string[]> | null = null;
  for (const name in trailers) {
    const value = trailers[name];
    if (value === undefined || RESPONSE_HOP_BY_HOP.has(name)) continue;
    out ??= {};
    out[name] = value;
  }
  return out;
}

/**
 * A Transfer-Encoding value that is exactly the chunked coding, the only one the proxy can relay:
 * each side re-frames the body, so any other coding would be lost. Coding names are
 * case-insensitive (RFC 9112 section 7); Node and undici have trimmed the value.
 */
export function isChunked(value: string | string[]): boolean {
  if (typeof value !== 'string') return false;
  return value === 'chunked' || (value.length === 7 && value.toLowerCase() === 'chunked');
}

/**
 * This hop's Forwarded element (RFC 7239 section 4): `for=<client>;proto=http;host="<host>"`. An
 * IPv6 address is bracketed and quoted (section 6), an unknown one is `unknown` (section 6.3), and
 * the host is a quoted-string, since `host:port` is not a token.
 */
export function forwardedValue(clientAddress: string | undefined, host: string | undefined, proto: 'http' | 'https' = 'http'): string {
  let node = clientAddress ?? 'unknown';
  if (node.includes(':')) node = `"[${node}]"`;
  if (host === undefined) return `for=${node};proto=${proto}`;
  if (host.includes('"') || host.includes('\\')) host = host.replaceAll('\\', '\\\\').replaceAll('"', '\\"');
  return `for=${node};proto=${proto};host="${host}"`;
}

/** Whether the final coding of a Transfer-Encoding list is chunked (off the common path). */
function endsWithChunked(list: string): boolean {
  return list.slice(list.lastIndexOf(',') + 1).trim().toLowerCase() === 'chunked';
}

/**
 * The field names a Connection value lists as its options, lower-case, or null when it lists
 * only `close`, `keep-alive` or `upgrade`, fields that are removed anyway. Host and
 * Content-Length are never options: naming them (`Connection: host`) must not strip the
 * message of its Host or its framing.
 */
export function connectionOptions(value: string): Set<string> | null {
  // Nearly every message says just this: skip the split.
  if (value === 'keep-alive' || value === 'close' || value === 'Keep-Alive' || value === 'Close') return null;
  let named: Set<string> | null = null;
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name.length === 0 || name === 'close' || name === 'keep-alive' || name === 'upgrade') continue;
    // Framing and Host are the proxy's to set, never the sender's to remove.
    if (name === 'host' || name === 'content-length') continue;
    (named ??= new Set()).add(name);
  }
  return named;
}

/** Removes, in place, the [name, value] pairs whose name is in `named`. */
function removeNamed(list: (string | string[])[], named: ReadonlySet<string>): void {
  let w = 0;
  for (let r = 0; r + 1 < list.length; r += 2) {
    const name = list[r] as string;
    if (named.has(name.toLowerCase())) continue;
    list[w++] = name;
    list[w++] = list[r + 1]!;
  }
  list.length = w;
}
