/**
 * A request body nobody reads yet stays in the client's TCP window (or HTTP/2 flow-control window),
 * whatever holds it up: the request waiting in the queue for a free endpoint, a pod that reads
 * slowly or not at all, over HTTP/1.1 or HTTP/2, toward an HTTP/1.1 or an h2c pod. Measured from
 * the client: it may hand over what the socket buffers hold (a few megabytes), never the whole body.
 */
import assert from 'node:assert/strict';
import type { ServerHttp2Stream } from 'node:http2';
import { test } from 'node:test';
import { Client } from 'undici';
import { LoadBoard } from '../../src/balancer/load-board.js';
import { monotonicClock } from '../../src/balancer/clock.js';
import { startBackends } from '../helpers/backends.js';
import type { Backend } from '../helpers/backends.js';
import { closeH2Backends, h2EndpointSpecs, startH2Backends } from '../helpers/h2-backends.js';
import { uploadH1, uploadH2 } from '../helpers/upload.js';
import type { UploadProgress } from '../helpers/upload.js';
import { assertNoInflight, send, startProxy, waitFor } from './harness.js';

const MB = 1_048_576;
const BODY = 96 * MB;
/** Socket buffers on both sides of every hop on loopback come to about 10 MB; leave room. */
const HELD_AT_MOST = 40 * MB;

function assertHeld(p: UploadProgress, where: string): void {
  assert.ok(p.stalled, `${where}: the client sent all ${p.sent} bytes without being held back (answer: ${JSON.stringify(p.answer.slice(0, 200))})`);
  assert.ok(p.sent < HELD_AT_MOST, `${where}: the client handed over ${(p.sent / MB).toFixed(1)} MB before it was held back`);
}

/** A pod whose `/hold` requests wait until released; everything else is read and answered. */
async function holdingPod(): Promise<{ backends: Backend[]; release: () => void }> {
  const held: (() => void)[] = [];
  const backends = await startBackends(1, 'pod', (req, res, backend) => {
    if (req.url === '/hold') {
      held.push(() => res.end('released'));
      return;
    }
    req.resume();
    req.on('end', () => res.end(backend.name));
  });
  return { backends, release: () => held.splice(0).forEach((f) => f()) };
}

for (const protocol of ['HTTP/1.1', 'HTTP/2'] as const) {
  test(`${protocol}: a body waiting in the queue for a free endpoint is not read into memory`, async () => {
    const { backends, release } = await holdingPod();
    const board = new LoadBoard(monotonicClock, { maxInflight: 1 });
    const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null, board, proxy: { queue: { max: 10, timeoutMs: 30_000 } } });
    const holder = new Client(h.origin);
    try {
      const holding = send(holder, '/hold');
      await waitFor(() => h.board.totalInflight === 1, 'the one slot to be taken');
      const upload = protocol === 'HTTP/1.1' ? uploadH1(h.port, '/up', {}, { bytes: BODY }) : uploadH2(h.port, '/up', {}, { bytes: BODY });
      assertHeld(await upload, 'queued');
      release();
      assert.equal((await holding).status, 200);
      // The proxy still serves, and the abandoned upload left nothing in flight.
      assert.equal((await send(holder, '/after')).status, 200);
      await assertNoInflight(h);
    } finally {
      release();
      await holder.close();
      await h.stop();
    }
  });
}

test('HTTP/1.1 client: a body toward an HTTP/1.1 pod that does not read stays in the client window', async () => {
  const backends = await startBackends(1, 'pod', (req) => req.pause());
  // The upload is still under way at the end: cut it rather than wait out the grace period.
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null, timeouts: { shutdownGraceMs: 100 } });
  try {
    assertHeld(await uploadH1(h.port, '/up', {}, { bytes: BODY }), 'HTTP/1.1 pod');
  } finally {
    await h.stop();
  }
});

for (const protocol of ['HTTP/1.1', 'HTTP/2'] as const) {
  test(`${protocol} client: a body toward an h2c pod that reads slowly stays in the client window`, async () => {
    let read = 0;
    const timers: NodeJS.Timeout[] = [];
    const backends = await startH2Backends(1, {
      handler: (stream: ServerHttp2Stream) => {
        stream.pause();
        // 64 KiB every 50 ms: about 1.3 MB/s.
        timers.push(
          setInterval(() => {
            const chunk = stream.read(65_536) as Buffer | null;
            if (chunk !== null) read += chunk.length;
          }, 50),
        );
      },
    });
    const h = await startProxy({ endpoints: h2EndpointSpecs(backends), algorithm: 'round-robin', keySource: null, timeouts: { shutdownGraceMs: 100 } });
    try {
      const upload = protocol === 'HTTP/1.1' ? uploadH1(h.port, '/up', {}, { bytes: BODY, stallMs: 600, timeoutMs: 3_000 }) : uploadH2(h.port, '/up', {}, { bytes: BODY, stallMs: 600, timeoutMs: 3_000 });
      const p = await upload;
      assert.ok(p.sent < HELD_AT_MOST, `h2c pod: the client handed over ${(p.sent / MB).toFixed(1)} MB while the pod had read ${(read / MB).toFixed(1)} MB`);
    } finally {
      for (const t of timers) clearInterval(t);
      await h.stop();
      await closeH2Backends(backends);
    }
  });
}
