/**
 * WebSocket through the whole proxy: routed once by key, then echoed by real `ws` pods, over
 * HTTP/1.1 Upgrade and over HTTP/2 (RFC 8441).
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { test } from 'node:test';
import WebSocket from 'ws';
import { hashKey } from '../../src/balancer/hash.js';
import type { HashingBalancer } from '../../src/balancer/hashing-balancer.js';
import type { EndpointSpec } from '../../src/balancer/endpoint.js';
import { closedPort } from '../helpers/backends.js';
import { FrameDecoder, OPCODE, encodeFrame } from '../helpers/websocket-codec.js';
import type { Pod } from './websocket-harness.js';
import { closed, nextMessage, refusedClient, startPod } from './websocket-harness.js';
import type { HarnessOptions } from './harness.js';
import { assertNoInflight, startProxy, waitFor } from './harness.js';
import type { DEFAULT_RETRY_OPTIONS } from '../../src/proxy/retries.js';
import { Retrier } from '../../src/proxy/retries.js';
import { monotonicClock } from '../../src/balancer/clock.js';
import { RetryBudget } from '../../src/balancer/retry-budget.js';

/** Pods that greet with their name, then echo. */
async function namedPods(count: number): Promise<{ pods: Pod[]; specs: EndpointSpec[] }> {
  const pods: Pod[] = [];
  for (let i = 0; i < count; i++) {
    const name = `pod-${i}`;
    pods.push(
      await startPod({}, (ws) => {
        ws.send(name);
        ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
      }),
    );
  }
  return { pods, specs: pods.map((p, i) => ({ name: `pod-${i}`, address: `127.0.0.1:${p.port}` })) };
}

function connect(port: number, key: string): Promise<{ ws: WebSocket; greeting: string }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`, { headers: { 'x-affinity': key } });
  return new Promise((resolve, reject) => {
    ws.once('message', (data: Buffer) => resolve({ ws, greeting: data.toString() }));
    ws.once('error', reject);
  });
}

async function withProxy(count: number, options: HarnessOptions, run: (port: number, balancer: HashingBalancer, pods: Pod[]) => Promise<void>, extra: EndpointSpec[] = []): Promise<void> {
  const { pods, specs } = await namedPods(count);
  const h = await startProxy({ endpoints: [...specs, ...extra], algorithm: 'ring-hash', ...options });
  try {
    await run(h.port, h.balancer as HashingBalancer, pods);
    await assertNoInflight(h);
  } finally {
    await h.stop();
    await Promise.all(pods.map((p) => p.close()));
  }
}

test('WebSocket: routed once by its key to the owner, then echoed both ways; its pick ends when it closes', async () => {
  await withProxy(4, {}, async (port, balancer) => {
    for (const key of ['alice', 'bob', 'carol']) {
      const owner = balancer.owner(hashKey(key))!.name;
      const { ws, greeting } = await connect(port, key);
      assert.equal(greeting, owner);
      ws.send('hello');
      assert.equal((await nextMessage(ws)).data.toString(), 'hello');
      const big = Buffer.alloc(4 << 20, 3);
      ws.send(big);
      const back = await nextMessage(ws);
      assert.ok(back.isBinary && back.data.equals(big), 'a 4 MiB binary message both ways');
      const done = closed(ws);
      ws.close(4001, 'bye');
      assert.deepEqual(await done, { code: 4001, reason: 'bye' });
    }
  });
});

test('WebSocket: an unreachable owner is retried on the key\'s next owner before the client sees anything', async () => {
  const dead = await closedPort();
  const budget = new RetryBudget(monotonicClock);
  await withProxy(
    2,
    { proxy: { retries: new Retrier({ retries: 2, retryOn: ['connect-failure'], nonIdempotent: false } satisfies typeof DEFAULT_RETRY_OPTIONS, budget) } },
    async (port, balancer) => {
      let key = '';
      for (let i = 0; key === ''; i++) if (balancer.owner(hashKey(`k${i}`))?.name === 'pod-x') key = `k${i}`;
      const next = balancer.preference(hashKey(key), 2)[1]!.name;
      const { ws, greeting } = await connect(port, key);
      assert.equal(greeting, next);
      const done = closed(ws);
      ws.close();
      await done;
    },
    [{ name: 'pod-x', address: `127.0.0.1:${dead}` }],
  );
});

test('WebSocket: an Upgrade to anything else gets 501; no endpoint gets 503 before any tunnel', async () => {
  await withProxy(1, {}, async (port) => {
    const raw = await new Promise<string>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n'));
      let text = '';
      s.on('data', (c: Buffer) => (text += c.toString()));
      s.on('end', () => resolve(text));
      s.on('error', reject);
    });
    assert.match(raw, /^HTTP\/1\.1 501 /);
    assert.match(raw, /SG_ERR_UPGRADE/);
  });
  await withProxy(0, {}, async (port) => {
    const refusal = await refusedClient(port);
    assert.equal(refusal.status, 503);
    assert.match(refusal.body, /empty/);
  });
});

test('WebSocket over HTTP/2 (RFC 8441): extended CONNECT routed by key and echoed', async () => {
  await withProxy(3, {}, async (port, balancer) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      await new Promise<void>((resolve) => session.once('remoteSettings', () => resolve()));
      assert.equal(session.remoteSettings.enableConnectProtocol, true);
      const stream = session.request({ ':method': 'CONNECT', ':protocol': 'websocket', ':path': '/chat', ':scheme': 'http', 'sec-websocket-version': '13', 'x-affinity': 'dave' });
      const decoder = new FrameDecoder();
      stream.on('data', (c: Buffer) => decoder.push(c));
      const status = await new Promise<number>((resolve) => stream.once('response', (h) => resolve(Number(h[':status']))));
      assert.equal(status, 200);
      await waitFor(() => decoder.frames.length >= 1, 'the greeting');
      assert.equal(decoder.frames[0]!.payload.toString(), balancer.owner(hashKey('dave'))!.name);
      stream.write(encodeFrame(OPCODE.text, Buffer.from('over h2'), true));
      await waitFor(() => decoder.frames.length >= 2, 'the echo');
      assert.equal(decoder.frames[1]!.payload.toString(), 'over h2');
      stream.close();
    } finally {
      session.close();
    }
  });
});
