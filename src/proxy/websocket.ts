/**
 * WebSocket tunnels from a client to the pod the proxy picked: an Upgrade is routed once, by its
 * key, then bytes flow both ways until either side closes. This file has the HTTP/1.1 client side
 * (RFC 6455 section 4); websocket-h2.ts has WebSocket over HTTP/2 (RFC 8441). The pod's side is
 * always an HTTP/1.1 Upgrade over TCP or TLS (websocket-handshake.ts), and the open tunnel is
 * websocket-splice.ts.
 *
 * The tunnel relays the handshake and then bytes, never frames: extensions (permessage-deflate),
 * subprotocols, fragmentation, ping/pong and close codes are between the client and the pod. It
 * only watches frame headers go by to tell a closing handshake from a peer that vanished
 * (websocket-frames.ts).
 *
 * Wiring it into the proxy:
 *
 * - HTTP/1.1: `server.on('upgrade', (req, socket, head) => ...)` on the http.Server. When the
 *   request is `Upgrade: websocket` (RFC 6455 section 4.2.1: GET, HTTP/1.1, Connection naming
 *   upgrade), read the key and pick as for any request, then call `tunnelUpgrade(req, socket,
 *   head, target, fields, options, callbacks)` with `fields` = the request fields the proxy would
 *   send (RequestHeadReader's `out`: hop-by-hop removed, X-Forwarded-* and Forwarded set).
 *   Anything else on 'upgrade' (h2c, say) is the proxy's to refuse. The server's header and
 *   socket timeouts no longer apply to an upgraded socket; `options.idleMs` is the tunnel's own.
 * - HTTP/2: create the server with `settings: { enableConnectProtocol: true }` (RFC 8441 section
 *   3: SETTINGS_ENABLE_CONNECT_PROTOCOL; Node's clients refuse `:protocol` without it). On
 *   `'stream'` (stream, headers), a stream with `:method` CONNECT and `:protocol` websocket is
 *   picked like a request (`:authority` stands for Host) and passed to `tunnelExtendedConnect(stream,
 *   headers, target, fields, options, callbacks)`; `fields` are the request's fields without the
 *   pseudo-header ones (any left are dropped). A CONNECT without `:protocol`, or with another
 *   protocol, is the proxy's to refuse (405, or 501 for an unknown protocol).
 * - `callbacks.onEnd(outcome, status)` comes exactly once per call, never from inside it: give the
 *   outcome to the pick's `done`, which keeps the tunnel in flight on its endpoint for as long as it
 *   lasts (a tunnel is load). Its duration is no latency sample, though: `callbacks.onOpen` marks
 *   the end of the handshake, whose duration is; pass `done` a start time that makes the sample the
 *   handshake's (`now - handshakeMs`) rather than the tunnel's. Outcomes: `ok` (closing handshake,
 *   idle timeout, or a relayed refusal below 500), `http-5xx` (a relayed 5xx), `connect-failed`,
 *   `timeout` (no response head), `reset` (the pod failed or vanished mid-conversation, or
 *   answered nonsense), `cancelled` (the client left, or was cut by the proxy).
 * - `callbacks.retry(outcome)`: asked when the pod could not be reached (`connect-failed`, or
 *   `timeout` before its response head) and nothing has reached the client. Returning true hands
 *   the client back untouched (onEnd then gets status 0), so the proxy can pick another endpoint
 *   and call again with the same arguments. Without it, or on false, the client gets the error
 *   reply (502 or 504, error-reply.ts).
 * - Shutdown: the tunnels own their sockets; the proxy tracks the client sockets (or streams) it
 *   handed over and destroys them when its grace period ends. Each destroyed one ends its tunnel
 *   (onEnd with `cancelled`), and the pod's side with it.
 */
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Outcome } from '../balancer/balancer.js';
import type { ErrorReply } from './error-reply.js';
import { ENDPOINT_HEADER, responseHeaders } from './headers.js';
import type { TunnelFields } from './websocket-handshake.js';
import { podRequestFields } from './websocket-handshake.js';
import { resetSocket } from './websocket-splice.js';
import type { TunnelClient } from './websocket-tunnel.js';
import { runTunnel } from './websocket-tunnel.js';

export type { TunnelFields } from './websocket-handshake.js';
export { tunnelExtendedConnect } from './websocket-h2.js';

/** The pod a tunnel goes to. */
export interface TunnelTarget {
  readonly host: string;
  readonly port: number;
  /** Speak TLS to the pod (`options.tls` adds CA, client certificate...). */
  readonly tls: boolean;
  /** TLS server name; default `host` unless it is an IP address. */
  readonly servername?: string;
  /** The endpoint's name: logged, and sent as x-shardgate-endpoint when `options.endpointHeader`. */
  readonly name?: string;
}

