/**
 * Lingering close, as nginx (`lingering_close`, `lingering_time` 30 s, `lingering_timeout` 5 s) and
 * Apache do it: a server that answers an HTTP/1.1 request before it has read the request's body
 * (413 for a body over the limit, a 503, a pod's early answer) and then closes must not close with
 * the client's bytes unread in its receive buffer. The kernel answers such a close with RST, and
 * RST discards what the client has not read yet: a client still busy sending its body loses the
 * answer and sees EPIPE or ECONNRESET instead (curl reads while it sends and gets away with it;
 * Node's http.request often does not).
 *
 * So the connection is half-closed once the answer is written (FIN after the last byte), what the
 * client still sends is read and thrown away, and the socket closes once the client has closed its
 * side, or after `maxMs` in all, `idleMs` without a byte, or `maxBytes` discarded, whichever comes
 * first. Off the common path: closures and timers only for connections that linger.
 */
import type { Socket } from 'node:net';

export interface LingerLimits {
  /** Longest time a connection lingers in all. */
  readonly maxMs: number;
  /** Longest silence from the client while lingering. */
  readonly idleMs: number;
  /** Most bytes read and discarded. */
  readonly maxBytes: number;
}

export const DEFAULT_LINGER: LingerLimits = Object.freeze({ maxMs: 30_000, idleMs: 5_000, maxBytes: 64 * 1_048_576 });

const kLinger = Symbol('shardgate.linger');

interface LingeringSocket extends Socket {
  [kLinger]?: LingerLimits;
}

/**
 * Makes the close that Node's HTTP server starts after a `Connection: close` response (its
 * `socket.destroySoon()`) a lingering one, for this socket only. Call before the response ends.
 */
export function lingerAfterResponse(socket: Socket | null, limits: LingerLimits = DEFAULT_LINGER): void {
  if (socket === null || socket.destroyed) return;
  const s = socket as LingeringSocket;
  if (s[kLinger] !== undefined) return;
  s[kLinger] = limits;
  // Node checks for the method (`typeof socket.destroySoon === 'function'`) and calls it once the
  // response has finished; an own property shadows net.Socket's for this socket alone.
  s.destroySoon = lingerSoon;
}

function lingerSoon(this: LingeringSocket): void {
  lingeringClose(this, this[kLinger] ?? DEFAULT_LINGER);
}

/**
 * Ends the write side (after whatever is queued on it), discards what the client sends, and closes
 * within the limits. The HTTP parser is taken off the socket first: what follows is not parsed.
 */
export function lingeringClose(socket: Socket, limits: LingerLimits = DEFAULT_LINGER): void {
  if (socket.destroyed) return;
  socket.removeAllListeners('data');
  let discarded = 0;
  let readEnded = false;
  const close = (): void => {
    clearTimeout(overall);
    clearTimeout(idle);
    socket.destroy();
  };
  // Closing before the answer has left would lose it: wait for the write side to finish.
  const closeWhenWritten = (): void => {
    if (socket.writableFinished) close();
    else socket.once('finish', close);
  };
  const overall = setTimeout(close, limits.maxMs);
  const idle = setTimeout(close, limits.idleMs);
  socket.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > limits.maxBytes) close();
    else idle.refresh();
  });
  socket.once('end', () => {
    readEnded = true;
    closeWhenWritten();
  });
  socket.once('close', () => {
    clearTimeout(overall);
    clearTimeout(idle);
  });
  socket.on('error', close);
  if (!socket.writableEnded) socket.end();
  if (!readEnded && socket.readableEnded) closeWhenWritten();
  else socket.resume();
}
