/**
 * An answer sent before the request body was read reaches the client: the proxy half-closes and
 * reads on (a lingering close) instead of closing onto unread bytes, which makes the kernel reset
 * the connection and the client lose the answer. Through the real binary in a process of its own:
 * the race is between two processes' reads and writes, and does not show with client and proxy
 * on one event loop.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { Served } from '../cli/run.js';

const MB = 1_048_576;
const TRIES = 20;

interface Outcome {
  readonly status: number | null;
  readonly error: string | null;
}

/** Node's own client, which writes the whole body before it looks at the answer's end. */
function nodePost(port: number, path: string, body: Buffer, headers: Record<string, string> = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { 'content-length': String(body.length), ...headers } });
    let status: number | null = null;
    req.on('response', (res) => {
      status = res.statusCode ?? null;
      res.resume();
      res.on('end', () => resolve({ status, error: null }));
      res.on('error', () => resolve({ status, error: null }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ status, error: err.code ?? err.message }));
    req.end(body);
  });
}

/** Node's client with a chunked body written in pieces. */
function nodePostChunked(port: number, path: string, pieces: number, pieceBytes: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent: false });
    let status: number | null = null;
    req.on('response', (res) => {
      status = res.statusCode ?? null;
      res.resume();
      res.on('end', () => resolve({ status, error: null }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ status, error: err.code ?? err.message }));
    const piece = Buffer.alloc(pieceBytes, 0x62);
    for (let i = 0; i < pieces; i++) req.write(piece);
    req.end();
  });
}

async function tally(run: () => Promise<Outcome>): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let i = 0; i < TRIES; i++) {
    const o = await run();
    const label = o.status !== null ? String(o.status) : `error ${o.error}`;
    seen.set(label, (seen.get(label) ?? 0) + 1);
  }
  return seen;
}

function assertAll(seen: Map<string, number>, status: number, what: string): void {
  assert.deepEqual([...seen], [[String(status), TRIES]], `${what}: every client should have read ${status}; they saw ${JSON.stringify([...seen])}`);
}

/**
 * A pod that counts the requests it gets and the bodies it read to the end; `early` answers 413
 * before reading.
 */
async function pod(t: TestContext, early: boolean): Promise<{ address: string; requests: () => number; wholeBodies: () => number }> {
  let requests = 0;
  let wholeBodies = 0;
  const server = http.createServer((req, res) => {
    requests++;
    if (early) {
      res.writeHead(413, { 'content-type': 'text/plain' });
      res.end('too big for the pod');
      return;
    }
    req.resume();
    req.on('end', () => {
      wholeBodies++;
      res.end('ok');
    });
    req.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as { port: number };
  return { address: `127.0.0.1:${port}`, requests: () => requests, wholeBodies: () => wholeBodies };
}

async function serve(t: TestContext, podAddress: string, flags: readonly string[]): Promise<number> {
  const served = new Served(t, ['serve', '--listen', '127.0.0.1:0', '--endpoints', `pod-0=${podAddress}`, '--workers', '1', ...flags]);
  return (await served.address()).port;
}

test('a declared body over --max-body-bytes: every Node client reads the 413, none sees EPIPE or ECONNRESET', async (t) => {
  const p = await pod(t, false);
  const port = await serve(t, p.address, ['--max-body-bytes', String(MB)]);
  const body = Buffer.alloc(5 * MB, 0x61);
  assertAll(await tally(() => nodePost(port, '/', body)), 413, 'declared length');
  assertAll(await tally(() => nodePostChunked(port, '/', 40, 128 * 1024)), 413, 'chunked, over the limit on its way');
  assert.equal(p.wholeBodies(), 0, 'no pod took a body over the limit for a whole one');
});

test('a body over --max-body-buffer on a json: key route: every Node client reads the 413', async (t) => {
  const p = await pod(t, false);
  const port = await serve(t, p.address, ['--balancer', 'ring-hash', '--key', 'json:account', '--max-body-buffer', '65536']);
  const body = Buffer.from(`{"account":"a","pad":"${'x'.repeat(5 * MB)}"}`);
  assertAll(await tally(() => nodePost(port, '/', body, { 'content-type': 'application/json' })), 413, 'declared json');
  assertAll(await tally(() => nodePostChunked(port, '/', 40, 128 * 1024)), 413, 'chunked json');
  assert.equal(p.requests(), 0, 'a body over the buffer is never forwarded');
});

test('a pod that answers before reading the body: every Node client reads the pod\'s answer', async (t) => {
  const p = await pod(t, true);
  const port = await serve(t, p.address, []);
  const body = Buffer.alloc(5 * MB, 0x61);
  assertAll(await tally(() => nodePost(port, '/', body)), 413, 'the pod\'s early answer');
  assert.equal(p.requests(), TRIES);
});

