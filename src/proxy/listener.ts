/**
 * One listening socket for HTTP/1.1 and HTTP/2 clients, as HAProxy's plain `bind` accepts both.
 *
 * - Plain TCP: the first bytes of a connection decide. The HTTP/2 connection preface
 *   (`PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`, RFC 9113 section 3.4) means h2c with prior knowledge;
 *   anything else is HTTP/1.1. The bytes read are put back (`unshift`) before the connection is
 *   handed over; Node's HTTP/2 session takes bytes already buffered on the socket, and the
 *   HTTP/1.1 parser reads them once the socket flows again.
 * - TLS: ALPN chooses (`h2`, else `http/1.1`); the handshake has read no request bytes.
 *
 * The HTTP/1.1 and HTTP/2 servers are never bound themselves: connections are emitted to them.
 * Node's HTTP/1.1 server starts its connection tracking (which enforces headersTimeout and backs
 * closeAllConnections) on 'listening', so that event is emitted to it once.
 */
import type http from 'node:http';
import type { Http2Server } from 'node:http2';
import net from 'node:net';
import type { AddressInfo, ListenOptions, Socket } from 'node:net';
import tls from 'node:tls';
import type { TLSSocket } from 'node:tls';

/** An address to bind, or a descriptor of a socket bound already. */
export type ListenTarget = { readonly port: number; readonly host?: string } | { readonly fd: number };

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface ListenerOptions {
  /** PEM certificate chain and key: TLS with ALPN; absent: plain TCP with preface sniffing. */
  readonly tls: { readonly cert: string | Buffer; readonly key: string | Buffer } | null;
  /** Accepted connections beyond this are closed at once; 0: no limit. */
  readonly maxConnections: number;
  /** A plain connection that sends nothing for this long is closed (the first bytes decide). */
  readonly firstBytesMs: number;
  /**
   * Takes each HTTP/1.1 connection, with the bytes read from it already (paused); absent: Node's
   * HTTP/1.1 server takes them.
   */
  readonly http1?: (socket: Socket, bytes: Buffer | null) => void;
}

/**
 * Hands a connection to Node's HTTP/1.1 server, with `bytes` read from it already put back first.
 * Node's HTTP/1.1 server would "consume" the socket's handle (its parser reading in C++) and stop
 * that reading, when a request body is not read, by listening to the socket's 'pause'. On a socket
 * that JavaScript has read already that pause never holds: the bytes put back make the stream
 * read again, and an upload nobody reads piles up in memory (150 MB sent, 150 MB held). Marking
 * the handle consumed keeps the parser on the socket's 'data' events, where pausing is ordinary
 * stream back-pressure: an unread body stays in the client's TCP window.
 */
export function handToHttp1(h1: http.Server, socket: Socket, bytes: Buffer | null): void {
  socket.pause();
  if (bytes !== null && bytes.length > 0) socket.unshift(bytes);
  const handle = (socket as Socket & { _handle?: { _consumed?: boolean } | null })._handle;
  if (handle != null) handle._consumed = true;
  h1.emit('connection', socket);
  socket.resume();
}

export class ProtocolListener {
  readonly server: net.Server;
  readonly secure: boolean;
  readonly #h1: http.Server;
  readonly #h2: Http2Server;
  readonly #http1: ((socket: Socket, bytes: Buffer | null) => void) | null;

  constructor(h1: http.Server, h2: Http2Server, options: ListenerOptions) {
    this.#h1 = h1;
    this.#h2 = h2;
    this.#http1 = options.http1 ?? null;
    this.secure = options.tls !== null;
    if (options.tls !== null) {
      const server = tls.createServer({ cert: options.tls.cert, key: options.tls.key, ALPNProtocols: ['h2', 'http/1.1'] });
      server.on('secureConnection', (socket: TLSSocket) => {
        if (socket.alpnProtocol === 'h2') h2.emit('connection', socket);
        else if (this.#http1 !== null) this.#http1(socket, null);
        else h1.emit('connection', socket);
      });
      // A failed handshake concerns only that client.
      server.on('tlsClientError', (_err: Error, socket: TLSSocket) => socket.destroy());
      this.server = server;
    } else {
      const firstBytesMs = options.firstBytesMs;
      this.server = net.createServer({ noDelay: true }, (socket: Socket) => this.#sniff(socket, firstBytesMs));
    }
    if (options.maxConnections > 0) this.server.maxConnections = options.maxConnections;
    h1.emit('listening');
  }

  listen(target: ListenTarget): Promise<AddressInfo> {
    // Node's listen() takes `fd` too, though its ListenOptions type leaves it out.
    const options = target as ListenOptions;
    const server = this.server;
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        server.off('listening', onListening);
        reject(err);
      };
      const onListening = (): void => {
        server.off('error', onError);
        resolve(server.address() as AddressInfo);
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen(options);
    });
  }

  /** Stops accepting; resolves once every accepted connection has closed. */
  close(): Promise<void> {
    const server = this.server;
    if (!server.listening) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  #sniff(socket: Socket, firstBytesMs: number): void {
    let seen: Buffer | null = null;
    const timer = firstBytesMs > 0 ? setTimeout(() => socket.destroy(), firstBytesMs) : null;
    const onData = (chunk: Buffer): void => {
      seen = seen === null ? chunk : Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, PREFACE.length);
      const h2 = seen.compare(PREFACE, 0, n, 0, n) === 0;
      // A client that has sent only part of the preface so far: wait for the rest.
      if (h2 && n < PREFACE.length) return;
      if (timer !== null) clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.pause();
      if (h2) {
        socket.unshift(seen);
        this.#h2.emit('connection', socket);
      } else if (this.#http1 !== null) {
        this.#http1(socket, seen);
      } else {
        handToHttp1(this.#h1, socket, seen);
      }
    };
    const onError = (): void => {
      if (timer !== null) clearTimeout(timer);
      socket.destroy();
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.once('close', () => {
      if (timer !== null) clearTimeout(timer);
    });
  }
}
