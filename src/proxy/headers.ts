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
 * by); `Expect` is dropped because Node's server has already answered `100-continue` on this hop
 * and undici refuses to send it; X-Forwarded-For gets the client's address appended;
 * X-Forwarded-Proto (`http`: this listener speaks plain HTTP) and X-Forwarded-Host are set,
 * replacing what the client sent, which it could have forged.
 *
 * Cost: one pass over the raw header list and one output array per request; the Connection
 * options are split only when Connection names something other than close or keep-alive.
 */
import type { IncomingHttpHeaders } from 'node:http';

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
   * @param raw `req.rawHeaders` (names in their original case)
   * @param keyField lower-case name of the field that carries the key, or null
   * @param clientAddress the peer's IP, appended to X-Forwarded-For
   */
  read(raw: readonly string[], keyField: string | null, clientAddress: string | undefined): void {
    const out: string[] = [];
    let host: string | undefined;
    let hostLines = 0;
    let key: string | undefined;
    let hasBody = false;
    let forwardedFor: string | undefined;
    let connection: string | undefined;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!;
      const value = raw[i + 1]!;
      const lower = name.toLowerCase();
      if (lower === keyField) key = key === undefined ? value : keyField === 'cookie' ? `${key}; ${value}` : key;
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
          break;
        case Field.ContentLength:
          if (value !== '0') hasBody = true;
          out.push(name, value);
          break;
        case Field.Host:
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
    out.push('x-forwarded-proto', 'http');
    if (host !== undefined) out.push('x-forwarded-host', host);
    this.out = out;
    this.host = host;
    this.hostLines = hostLines;
    this.key = key;
    this.hasBody = hasBody;
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
 * The field names a Connection value lists as its options, lower-case, or null when it lists
 * only `close`, `keep-alive` or `upgrade`, fields that are removed anyway.
 */
export function connectionOptions(value: string): Set<string> | null {
  // Nearly every message says just this: skip the split.
  if (value === 'keep-alive' || value === 'close' || value === 'Keep-Alive' || value === 'Close') return null;
  let named: Set<string> | null = null;
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name.length === 0 || name === 'close' || name === 'keep-alive' || name === 'upgrade') continue;
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
