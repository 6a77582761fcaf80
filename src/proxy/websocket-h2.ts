/**
 * WebSocket over HTTP/2 (RFC 8441): a client's extended CONNECT stream (`:method` CONNECT,
 * `:protocol` websocket) tunnelled to a pod that speaks only HTTP/1.1 Upgrade.
 *
 * Translation (RFC 8441 section 5 against RFC 6455 section 4): the pod gets `GET :path` with Host
 * from `:authority`, `Upgrade: websocket`, `Connection: Upgrade`, the client's
 * Sec-WebSocket-Version, -Protocol and -Extensions, and a Sec-WebSocket-Key of our own (an HTTP/2
 * client sends none); its Sec-WebSocket-Accept must match that key. The client gets `:status 200`
 * with the pod's Sec-WebSocket-Protocol and -Extensions, and then the stream carries the same
 * frames the pod's socket does. A pod that answers otherwise has its status and body relayed.
 *
 * Ends map as the RFC says: END_STREAM is FIN both ways; a pod's connection error resets the
 * stream with CANCEL; a stream reset by the client resets the pod's connection (TCP RST).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import http2 from 'node:http2';
import type { OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { ErrorReply } from './error-reply.js';
import { ENDPOINT_HEADER, responseHeaders } from './headers.js';
import type { TunnelCallbacks, TunnelOptions, TunnelTarget } from './websocket.js';
import type { TunnelFields } from './websocket-handshake.js';
import { podRequestFields } from './websocket-handshake.js';
import type { TunnelClient } from './websocket-tunnel.js';
import { runTunnel } from './websocket-tunnel.js';

const { NGHTTP2_CANCEL } = http2.constants;

/** RFC 6455 section 1.3: the GUID the accept value is derived with. */
const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Client fields of RFC 6455 section 11.3 that the pod needs besides the key. */
const PASSED = ['sec-websocket-version', 'sec-websocket-protocol', 'sec-websocket-extensions'] as const;

/**
 * Tunnels an RFC 8441 extended CONNECT stream to `target`. `headers` are the stream's request
 * headers (pseudo-header fields included); `fields` the proxy's rewritten request fields.
 */
export function tunnelExtendedConnect(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, target: TunnelTarget, fields: TunnelFields, options: TunnelOptions, callbacks: TunnelCallbacks): void {
  const key = randomBytes(16).toString('base64');
  const handshake: string[] = ['Connection', 'Upgrade', 'Upgrade', 'websocket', 'Sec-WebSocket-Key', key];
  for (const name of PASSED) {
    const value = headers[name];
    if (value !== undefined) handshake.push(name, Array.isArray(value) ? value.join(', ') : value);
  }
  if (headers['sec-websocket-version'] === undefined) handshake.push('sec-websocket-version', '13');
  const authority = single(headers[':authority']) ?? `${target.host}:${target.port}`;
  const endpoint = options.endpointHeader === true && target.name !== undefined ? target.name : null;
  const client = new Http2Client(stream, key, endpoint);
  runTunnel(client, target, single(headers[':path']) ?? '/', podRequestFields(fields, authority, handshake), options, callbacks);
}

/** Answers as HTTP/2 response headers on the CONNECT stream. */
class Http2Client implements TunnelClient {
  readonly stream: ServerHttp2Stream;
  readonly head = Buffer.alloc(0);
  readonly openStatus = 200;
  readonly protocol = 'HTTP/2';
  readonly #key: string;
  readonly #endpoint: string | null;

  constructor(stream: ServerHttp2Stream, key: string, endpoint: string | null) {
    this.stream = stream;
    this.#key = key;
    this.#endpoint = endpoint;
  }

  /** RFC 6455 section 4.1: the pod switched to websocket and proved it read our key. */
  acceptable(res: IncomingMessage): boolean {
    const upgrade = res.headers.upgrade;
    if (upgrade === undefined || upgrade.toLowerCase() !== 'websocket') return false;
    const expected = createHash('sha1').update(this.#key + WEBSOCKET_GUID).digest('base64');
    return res.headers['sec-websocket-accept'] === expected;
  }

  open(res: IncomingMessage): void {
    const out = h2Headers(res.headers, this.#endpoint, 200);
    // The accept value answered our key, not anything the client sent.
    delete out['sec-websocket-accept'];
    this.stream.respond(out);
  }

  refuse(res: IncomingMessage): void {
    this.stream.respond(h2Headers(res.headers, this.#endpoint, res.statusCode ?? 502));
  }

  reply(reply: ErrorReply | null): void {
    const stream = this.stream;
    if (reply === null || stream.destroyed || stream.closed) {
      this.abort();
      return;
    }
    const out: OutgoingHttpHeaders = { ':status': reply.status };
    for (let i = 0; i + 1 < reply.headers.length; i += 2) out[reply.headers[i]!] = reply.headers[i + 1]!;
    if (this.#endpoint !== null) out[ENDPOINT_HEADER] = this.#endpoint;
    // An error now only means the client left before reading the reply.
    stream.on('error', () => stream.destroy());
    stream.respond(out);
    stream.end(reply.body);
  }

  /** RST_STREAM(CANCEL), RFC 8441 section 5's counterpart of a TCP RST. */
  abort(): void {
    if (!this.stream.closed && !this.stream.destroyed) this.stream.close(NGHTTP2_CANCEL);
  }

  refused(): void {
    // END_STREAM has gone out; Node resets the client's unfinished half with NO_ERROR.
  }
}

/** Pseudo-header fields are single by definition (RFC 9113 section 8.3); Node types them loosely. */
function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * An HTTP/2 response header object from a pod's HTTP/1.1 fields: without the connection-specific
 * ones HTTP/2 forbids (RFC 9113 section 8.2.2), which responseHeaders already drops.
 */
function h2Headers(headers: IncomingHttpHeaders, endpoint: string | null, status: number): OutgoingHttpHeaders {
  const list = responseHeaders(headers, endpoint, false);
  const out: OutgoingHttpHeaders = { ':status': status };
  for (let i = 0; i + 1 < list.length; i += 2) out[list[i] as string] = list[i + 1]!;
  return out;
}
