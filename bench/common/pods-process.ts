/**
 * The backend pods of the benchmarks, in a process of their own so that the proxies' CPU is
 * measured alone, and so that a pod can be killed:
 *
 *   node pods-process.js <count> [--first-index N] [--seen-log FILE]
 *
 * with an IPC channel. Each pod is a node:http server on a 127.0.0.1 ephemeral port, named pod-N
 * from the first index on. It answers a small body; a request with a body is answered once the
 * body has been read, as a real service would; a request with `x-download-bytes: N` gets N bytes,
 * written as fast as the reader takes them; one with `x-delay-ms: N` is answered N ms late. Each
 * pod counts its requests and its current and peak requests in flight.
 *
 * Commands over IPC set a delay before every answer (the slow pods of the hot-key test), reset the
 * counters and report them, change what the pods do (the modes of pod-messages.ts: hang, reset,
 * answer 503, read bodies slowly) and restart them gracefully.
 *
 * With `--seen-log`, every request that carries `x-request-id` and that a pod takes on (every mode
 * but `reset`, whose requests never arrive, and `unavailable`, whose 503 says it did nothing) is
 * appended to FILE as `METHOD ID`, with a synchronous write, so that a pod killed with SIGKILL has
 * already told what it saw: a request id seen twice was delivered twice.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { PodCommand, PodMode, PodReply, PodStats } from './pod-messages.js';
import { DELAY_HEADER, DOWNLOAD_HEADER, REQUEST_ID_HEADER } from './pod-messages.js';

/** Longer than any run, so that a proxy never reuses a connection the pod is closing. */
const KEEP_ALIVE_TIMEOUT_MS = 10 * 60_000;
/** A graceful restart gives in-flight requests this long to finish before their connections are cut. */
const RESTART_GRACE_MS = 5_000;
const DOWNLOAD_CHUNK = Buffer.alloc(64 * 1024, 'x');
const SERVE: PodMode = Object.freeze({ kind: 'serve' });

/** The request lines a pod takes on, as `METHOD ID`, appended synchronously; nothing without a file. */
class SeenLog {
  readonly #fd: number | null;

  constructor(path: string | undefined) {
    this.#fd = path === undefined ? null : openSync(path, 'a');
  }

