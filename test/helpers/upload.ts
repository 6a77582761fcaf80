/**
 * Uploads that measure back-pressure from the client's side: how many body bytes a server let a
 * client hand over before it stopped taking them. A proxy that holds an unread body in its TCP
 * window stops the client after a few megabytes (socket buffers); one that reads it into memory
 * takes all of it.
 */
import http2 from 'node:http2';
import net from 'node:net';

export interface UploadProgress {
  /** Body bytes the client could hand to its socket (or stream) before it stalled, or in all. */
  readonly sent: number;
  /** The writes stopped being taken for `stallMs` before the whole body was sent. */
  readonly stalled: boolean;
  /** What the server had answered by then (latin1), for a failure message. */
  readonly answer: string;
}

export interface UploadOptions {
  readonly bytes: number;
  /** The upload has stalled when no write is taken for this long; default 400 ms. */
  readonly stallMs?: number;
  /** Give up after this long in any case; default 10 s. */
  readonly timeoutMs?: number;
}

const CHUNK = Buffer.alloc(64 * 1024, 0x61);

/** A raw HTTP/1.1 POST of `bytes` (Content-Length) to 127.0.0.1:port, written as fast as taken. */
export function uploadH1(port: number, path: string, headers: Readonly<Record<string, string>>, options: UploadOptions): Promise<UploadProgress> {
  const socket = net.connect(port, '127.0.0.1');
  const fields = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.write(`POST ${path} HTTP/1.1\r\nHost: upload.test\r\nContent-Length: ${options.bytes}\r\n${fields}\r\n`);
  const answer: Buffer[] = [];
  socket.on('data', (d: Buffer) => answer.push(d));
  socket.on('error', () => undefined);
  return pump(
    (chunk) => socket.write(chunk),
    (onDrain) => socket.once('drain', onDrain),
    () => socket.destroy(),
    () => Buffer.concat(answer).toString('latin1'),
    options,
  );
}

/** The same over h2c with prior knowledge: one stream, `content-length` set. */
export function uploadH2(port: number, path: string, headers: Readonly<Record<string, string>>, options: UploadOptions): Promise<UploadProgress> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  const stream = session.request({ ':method': 'POST', ':path': path, 'content-length': String(options.bytes), ...headers });
  stream.on('error', () => undefined);
  let status = '';
  stream.on('response', (h) => (status = String(h[':status'])));
  stream.resume();
  return pump(
    (chunk) => stream.write(chunk),
    (onDrain) => stream.once('drain', onDrain),
    () => session.destroy(),
    () => status,
    options,
  );
}

function pump(write: (chunk: Buffer) => boolean, onDrain: (f: () => void) => void, close: () => void, answer: () => string, options: UploadOptions): Promise<UploadProgress> {
  const stallMs = options.stallMs ?? 400;
  return new Promise((resolve) => {
    let sent = 0;
    let lastTaken = Date.now();
    let settled = false;
    const finish = (stalled: boolean): void => {
      if (settled) return;
      settled = true;
      clearInterval(watch);
      clearTimeout(deadline);
      const text = answer();
      close();
      resolve({ sent, stalled, answer: text });
    };
    const next = (): void => {
      lastTaken = Date.now();
      while (!settled && sent < options.bytes) {
        const n = Math.min(CHUNK.length, options.bytes - sent);
        sent += n;
        if (!write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
          onDrain(next);
          return;
        }
      }
      if (sent >= options.bytes) finish(false);
    };
    const watch = setInterval(() => {
      if (Date.now() - lastTaken >= stallMs) finish(true);
    }, 50);
    const deadline = setTimeout(() => finish(false), options.timeoutMs ?? 10_000);
    next();
  });
}
