/**
 * The backend pods of bench:proxy, in a process of their own so that the proxies' CPU is measured
 * alone: `node pods-process.js <count>`, with an IPC channel. Each pod is a node:http server on a
 * 127.0.0.1 ephemeral port answering a small body after reading the request; each counts its
 * requests and its current and peak requests in flight. Commands over IPC set a delay before every
 * answer (the slow pods of the hot-key test), reset the counters and report them.
 */
import type { ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PodCommand, PodReply, PodStats } from './pod-messages.js';

/** Longer than any run, so that a proxy never reuses a connection the pod is closing. */
const KEEP_ALIVE_TIMEOUT_MS = 10 * 60_000;

class Pod {
  requests = 0;
  inFlight = 0;
  peakInFlight = 0;
  readonly #body: Buffer;
  readonly #headers: Record<string, string>;

  constructor(readonly name: string) {
    this.#body = Buffer.from(`{"pod":"${name}"}\n`);
    this.#headers = { 'content-type': 'application/json', 'content-length': String(this.#body.length) };
  }

  readonly serve = (delayMs: number, res: ServerResponse): void => {
    this.requests++;
    this.inFlight++;
    if (this.inFlight > this.peakInFlight) this.peakInFlight = this.inFlight;
    let counted = true;
    const finish = (): void => {
      if (!counted) return;
      counted = false;
      this.inFlight--;
    };
    res.once('close', finish);
    const answer = (): void => {
      res.writeHead(200, this.#headers);
      res.end(this.#body);
    };
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  };

  stats(): PodStats {
    return { name: this.name, requests: this.requests, inFlight: this.inFlight, peakInFlight: this.peakInFlight };
  }
}

const count = Number(process.argv[2] ?? '4');
if (!Number.isInteger(count) || count < 1) throw new Error(`pods-process: pod count is ${process.argv[2]}: give a positive integer`);
if (process.send === undefined) throw new Error('pods-process: start it with an IPC channel (fork)');
const send = (m: PodReply): void => {
  process.send!(m);
};

let delayMs = 0;
const pods = Array.from({ length: count }, (_, i) => new Pod(`pod-${i}`));
const ports = await Promise.all(
  pods.map(
    (pod) =>
      new Promise<number>((resolve, reject) => {
        const server = createServer((req, res) => {
          // The body, if any, is read before the answer, as a real service would.
          req.resume();
          pod.serve(delayMs, res);
        });
        server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
        server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
        server.on('clientError', (err, socket) => {
          // A proxy that drops a connection mid-request at shutdown; the pod carries on.
          process.stderr.write(`${pod.name}: client error ${err.message}\n`);
          socket.destroy();
        });
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
      }),
  ),
);

process.on('message', (m: PodCommand) => {
  switch (m.type) {
    case 'delay':
      delayMs = m.ms;
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
    default: {
      const never: never = m;
      throw new Error(`pods-process: unknown command ${JSON.stringify(never)}`);
    }
  }
});
// The benchmark going away ends the pods.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', pods: pods.map((p, i) => ({ name: p.name, port: ports[i]! })) });
