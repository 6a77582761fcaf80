/**
 * The client of bench:faults, in a process of its own (it may hold thousands of sockets, and its
 * event loop must not share a core's time with the benchmark's own timers):
 *
 *   node client-process.js
 *
 * with an IPC channel; commands and replies are in client-messages.ts. It does four things:
 *
 * - load: `concurrency` lanes over as many keep-alive connections (an undici Pool), each sending
 *   one request after another until the duration is over: half GET, half POST, every request
 *   with a unique `x-request-id`, a POST with a small JSON body. A request fails on an answer other
 *   than 2xx, a connection error or no whole answer within the timeout; nothing is retried.
 * - hold: connections opened and left hanging, 200 at a time: slowloris (a request head that gets
 *   one more header line every 2 s and never ends) or a stalled body (a POST head with
 *   `Content-Length: 100`, then 10 bytes, then nothing). It counts those the proxy closes, and when.
 * - transfer: one upload sent as fast as the proxy takes it, or one download read slowly (a
 *   download may ask the pod to answer late, to keep it busy).
 * - release: closes the held connections.
 */
import http from 'node:http';
import net from 'node:net';
import { Pool } from 'undici';
import { DELAY_HEADER, DOWNLOAD_HEADER, REQUEST_ID_HEADER } from '../common/pod-messages.js';
import type { ClientCommand, ClientReply, HeldStatus, HoldOrder, LoadOrder, TransferOrder } from './client-messages.js';
import type { LoadTally, Outcome } from './tally.js';
import { emptyTally, isGetRequest, OK, outcomeOfAnswer, outcomeOfError, record } from './tally.js';

/** Connections being opened at once, so that no listen backlog overflows. */
const OPENING_AT_ONCE = 200;
const DRIBBLE_MS = 2_000;
const STALLED_BODY_LENGTH = 100;
const STALLED_BODY_SENT = 10;
const CHUNK = Buffer.alloc(64 * 1024, 'u');

if (process.send === undefined) throw new Error('client-process: start it with an IPC channel');
const send = (m: ClientReply): void => {
  process.send!(m);
};

async function request(pool: Pool, idempotent: boolean, id: string): Promise<Outcome> {
  try {
    const res = await pool.request(
      idempotent
        ? { method: 'GET', path: `/items/${id}`, headers: { [REQUEST_ID_HEADER]: id } }
        : { method: 'POST', path: '/items', headers: { [REQUEST_ID_HEADER]: id, 'content-type': 'application/json' }, body: JSON.stringify({ id, text: 'a record to keep exactly once' }) },
    );
    // Read to the end: a body cut short is a failure too.
    return outcomeOfAnswer(res.statusCode, await res.body.text());
  } catch (e) {
    return outcomeOfError(e);
  }
}

const stops = new Map<number, () => void>();

async function load(loadId: number, o: LoadOrder): Promise<LoadTally> {
  const pool = new Pool(`http://127.0.0.1:${o.port}`, { connections: o.concurrency, pipelining: 1, headersTimeout: o.timeoutMs, bodyTimeout: o.timeoutMs });
  const tally = emptyTally();
  const deadline = performance.now() + o.durationMs;
  let stopped = false;
  stops.set(loadId, () => (stopped = true));
  let next = 0;
  const lane = async (): Promise<void> => {
    while (!stopped && performance.now() < deadline) {
      const n = next++;
      const id = `${o.idPrefix}-${n}`;
      const idempotent = isGetRequest(n);
      record(tally, idempotent, id, await request(pool, idempotent, id));
    }
  };
  try {
    await Promise.all(Array.from({ length: o.concurrency }, lane));
  } finally {
    stops.delete(loadId);
    await pool.destroy();
  }
  return tally;
}

/** The connections of `hold` commands and what became of them. */
class HeldConnections {
  readonly #sockets = new Set<net.Socket>();
  readonly #slowloris = new Set<net.Socket>();
  readonly #answers: Record<string, number> = {};
  #opened = 0;
  #failed = 0;
  #closedByPeer = 0;
  #firstOpenAt: number | null = null;
  #lastCloseAt: number | null = null;
  #releasing = false;
  #dribbles = 0;

