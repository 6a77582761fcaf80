/**
 * Real servers on 127.0.0.1 for the WebSocket tunnel tests: a `ws` WebSocketServer as the pod, and
 * a front server whose 'upgrade' handler (HTTP/1.1) or 'stream' handler (HTTP/2 with extended
 * CONNECT) hands the client to the tunnel, as the proxy does. Close everything with `close()`.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders as H2Headers, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { pino } from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import type { RawData, ServerOptions } from 'ws';
import type { Outcome } from '../../src/balancer/balancer.js';
import { RequestHeadReader } from '../../src/proxy/headers.js';
import type { TunnelCallbacks, TunnelOptions, TunnelTarget } from '../../src/proxy/websocket.js';
import { tunnelUpgrade } from '../../src/proxy/websocket.js';
import { tunnelExtendedConnect } from '../../src/proxy/websocket-h2.js';
import type { Frame } from '../helpers/websocket-codec.js';
import { FrameDecoder, encodeFrame } from '../helpers/websocket-codec.js';

export interface Pod {
  readonly wss: WebSocketServer;
  readonly port: number;
  readonly target: TunnelTarget;
  /** The request of every handshake the pod accepted, oldest first. */
  readonly requests: IncomingMessage[];
  /** The pod's side of each of those connections. */
  readonly sockets: WebSocket[];
  /** How each of them closed, as the pod saw it. */
  readonly closes: Promise<Closed>[];
  close(): Promise<void>;
}

/** A `ws` server; `onConnection` defaults to echoing every message as it came. */
export async function startPod(options: ServerOptions = {}, onConnection: (ws: WebSocket, req: IncomingMessage) => void = echo): Promise<Pod> {
  const wss = new WebSocketServer({ ...options, host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const requests: IncomingMessage[] = [];
  const sockets: WebSocket[] = [];
  const closes: Promise<Closed>[] = [];
  wss.on('connection', (ws, req) => {
    requests.push(req);
    sockets.push(ws);
    closes.push(closed(ws));
    onConnection(ws, req);
  });
  const port = (wss.address() as AddressInfo).port;
  return {
    wss,
    port,
    target: { host: '127.0.0.1', port, tls: false, name: 'pod-0' },
    requests,
    sockets,
    closes,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  };
}

export function echo(ws: WebSocket): void {
  ws.on('message', (data: RawData, isBinary: boolean) => ws.send(data as Buffer, { binary: isBinary }));
}

/** A pod that sends `total` bytes at once, in 1 MiB binary messages, as soon as a client connects. */
export function flood(total: number): (ws: WebSocket) => void {
  return (ws) => {
    const chunk = Buffer.alloc(1 << 20, 7);
    for (let sent = 0; sent < total; sent += chunk.length) ws.send(chunk);
  };
}

export interface TunnelEnd {
  readonly outcome: Outcome;
  readonly status: number;
}

export interface Front {
  readonly port: number;
  /** Every onEnd, in order. */
  readonly ends: TunnelEnd[];
  /** Resolves once `count` tunnels have ended. */
  ended(count?: number): Promise<TunnelEnd[]>;
  /** How many times onOpen was called. */
  readonly opened: () => number;
  /** The client side of each tunnel as the front server holds it: a socket, or an HTTP/2 stream. */
  readonly clients: Duplex[];
  close(): Promise<void>;
}

export interface FrontOptions {
  readonly target: TunnelTarget;
  readonly options?: Partial<TunnelOptions>;
  /** When the first target cannot be reached, take the client back and tunnel here instead. */
  readonly fallback?: TunnelTarget;
  /** HTTP/2 with extended CONNECT rather than HTTP/1.1 Upgrade. */
  readonly h2?: boolean;
}

export const DEFAULT_TUNNEL_OPTIONS: TunnelOptions = Object.freeze({
  connectMs: 2_000,
  handshakeMs: 5_000,
  idleMs: 0,
  maxHeaderBytes: 16_384,
  log: pino({ level: 'silent' }),
  endpointHeader: true,
});

/** A front server that tunnels every WebSocket handshake it gets to `target`. */
export async function startFront(o: FrontOptions): Promise<Front> {
  const options: TunnelOptions = { ...DEFAULT_TUNNEL_OPTIONS, ...o.options };
  const ends: TunnelEnd[] = [];
  let waiters: { count: number; resolve: (e: TunnelEnd[]) => void }[] = [];
  let opened = 0;
  const clients: Duplex[] = [];
  const callbacks = (first: boolean, again: () => void): TunnelCallbacks => ({
    onOpen: () => opened++,
    ...(first && o.fallback !== undefined ? { retry: () => true } : {}),
    onEnd: (outcome, status) => {
      ends.push({ outcome, status });
      waiters = waiters.filter((w) => {
        if (ends.length < w.count) return true;
        w.resolve(ends);
        return false;
      });
      if (status === 0 && outcome !== 'cancelled') again();
    },
  });
  const reader = new RequestHeadReader();
  let closeServer: () => Promise<void>;
  let port: number;
  if (o.h2 === true) {
    const server = http2.createServer({ settings: { enableConnectProtocol: true } });
    const sessions = new Set<ServerHttp2Session>();
    server.on('session', (s) => {
      sessions.add(s);
      s.on('close', () => sessions.delete(s));
    });
    server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      if (headers[':method'] !== 'CONNECT' || headers[':protocol'] !== 'websocket') {
        stream.respond({ ':status': 405 });
        stream.end();
        return;
      }
      clients.push(stream);
      const fields = h2Fields(headers);
      const go = (target: TunnelTarget, first: boolean): void => {
        tunnelExtendedConnect(stream, headers, target, fields, options, callbacks(first, () => go(o.fallback!, false)));
      };
      go(o.target, true);
    });
    port = await listen(server);
    closeServer = () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      });
  } else {
    const server = http.createServer((_req, res) => {
      res.writeHead(426).end();
    });
    const sockets = new Set<Socket>();
    server.on('connection', (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      clients.push(socket);
      reader.read(req.rawHeaders, null, req.socket.remoteAddress);
      const fields = reader.out;
      const go = (target: TunnelTarget, first: boolean): void => {
        tunnelUpgrade(req, socket, head, target, fields, options, callbacks(first, () => go(o.fallback!, false)));
      };
      go(o.target, true);
    });
    port = await listen(server);
    closeServer = () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      });
  }
  return {
    port,
    ends,
    ended: (count = 1) =>
      new Promise((resolve) => {
        if (ends.length >= count) resolve(ends);
        else waiters.push({ count, resolve });
      }),
    opened: () => opened,
    clients,
    close: () => closeServer(),
  };
}

