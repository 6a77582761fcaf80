/**
 * The open tunnel: bytes both ways between the client's side (an HTTP/1.1 socket, or an HTTP/2
 * stream for RFC 8441) and the pod's socket, until both are closed, then one outcome.
 *
 * - Back-pressure is `pipe()`'s: a side whose destination's buffer is full is paused until it
 *   drains, so a slow reader on either end holds the other end's sender back through TCP (or
 *   HTTP/2 flow control) instead of filling the proxy's memory.
 * - An orderly end travels as one: the pod's FIN ends the client's side (FIN, or END_STREAM) and
 *   the client's ends the pod's, each direction on its own (half-close), as RFC 8441 section 5
 *   maps FIN to END_STREAM.
 * - An error on one side (ECONNRESET, a stream reset) aborts the other: a TCP RST toward a socket,
 *   RST_STREAM(CANCEL) toward a stream (RFC 8441 section 5: "RST exceptions are represented with
 *   the RST_STREAM frame with the CANCEL error code"). A side that closes without an orderly end
 *   (destroyed by the proxy's shutdown, say) aborts the other as well.
 * - `idleMs`: no byte either way for that long closes both. Every byte passes through the pod's
 *   socket, read or written, so its own inactivity timer is the tunnel's.
 *
 * Outcome, for the balancer (R4, R11): a pod error, or a pod FIN before any Close frame in either
 * direction, is `reset` (the pod went away mid-conversation); a client error or a client leaving
 * before any Close frame is `cancelled`; an idle close and every orderly end are `ok`.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Outcome } from '../balancer/balancer.js';
import { FrameWatch } from './websocket-frames.js';

/** The client's end of the tunnel. */
export interface ClientSide {
  readonly stream: Duplex;
  /** Aborts it after the pod failed: TCP RST for a socket, RST_STREAM(CANCEL) for an HTTP/2 stream. */
  abort(): void;
}

/** Why the tunnel ended, for the log. */
export type SpliceEnd = 'closed' | 'pod-gone' | 'pod-error' | 'client-gone' | 'client-error' | 'idle';

/**
 * Relays until both ends are closed, then calls `onClose` once. `podHead` and `clientHead` are
 * bytes already read past the handshake, delivered first. Takes over every listener of both.
 */
export function splice(client: ClientSide, pod: Socket, clientHead: Buffer, podHead: Buffer, idleMs: number, onClose: (outcome: Outcome, end: SpliceEnd) => void): void {
  new Splice(client, pod, idleMs, onClose).start(clientHead, podHead);
}

class Splice {
  readonly #client: ClientSide;
  readonly #pod: Socket;
  readonly #idleMs: number;
  readonly #onClose: (outcome: Outcome, end: SpliceEnd) => void;
  readonly #up = new FrameWatch();
  readonly #down = new FrameWatch();
  #end: SpliceEnd | null = null;
  #clientClosed = false;
  #podClosed = false;

  constructor(client: ClientSide, pod: Socket, idleMs: number, onClose: (outcome: Outcome, end: SpliceEnd) => void) {
    this.#client = client;
    this.#pod = pod;
    this.#idleMs = idleMs;
    this.#onClose = onClose;
  }

  start(clientHead: Buffer, podHead: Buffer): void {
    const client = this.#client.stream;
    const pod = this.#pod;
    client.on('error', () => this.#clientFailed('client-error'));
    pod.on('error', () => this.#podFailed('pod-error'));
    client.on('end', () => this.#ended('client-gone'));
    pod.on('end', () => this.#ended('pod-gone'));
    client.on('close', () => {
      this.#clientClosed = true;
      if (!orderly(client)) this.#clientFailed('client-gone');
      this.#settle();
    });
    pod.on('close', () => {
      this.#podClosed = true;
      if (!orderly(pod)) this.#podFailed('pod-gone');
      this.#settle();
    });
    if (this.#idleMs > 0) {
      pod.setTimeout(this.#idleMs, () => {
        this.#end ??= 'idle';
        pod.destroy();
        client.destroy();
      });
    }
    if (clientHead.length > 0) {
      this.#up.observe(clientHead);
      pod.write(clientHead);
    }
    if (podHead.length > 0) {
      this.#down.observe(podHead);
      client.write(podHead);
    }
    watch(client, this.#up);
    watch(pod, this.#down);
    client.pipe(pod);
    pod.pipe(client);
  }

  /** A FIN (or END_STREAM): before any Close frame it means that side went away. */
  #ended(end: 'client-gone' | 'pod-gone'): void {
    if (this.#end === null && !this.#up.closeSeen && !this.#down.closeSeen) this.#end = end;
  }

  #podFailed(end: SpliceEnd): void {
    if (this.#end === null || this.#end === 'closed') this.#end = end;
    if (!this.#clientClosed) this.#client.abort();
  }

  #clientFailed(end: SpliceEnd): void {
    if (this.#end === null || this.#end === 'closed') this.#end = end;
    if (!this.#podClosed) resetSocket(this.#pod);
  }

  #settle(): void {
    if (!this.#clientClosed || !this.#podClosed) return;
    const end = this.#end ?? 'closed';
    this.#onClose(OUTCOMES[end], end);
  }
}

const OUTCOMES: Readonly<Record<SpliceEnd, Outcome>> = Object.freeze({
  closed: 'ok',
  idle: 'ok',
  'pod-gone': 'reset',
  'pod-error': 'reset',
  'client-gone': 'cancelled',
  'client-error': 'cancelled',
});

/** Both directions of the stream finished: its peer ended and everything written was flushed. */
function orderly(stream: Duplex): boolean {
  return stream.readableEnded && stream.writableFinished;
}

/** Shows each chunk to the watch until it has seen a Close frame. */
function watch(stream: Duplex, frames: FrameWatch): void {
  if (!frames.watching) return;
  const onData = (chunk: Buffer): void => {
    frames.observe(chunk);
    if (!frames.watching) stream.off('data', onData);
  };
  stream.on('data', onData);
}

/**
 * Closes a socket with a TCP RST, which tells its peer that the tunnel failed rather than ended
 * (RFC 9113 section 8.5 asks the same of a CONNECT proxy). Only a plain TCP handle can be reset,
 * and not while its FIN is being sent: libuv refuses that reset (EINVAL) and Node then never
 * emits 'close' (Node 20). Any other socket is destroyed instead.
 */
export function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.writableEnded && !socket.writableFinished) {
    socket.destroy();
    return;
  }
  try {
    socket.resetAndDestroy();
  } catch {
    // ERR_INVALID_HANDLE_TYPE: TLS, or another handle that cannot send a reset.
    socket.destroy();
  }
}