/** One set per proxy, shared by every tunnel. */
export interface TunnelOptions {
  /** Connecting to the pod, TLS included. */
  readonly connectMs: number;
  /** From connected to the pod's response head. 0 disables. */
  readonly handshakeMs: number;
  /** An open tunnel with no byte either way for this long is closed. 0 disables. */
  readonly idleMs: number;
  /** Largest response head accepted from the pod. */
  readonly maxHeaderBytes: number;
  readonly log: Logger;
  /** Name the pod in responses (x-shardgate-endpoint); default false. */
  readonly endpointHeader?: boolean;
  /** Extra options for TLS to pods: `ca`, `cert`, `key`, `rejectUnauthorized`... */
  readonly tls?: ConnectionOptions;
}

/** Per tunnel. */
export interface TunnelCallbacks {
  /** Exactly once: how the tunnel ended, and the status the client got (0: none, see `retry`). */
  onEnd(outcome: Outcome, status: number): void;
  /** The pod accepted and the tunnel is open; the handshake is over. */
  onOpen?(): void;
  /** The pod could not be reached and nothing was sent: true takes the client back to try elsewhere. */
  retry?(outcome: Outcome): boolean;
}

/**
 * Tunnels an HTTP/1.1 Upgrade (from http.Server's 'upgrade' event) to `target`. The client gets
 * the pod's 101 and then the tunnel, or the pod's refusal (any other response, relayed, then the
 * connection closes), or the proxy's 502/504 when the pod cannot be reached or answers nonsense.
 */
export function tunnelUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: TunnelTarget, fields: TunnelFields, options: TunnelOptions, callbacks: TunnelCallbacks): void {
  const raw = req.rawHeaders;
  const handshake: string[] = ['Connection', 'Upgrade', 'Upgrade', 'websocket'];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase().startsWith('sec-websocket-')) handshake.push(raw[i]!, raw[i + 1]!);
  }
  const authority = req.headers.host ?? `${target.host}:${target.port}`;
  const endpoint = options.endpointHeader === true && target.name !== undefined ? target.name : null;
  const client = new Http1Client(socket as Socket, head, endpoint);
  runTunnel(client, target, req.url ?? '/', podRequestFields(fields, authority, handshake), options, callbacks);
}

/** Answers written as bytes on the upgraded socket, which Node has no response object for. */
class Http1Client implements TunnelClient {
  readonly stream: Socket;
  readonly head: Buffer;
  readonly openStatus = 101;
  readonly protocol = 'HTTP/1.1';
  readonly #endpoint: string | null;

  constructor(socket: Socket, head: Buffer, endpoint: string | null) {
    this.stream = socket;
    this.head = head;
    this.#endpoint = endpoint;
  }

  acceptable(): boolean {
    // The client checks Sec-WebSocket-Accept against its own key.
    return true;
  }

  open(res: IncomingMessage): void {
    const list = responseHeaders(res.headers, this.#endpoint, false);
    list.push('connection', 'Upgrade', 'upgrade', res.headers.upgrade ?? 'websocket');
    this.stream.write(headBytes(101, res.statusMessage, list));
  }

  refuse(res: IncomingMessage): void {
    // A chunked body arrives de-chunked: it goes out delimited by the connection's close.
    this.stream.write(headBytes(res.statusCode ?? 502, res.statusMessage, responseHeaders(res.headers, this.#endpoint, true)));
  }

  reply(reply: ErrorReply | null): void {
    const socket = this.stream;
    if (reply === null) {
      socket.destroy();
      return;
    }
    let bytes = reply.raw;
    if (this.#endpoint !== null) {
      const list: string[] = reply.headers.slice();
      list.push(ENDPOINT_HEADER, this.#endpoint, 'connection', 'close');
      bytes = Buffer.concat([headBytes(reply.status, undefined, list), reply.body]);
    }
    // An error now only means the client left before reading the reply.
    socket.on('error', () => socket.destroy());
    socket.end(bytes, () => socket.destroy());
  }

  abort(): void {
    resetSocket(this.stream);
  }

  refused(): void {
    this.stream.destroy();
  }
}

/**
 * An HTTP/1.1 response head. Names and values come from llhttp (the pod's response) or from this
 * proxy, so they hold no CR or LF.
 */
function headBytes(status: number, reason: string | undefined, list: readonly (string | string[])[]): Buffer {
  let head = `HTTP/1.1 ${status} ${reason ?? STATUS_CODES[status] ?? ''}\r\n`;
  for (let i = 0; i + 1 < list.length; i += 2) {
    const name = list[i] as string;
    const value = list[i + 1]!;
    if (typeof value === 'string') head += `${name}: ${value}\r\n`;
    else for (const v of value) head += `${name}: ${v}\r\n`;
  }
  return Buffer.from(`${head}\r\n`, 'latin1');
}
