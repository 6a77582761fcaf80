/**
 * Node's own HTTP/1.1 request parser (llhttp, strict: insecureHTTPParser false) as a test oracle:
 * a real `http.Server` on 127.0.0.1, fed raw bytes over a `net` client, one connection per byte
 * stream, reporting which requests its handlers saw whole (method, url, rawHeaders, body,
 * rawTrailers) and whether it refused anything ('clientError', or a message left unfinished).
 */
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** One request as a server's handler sees it. */
export interface SeenRequest {
  readonly method: string;
  readonly target: string;
  readonly headers: readonly string[];
  /** The decoded body (latin1), or null for CONNECT and Upgrade: what follows their head is a tunnel's. */
  readonly body: string | null;
  readonly trailers: readonly string[];
}

/** What a server made of one connection's bytes. */
export interface StreamOutcome {
  /** The requests it took whole, in order. */
  readonly requests: readonly SeenRequest[];
  /** It refused some bytes, or a message never ended. */
  readonly refused: boolean;
  /** Why: the parser's error code, or what was left unfinished. */
  readonly why: string;
}

export interface NodeHttp1Oracle {
  /** Sends `bytes` (latin1) on a new connection, half-closes it, and reports once the server closes it. */
  run(bytes: string): Promise<StreamOutcome>;
  close(): Promise<void>;
}

interface Entry {
  readonly method: string;
  readonly target: string;
  readonly headers: readonly string[];
  body: string | null;
  trailers: readonly string[];
  complete: boolean;
}

interface ConnectionRecord {
  readonly entries: Entry[];
  readonly errors: string[];
}

/**
 * @param limits maxHeaderBytes for Node's maxHeaderSize; maxHeaderCount as the proxy applies it
 *   (Node keeps maxHeadersCount + 1 fields and drops the rest silently; a request that fills it is
 *   refused, as the proxy's route stage refuses it).
 */
export async function startNodeHttp1Oracle(limits: { readonly maxHeaderBytes: number; readonly maxHeaderCount: number }): Promise<NodeHttp1Oracle> {
  // Keyed by the client's port, which both ends know.
  const records = new Map<number, ConnectionRecord>();
  const recordOf = (socket: Socket | Duplex): ConnectionRecord => {
    const port = (socket as Socket).remotePort ?? -1;
    let r = records.get(port);
    if (r === undefined) records.set(port, (r = { entries: [], errors: [] }));
    return r;
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const entry: Entry = { method: req.method ?? '', target: req.url ?? '', headers: req.rawHeaders, body: null, trailers: [], complete: false };
    recordOf(req.socket).entries.push(entry);
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      entry.body = Buffer.concat(chunks).toString('latin1');
      entry.trailers = req.rawTrailers;
      entry.complete = true;
      res.end();
    });
    // An unfinished body: the entry stays incomplete.
    req.on('error', () => undefined);
  };
  const onTunnel = (req: IncomingMessage, socket: Duplex): void => {
    recordOf(socket).entries.push({ method: req.method ?? '', target: req.url ?? '', headers: req.rawHeaders, body: null, trailers: [], complete: true });
    socket.destroy();
  };
  const server = http.createServer({ requireHostHeader: false, maxHeaderSize: limits.maxHeaderBytes, insecureHTTPParser: false }, onRequest);
  server.maxHeadersCount = limits.maxHeaderCount + 1;
  // Node answers other expectations with 417 from here; the parser took the request all the same.
  server.on('checkExpectation', onRequest);
  server.on('connect', onTunnel);
  server.on('upgrade', onTunnel);
  server.on('connection', (socket: Socket) => socket.on('error', () => undefined));
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    recordOf(socket).errors.push(err.code ?? err.message);
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const run = async (bytes: string): Promise<StreamOutcome> => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    const localPort = socket.localPort!;
    const closed = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        socket.destroy();
        resolve(false);
      }, 5_000);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    socket.resume();
    socket.end(Buffer.from(bytes, 'latin1'));
    const byServer = await closed;
    // Let the server's last events run.
    await new Promise((resolve) => setImmediate(resolve));
    const record = records.get(localPort) ?? { entries: [], errors: [] };
    records.delete(localPort);
    const requests: SeenRequest[] = [];
    for (const e of record.entries) {
      if (!e.complete) return { requests, refused: true, why: 'unfinished message' };
      if (e.headers.length > 2 * limits.maxHeaderCount) return { requests, refused: true, why: 'too many fields (the route stage)' };
      requests.push({ method: e.method, target: e.target, headers: e.headers, body: e.body, trailers: e.trailers });
    }
    // Bytes after a request that closes the connection are not a fault, just not read.
    const errors = record.errors.filter((code) => code !== 'HPE_CLOSED_CONNECTION');
    if (errors.length > 0) return { requests, refused: true, why: errors.join(',') };
    if (!byServer) return { requests, refused: true, why: 'timeout' };
    return { requests, refused: false, why: '' };
  };
  return {
    run,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
