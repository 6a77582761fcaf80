/**
 * The pod's side of a WebSocket handshake: connect (TCP or TLS), send an HTTP/1.1 Upgrade
 * request, and read the response head, then hand over either the upgraded socket (101) or the
 * response (any other status), or one classified failure.
 *
 * Why node:http's client: its llhttp parser bounds the head (`maxHeaderSize`), rejects what is not
 * HTTP/1.1, and separates the bytes after a 101 head (`'upgrade'`'s `head`) from the head itself;
 * `createConnection` lets this module own the socket, so that a connect failure is told apart from
 * a failure after connecting. No agent: the socket is never pooled, it becomes the tunnel.
 *
 * Timers: `connectMs` runs until the TCP (and TLS) connection is up, then `handshakeMs` until the
 * response head has arrived.
 */
import http from 'node:http';
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import type { ConnectionOptions } from 'node:tls';
import type { TunnelOptions, TunnelTarget } from './websocket.js';
import type { UpstreamFailure } from './upstream-failure.js';
import { FAILURES } from './upstream-failure.js';

export interface HandshakeEvents {
  /** The pod switched protocols; `head` holds what it sent after its 101 head. */
  upgraded(res: IncomingMessage, socket: Socket, head: Buffer): void;
  /** The pod answered with another final status; `res` streams its body. */
  refused(res: IncomingMessage): void;
  failed(failure: UpstreamFailure, err: Error): void;
}

export interface Handshake {
  /** Gives up (the client left): closes the pod connection; no event follows. Idempotent. */
  abort(): void;
}

/**
 * Starts the handshake; exactly one event follows unless `abort()` comes first, and never from
 * inside this call. `fields` is the flat [name, value, ...] request head, Host included.
 */
export function startHandshake(target: TunnelTarget, path: string, fields: string[], options: TunnelOptions, events: HandshakeEvents): Handshake {
  return new PodHandshake(target, path, fields, options, events);
}

const TIMED_OUT = Object.freeze({ connect: 'connecting to the endpoint timed out', handshake: 'the endpoint sent no response head in time' });

class PodHandshake implements Handshake {
  readonly #events: HandshakeEvents;
  readonly #socket: Socket;
  readonly #req: http.ClientRequest | null = null;
  #connected = false;
  #settled = false;
  #timer: NodeJS.Timeout | null;

  constructor(target: TunnelTarget, path: string, fields: string[], options: TunnelOptions, events: HandshakeEvents) {
    this.#events = events;
    // tls.connect honours allowHalfOpen as net.connect does; its type leaves it out.
    const socket = target.tls
      ? tls.connect(<ConnectionOptions & { allowHalfOpen: boolean }>{
          ...options.tls,
          host: target.host,
          port: target.port,
          // SNI carries names only (RFC 6066 section 3), never an address.
          ...(target.servername !== undefined ? { servername: target.servername } : net.isIP(target.host) === 0 ? { servername: target.host } : {}),
          ALPNProtocols: ['http/1.1'],
          allowHalfOpen: true,
        })
      : net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
    this.#socket = socket;
    this.#timer = setTimeout(() => this.#timedOut(), options.connectMs);
    socket.once(target.tls ? 'secureConnect' : 'connect', () => {
      this.#connected = true;
      this.#clearTimer();
      if (options.handshakeMs > 0 && !this.#settled) this.#timer = setTimeout(() => this.#timedOut(), options.handshakeMs);
    });
    let req: http.ClientRequest;
    try {
      req = http.request({
        method: 'GET',
        path,
        headers: fields,
        createConnection: () => socket,
        maxHeaderSize: options.maxHeaderBytes,
      });
    } catch (err) {
      // Node refuses the target or a field (a character it will not send): the request's fault.
      socket.destroy();
      this.#clearTimer();
      this.#settled = true;
      process.nextTick(() => events.failed(FAILURES.refused, err as Error));
      return;
    }
    this.#req = req;
    req.on('error', (err) => this.#fail(err));
    req.on('upgrade', (res, upgraded: Socket, head: Buffer) => {
      if (!this.#settle()) return;
      events.upgraded(res, upgraded, head);
    });
    req.on('response', (res) => {
      // A 101 that node:http did not take for an upgrade (no Upgrade field) switches to nothing.
      if (res.statusCode === 101) {
        res.destroy();
        this.#fail(new Error('the endpoint answered 101 without switching protocols'), FAILURES.badResponse);
        return;
      }
      if (!this.#settle()) {
        res.destroy();
        return;
      }
      events.refused(res);
    });
    req.end();
  }

  abort(): void {
    if (!this.#settle()) return;
    this.#req?.destroy();
    this.#socket.destroy();
  }

  /** Marks the handshake over; false if it already was. */
  #settle(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.#clearTimer();
    return true;
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #timedOut(): void {
    const connecting = !this.#connected;
    const err = Object.assign(new Error(connecting ? TIMED_OUT.connect : TIMED_OUT.handshake), { code: 'ETIMEDOUT' });
    this.#req?.destroy();
    this.#socket.destroy();
    this.#fail(err, connecting ? FAILURES.connectTimeout : FAILURES.timeout);
  }

  #fail(err: Error, failure: UpstreamFailure = this.#classify(err)): void {
    if (!this.#settle()) return;
    this.#socket.destroy();
    this.#events.failed(failure, err);
  }

  #classify(err: Error): UpstreamFailure {
    if (!this.#connected) return FAILURES.connectFailed;
    const code = (err as { code?: unknown }).code;
    // llhttp's errors: a head that is not HTTP/1.1, or larger than maxHeaderSize.
    if (typeof code === 'string' && code.startsWith('HPE_')) return FAILURES.badResponse;
    return FAILURES.reset;
  }
}

/**
 * Request fields for the pod: a flat [name, value, ...] list as `rawHeaders` has it, or
 * [name, value] pairs.
 */
export type TunnelFields = readonly string[] | readonly (readonly [string, string])[];

/**
 * Fields the tunnel sets itself, so dropped from the proxy's list: the hop-by-hop ones (RFC 9110
 * section 7.6.1; the tunnel adds its own Connection and Upgrade), framing (an Upgrade request has
 * no content: what follows its head belongs to the new protocol), pseudo-header fields of an
 * HTTP/2 request, and the WebSocket handshake's own `Sec-WebSocket-*`, which the caller passes in
 * `handshake` so that each is sent exactly once.
 */
const SET_BY_TUNNEL: ReadonlySet<string> = new Set(['connection', 'upgrade', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'content-length']);

/**
 * The pod's request head: `fields` without what the tunnel sets, a Host from `authority` when
 * `fields` has none, then `handshake` (a flat list).
 */
export function podRequestFields(fields: TunnelFields, authority: string, handshake: readonly string[]): string[] {
  const out: string[] = [];
  let hasHost = false;
  const add = (name: string, value: string): void => {
    const lower = name.toLowerCase();
    if (SET_BY_TUNNEL.has(lower) || lower.startsWith('sec-websocket-') || lower.startsWith(':')) return;
    if (lower === 'host') hasHost = true;
    out.push(name, value);
  };
  if (isPairs(fields)) {
    for (const [name, value] of fields) add(name, value);
  } else {
    for (let i = 0; i + 1 < fields.length; i += 2) add(fields[i]!, fields[i + 1]!);
  }
  if (!hasHost) out.push('host', authority);
  for (const field of handshake) out.push(field);
  return out;
}

function isPairs(fields: TunnelFields): fields is readonly (readonly [string, string])[] {
  return fields.length > 0 && typeof fields[0] !== 'string';
}