  constructor() {
    setInterval(() => this.#dribbleAll(), DRIBBLE_MS).unref();
  }

  async hold(o: HoldOrder): Promise<void> {
    this.#releasing = false;
    let started = 0;
    const lane = async (): Promise<void> => {
      while (started < o.count) {
        started++;
        await this.#openOne(o);
      }
    };
    await Promise.all(Array.from({ length: Math.min(OPENING_AT_ONCE, o.count) }, lane));
  }

  status(): HeldStatus {
    return {
      opened: this.#opened,
      failed: this.#failed,
      closedByPeer: this.#closedByPeer,
      lastCloseMs: this.#firstOpenAt === null || this.#lastCloseAt === null ? null : Math.round(this.#lastCloseAt - this.#firstOpenAt),
      answers: { ...this.#answers },
    };
  }

  release(): void {
    this.#releasing = true;
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    this.#slowloris.clear();
    this.#opened = 0;
    this.#failed = 0;
    this.#closedByPeer = 0;
    this.#firstOpenAt = null;
    this.#lastCloseAt = null;
    this.#dribbles = 0;
    for (const k of Object.keys(this.#answers)) delete this.#answers[k];
  }

  #openOne(o: HoldOrder): Promise<void> {
    return new Promise((resolve) => {
      const socket = net.connect(o.port, '127.0.0.1');
      const n = this.#opened + this.#failed;
      let connected = false;
      let answered = false;
      socket.once('connect', () => {
        connected = true;
        this.#opened++;
        this.#firstOpenAt ??= performance.now();
        this.#sockets.add(socket);
        if (o.kind === 'slowloris') {
          socket.write(`GET /slow/${n} HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
          this.#slowloris.add(socket);
        } else {
          socket.write(`POST /stalled/${n} HTTP/1.1\r\nHost: 127.0.0.1\r\n${REQUEST_ID_HEADER}: stalled-${n}\r\nContent-Type: text/plain\r\nContent-Length: ${STALLED_BODY_LENGTH}\r\n\r\n${'s'.repeat(STALLED_BODY_SENT)}`);
        }
        resolve();
      });
      socket.on('data', (chunk: Buffer) => {
        if (answered) return;
        answered = true;
        const line = chunk.toString('latin1').split('\r\n')[0]!.slice(0, 40);
        this.#answers[line] = (this.#answers[line] ?? 0) + 1;
      });
      socket.on('error', () => {
        // A reset by the proxy ends the connection like a close: 'close' counts it.
      });
      socket.once('close', () => {
        this.#slowloris.delete(socket);
        if (!connected) {
          this.#failed++;
          resolve();
          return;
        }
        if (this.#releasing || !this.#sockets.delete(socket)) return;
        this.#closedByPeer++;
        this.#lastCloseAt = performance.now();
        if (!answered) this.#answers.none = (this.#answers.none ?? 0) + 1;
      });
    });
  }

  #dribbleAll(): void {
    const k = this.#dribbles++;
    for (const s of this.#slowloris) s.write(`x-slow-${k}: ${k}\r\n`);
  }
}

function transfer(o: TransferOrder): Promise<{ outcome: Outcome; bytes: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    let bytes = 0;
    let settled = false;
    const headers: Record<string, string> = { [REQUEST_ID_HEADER]: o.requestId };
    if (o.kind === 'upload') {
      headers['content-type'] = 'application/octet-stream';
      headers['content-length'] = String(o.bytes);
    } else {
      headers[DOWNLOAD_HEADER] = String(o.bytes);
      if (o.delayMs > 0) headers[DELAY_HEADER] = String(o.delayMs);
    }
    const req = http.request({ host: '127.0.0.1', port: o.port, method: o.kind === 'upload' ? 'POST' : 'GET', path: `/${o.kind}`, headers, agent: false });
    const settle = (outcome: Outcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ outcome, bytes, ms: Math.round(performance.now() - started) });
    };
    const timer = setTimeout(() => settle({ ok: false, reason: `no whole answer within ${o.timeoutMs / 1000} s` }), o.timeoutMs);
    req.on('error', (e) => settle(outcomeOfError(e)));
    req.on('response', (res) => {
      const status = outcomeOfAnswer(res.statusCode ?? 0);
      res.on('error', (e) => settle(outcomeOfError(e)));
      res.on('end', () => {
        if (!status.ok) settle(status);
        else if (o.kind === 'download' && bytes !== o.bytes) settle({ ok: false, reason: `short body (${bytes} of ${o.bytes} bytes)` });
        else settle(OK);
      });
      if (o.kind === 'upload') {
        res.resume();
        return;
      }
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        const dueMs = (bytes / o.bytesPerS) * 1000 - (performance.now() - started);
        if (dueMs < 1) return;
        res.pause();
        setTimeout(() => res.resume(), dueMs);
      });
    });
    if (o.kind === 'download') {
      req.end();
      return;
    }
    const pump = (): void => {
      while (bytes < o.bytes && !settled) {
        const chunk = o.bytes - bytes >= CHUNK.length ? CHUNK : CHUNK.subarray(0, o.bytes - bytes);
        bytes += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!settled) req.end();
    };
    pump();
  });
}

const held = new HeldConnections();

process.on('message', (m: ClientCommand) => {
  switch (m.type) {
    case 'load':
      load(m.id, m.order).then((tally) => send({ type: 'loaded', id: m.id, tally }));
      break;
    case 'stop':
      stops.get(m.loadId)?.();
      send({ type: 'ok', id: m.id });
      break;
    case 'hold':
      held.hold(m.order).then(() => send({ type: 'held', id: m.id, status: held.status() }));
      break;
    case 'held':
      send({ type: 'held', id: m.id, status: held.status() });
      break;
    case 'release':
      held.release();
      send({ type: 'ok', id: m.id });
      break;
    case 'transfer':
      transfer(m.order).then((r) => send({ type: 'transferred', id: m.id, ...r }));
      break;
    default: {
      const never: never = m;
      throw new Error(`client-process: unknown command ${JSON.stringify(never)}`);
    }
  }
});
// The benchmark going away ends the client.
process.on('disconnect', () => process.exit(0));
