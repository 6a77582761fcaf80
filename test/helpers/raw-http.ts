/**
 * Raw TCP exchanges with an HTTP server, for what an HTTP client library refuses to send:
 * malformed requests, conflicting framing, oversized or slow heads.
 */
import net from 'node:net';

export interface RawResult {
  /** Everything the server sent, as latin1 text. */
  readonly text: string;
  /** The server closed the connection (rather than the wait running out). */
  readonly closedByServer: boolean;
}

export interface RawOptions {
  /** Give up (and close) after this long; default 2000 ms. */
  readonly timeoutMs?: number;
  /** Half-close after writing; default false, so that the server decides when to close. */
  readonly end?: boolean;
  /** Write the parts this far apart (a slow client); default 0. */
  readonly gapMs?: number;
}

/** Connects to 127.0.0.1:port, writes `parts` in order and collects the reply until the server closes. */
export function rawExchange(port: number, parts: string | readonly string[], options: RawOptions = {}): Promise<RawResult> {
  const list = typeof parts === 'string' ? [parts] : parts;
  const timeoutMs = options.timeoutMs ?? 2_000;
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (closedByServer: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closedByServer });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    // A reset after the reply still leaves the reply in `chunks`.
    socket.on('error', () => finish(true));
    socket.on('connect', () => {
      let i = 0;
      const writeNext = (): void => {
        if (settled || socket.destroyed) return;
        if (i < list.length) {
          socket.write(Buffer.from(list[i++]!, 'latin1'));
          if (i < list.length && (options.gapMs ?? 0) > 0) setTimeout(writeNext, options.gapMs);
          else writeNext();
          return;
        }
        if (options.end === true) socket.end();
      };
      writeNext();
    });
  });
}

/** The status code of the first response in `text`, or 0. */
export function statusOf(text: string): number {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  return m === null ? 0 : Number(m[1]);
}

/** The body of the first response in `text` (after the blank line), parsed as JSON. */
export function jsonBodyOf(text: string): unknown {
  const start = text.indexOf('\r\n\r\n');
  return JSON.parse(text.slice(start + 4));
}

/** The value of header `name` in the first response head in `text`, or undefined. */
export function headerOf(text: string, name: string): string | undefined {
  const head = text.slice(0, text.indexOf('\r\n\r\n'));
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (line.slice(0, colon).toLowerCase() === name.toLowerCase()) return line.slice(colon + 1).trim();
  }
  return undefined;
}

/** An open raw connection whose reply is collected as it arrives, for tests that drive it step by step. */
export interface RawConnection {
  readonly socket: net.Socket;
  /** Everything received so far, as latin1 text. */
  text(): string;
  /** Resolves once the connection has closed (either side). */
  readonly closed: Promise<void>;
  /** Resolves once `text()` includes `needle`, or rejects when the connection closes first. */
  until(needle: string): Promise<void>;
}

/** Connects to 127.0.0.1:port; the caller writes, and must destroy the socket. */
export async function rawConnect(port: number): Promise<RawConnection> {
  const socket = net.connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  let waiters: { needle: string; resolve: () => void; reject: (e: Error) => void }[] = [];
  const text = (): string => Buffer.concat(chunks).toString('latin1');
  const check = (): void => {
    const t = text();
    waiters = waiters.filter((w) => {
      if (!t.includes(w.needle)) return true;
      w.resolve();
      return false;
    });
  };
  let isClosed = false;
  const closed = new Promise<void>((resolve) => {
    socket.on('close', () => {
      isClosed = true;
      for (const w of waiters) w.reject(new Error(`connection closed before ${JSON.stringify(w.needle)}; got ${JSON.stringify(text().slice(-200))}`));
      waiters = [];
      resolve();
    });
  });
  socket.on('data', (d: Buffer) => {
    chunks.push(d);
    check();
  });
  // A reset still leaves what arrived in `chunks`; 'close' follows.
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return {
    socket,
    text,
    closed,
    until: (needle) =>
      new Promise<void>((resolve, reject) => {
        if (text().includes(needle)) resolve();
        else if (isClosed) reject(new Error(`connection closed before ${JSON.stringify(needle)}`));
        else waiters.push({ needle, resolve, reject });
      }),
  };
}