  record(req: IncomingMessage): void {
    const id = req.headers[REQUEST_ID_HEADER];
    if (this.#fd === null || typeof id !== 'string') return;
    writeSync(this.#fd, `${req.method} ${id}\n`);
  }

  close(): void {
    if (this.#fd !== null) closeSync(this.#fd);
  }
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

class Pod {
  requests = 0;
  inFlight = 0;
  peakInFlight = 0;
  mode: PodMode = SERVE;
  delayMs = 0;
  port = 0;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #seen: SeenLog;
  readonly #body: Buffer;
  readonly #headers: Record<string, string>;

  constructor(
    readonly name: string,
    seen: SeenLog,
  ) {
    this.#seen = seen;
    this.#body = Buffer.from(`{"pod":"${name}"}\n`);
    this.#headers = { 'content-type': 'application/json', 'content-length': String(this.#body.length) };
    this.#server = createServer((req, res) => this.#onRequest(req, res));
    this.#server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    this.#server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
    this.#server.on('connection', (socket: Socket) => {
      if (this.mode.kind === 'reset') {
        socket.resetAndDestroy();
        return;
      }
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    this.#server.on('clientError', (err, socket) => {
      // A proxy that drops a connection mid-request; the pod carries on.
      if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') process.stderr.write(`${name}: client error ${err.message}\n`);
      socket.destroy();
    });
  }

  listen(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        this.port = (this.#server.address() as AddressInfo).port;
        resolve(this.port);
      });
    });
  }

  setMode(mode: PodMode): void {
    this.mode = mode;
    if (mode.kind === 'reset') for (const s of this.#sockets) s.resetAndDestroy();
  }

  /** Stops listening and lets in-flight requests finish (idle connections close at once), waits, listens again. */
  async restart(pauseMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    const cut = setTimeout(() => this.#server.closeAllConnections(), RESTART_GRACE_MS);
    await closed;
    clearTimeout(cut);
    await sleep(pauseMs);
    await this.listen(this.port);
  }

  stats(): PodStats {
    return { name: this.name, requests: this.requests, inFlight: this.inFlight, peakInFlight: this.peakInFlight };
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.requests++;
    const mode = this.mode;
    if (mode.kind === 'reset') {
      // A request already on its way over a connection accepted before the mode changed.
      req.socket.resetAndDestroy();
      return;
    }
    if (mode.kind === 'unavailable') {
      req.resume();
      res.writeHead(503, { 'content-type': 'text/plain', 'content-length': '12' });
      res.end('unavailable\n');
      return;
    }
    this.#seen.record(req);
    this.inFlight++;
    if (this.inFlight > this.peakInFlight) this.peakInFlight = this.inFlight;
    let counted = true;
    res.once('close', () => {
      if (!counted) return;
      counted = false;
      this.inFlight--;
    });
    if (mode.kind === 'hang') {
      req.resume();
      return;
    }
    const answer = (): void => {
      const download = Number(req.headers[DOWNLOAD_HEADER] ?? 0);
      if (download > 0) {
        this.#download(res, download);
        return;
      }
      res.writeHead(200, this.#headers);
      res.end(this.#body);
    };
    const delayMs = Math.max(this.delayMs, Number(req.headers[DELAY_HEADER] ?? 0) || 0);
    const answerAfterDelay = (): void => {
      if (delayMs > 0) setTimeout(answer, delayMs);
      else answer();
    };
    if (!hasBody(req)) {
      req.resume();
      answerAfterDelay();
      return;
    }
    req.once('end', answerAfterDelay);
    req.on('error', () => res.destroy());
    if (mode.kind === 'slow-read') readSlowly(req, mode.bytesPerS);
    else req.resume();
  }

  /** `bytes` bytes, each chunk written once the last has drained. */
  #download(res: ServerResponse, bytes: number): void {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(bytes) });
    let left = bytes;
    const pump = (): void => {
      while (left > 0) {
        const chunk = left >= DOWNLOAD_CHUNK.length ? DOWNLOAD_CHUNK : DOWNLOAD_CHUNK.subarray(0, left);
        left -= chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    res.once('close', () => res.off('drain', pump));
    pump();
  }
}

/** Reads a body no faster than `bytesPerS`: after each chunk, pauses until the time it was due. */
function readSlowly(req: IncomingMessage, bytesPerS: number): void {
  const started = performance.now();
  let read = 0;
  req.on('data', (chunk: Buffer) => {
    read += chunk.length;
    const dueMs = (read / bytesPerS) * 1000 - (performance.now() - started);
    if (dueMs < 1) return;
    req.pause();
    setTimeout(() => req.resume(), dueMs);
  });
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { 'first-index': { type: 'string', default: '0' }, 'seen-log': { type: 'string' } } });
const count = Number(positionals[0] ?? '4');
const firstIndex = Number(values['first-index']);
if (!Number.isInteger(count) || count < 1) throw new Error(`pods-process: pod count is ${positionals[0]}: give a positive integer`);
if (!Number.isInteger(firstIndex) || firstIndex < 0) throw new Error(`pods-process: --first-index is ${values['first-index']}: give an integer >= 0`);
if (process.send === undefined) throw new Error('pods-process: start it with an IPC channel (fork)');
const send = (m: PodReply): void => {
  process.send!(m);
};

const seen = new SeenLog(values['seen-log']);
const pods = Array.from({ length: count }, (_, i) => new Pod(`pod-${firstIndex + i}`, seen));
await Promise.all(pods.map((p) => p.listen(0)));

process.on('message', (m: PodCommand) => {
  switch (m.type) {
    case 'delay':
      for (const p of pods) p.delayMs = m.ms;
      send({ type: 'ok' });
      break;
    case 'reset':
      for (const p of pods) {
        p.requests = 0;
        p.peakInFlight = p.inFlight;
      }
      send({ type: 'ok' });
      break;
    case 'stats':
      send({ type: 'stats', pods: pods.map((p) => p.stats()) });
      break;
    case 'mode':
      for (const p of pods) p.setMode(m.mode);
      send({ type: 'ok' });
      break;
    case 'restart':
      Promise.all(pods.map((p) => p.restart(m.pauseMs))).then(
        () => send({ type: 'ok' }),
        (e: unknown) => {
          // A pod that cannot listen again is a broken benchmark, not a result.
          process.stderr.write(`pods-process: restart failed: ${(e as Error).stack ?? String(e)}\n`);
          process.exit(1);
        },
      );
      break;
    default: {
      const never: never = m;
      throw new Error(`pods-process: unknown command ${JSON.stringify(never)}`);
    }
  }
});
// The benchmark going away ends the pods.
process.on('disconnect', () => {
  seen.close();
  process.exit(0);
});
send({ type: 'ready', pods: pods.map((p) => ({ name: p.name, port: p.port })) });