/** An HTTP/2 request's fields without the pseudo-header ones, as a flat list. */
function h2Fields(headers: IncomingHttpHeaders): string[] {
  const out: string[] = [];
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (name.startsWith(':') || value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.push(name, v);
  }
  return out;
}

/** Listens on 127.0.0.1, an ephemeral port, which it returns. */
export async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/** Closes a server and, for an HTTP one, its connections. */
export function closeServer(server: net.Server): Promise<void> {
  if (server instanceof http.Server || server instanceof https.Server) server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Polls until `condition` holds. */
export async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** Resolves once `value()` has stayed the same over five looks 20 ms apart: a flow has stopped. */
export async function settled(value: () => number): Promise<void> {
  let last = value();
  let same = 0;
  while (same < 5) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const now = value();
    same = now === last ? same + 1 : 0;
    last = now;
  }
}

/** A `ws` client through the front; resolves once open. */
export function openClient(port: number, path = '/', options: ConstructorParameters<typeof WebSocket>[2] = {}, protocols: string[] = []): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, protocols, options);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`unexpected response ${res.statusCode}`)));
  });
}

export interface Refusal {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A `ws` client whose handshake is expected to fail: the response it got instead. */
export function refusedClient(port: number, path = '/'): Promise<Refusal> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
  return new Promise((resolve, reject) => {
    ws.once('open', () => reject(new Error('the handshake succeeded')));
    ws.once('unexpected-response', (req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() });
        req.destroy();
      });
    });
    // After unexpected-response, ws reports its own abort as an error: nothing to add.
    ws.on('error', () => undefined);
  });
}

export interface Message {
  readonly data: Buffer;
  readonly isBinary: boolean;
}

/** The next message `ws` receives. */
export function nextMessage(ws: WebSocket): Promise<Message> {
  return new Promise((resolve) => ws.once('message', (data: RawData, isBinary: boolean) => resolve({ data: data as Buffer, isBinary })));
}

export interface Closed {
  readonly code: number;
  readonly reason: string;
}

/** Resolves when `ws` closes, with the code and reason it reports. */
export function closed(ws: WebSocket): Promise<Closed> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.reject(new Error('already closed'));
  return new Promise((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })));
}

/** A port nobody listens on (it was free a moment ago). */
export async function deadPort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A WebSocket over an HTTP/2 stream (RFC 8441), spoken frame by frame. */
export interface H2Socket {
  readonly session: ClientHttp2Session;
  readonly stream: ClientHttp2Stream;
  /** The response headers (`:status` included). */
  readonly headers: H2Headers;
  /** Body bytes, when the answer was not 200. */
  body(): Promise<string>;
  /** Sends one whole, masked frame. */
  send(opcode: number, payload: Buffer): void;
  /** The next frame from the pod. */
  next(): Promise<Frame>;
  /** Resolves when the stream has closed, with its RST_STREAM code (0: none). */
  readonly closed: Promise<number>;
}

/** Opens an extended CONNECT stream to the front on 127.0.0.1; close `session` afterwards. */
export async function openH2(port: number, path = '/', extra: Record<string, string> = {}): Promise<H2Socket> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    session.once('remoteSettings', (settings: http2.Settings) => (settings.enableConnectProtocol === true ? resolve() : reject(new Error('the server did not enable extended CONNECT'))));
    session.once('error', reject);
  });
  const stream = session.request({
    ':method': 'CONNECT',
    ':protocol': 'websocket',
    ':scheme': 'http',
    ':path': path,
    ':authority': `127.0.0.1:${port}`,
    'sec-websocket-version': '13',
    ...extra,
  });
  stream.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => stream.once('close', () => resolve(stream.rstCode ?? 0)));
  const headers = await new Promise<H2Headers>((resolve, reject) => {
    stream.once('response', resolve);
    stream.once('close', () => reject(new Error(`stream closed before a response (code ${stream.rstCode})`)));
  });
  const decoder = new FrameDecoder();
  let read = 0;
  let wake: (() => void) | null = null;
  const bodyChunks: Buffer[] = [];
  const ok = Number(headers[':status']) === 200;
  stream.on('data', (d: Buffer) => {
    if (!ok) {
      bodyChunks.push(d);
      return;
    }
    decoder.push(d);
    wake?.();
  });
  stream.on('end', () => wake?.());
  return {
    session,
    stream,
    headers,
    body: () => new Promise((resolve) => (stream.readableEnded ? resolve(Buffer.concat(bodyChunks).toString()) : stream.once('end', () => resolve(Buffer.concat(bodyChunks).toString())))),
    send: (opcode, payload) => stream.write(encodeFrame(opcode, payload, true)),
    next: async () => {
      while (decoder.frames.length <= read) {
        if (stream.readableEnded) throw new Error('the stream ended');
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
      }
      return decoder.frames[read++]!;
    },
    closed,
  };
}
