/**
 * Keys from JSON request bodies (`json:PATH`) and key transforms, through the proxy to real pods
 * that echo what they received.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { Client } from 'undici';
import { hashKey } from '../../src/balancer/hash.js';
import type { HashingBalancer } from '../../src/balancer/hashing-balancer.js';
import { parseKeyTransform } from '../../src/balancer/key-transform.js';
import { startBackends } from '../helpers/backends.js';
import type { Backend } from '../helpers/backends.js';
import { assertNoInflight, send, startProxy } from './harness.js';

/** Pods that answer `<name> <bytes received> <sha of body as text length>`, echoing the body. */
function echoPods(): Promise<Backend[]> {
  return startBackends(4, 'pod', (req, res, backend) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(200, { 'x-backend': backend.name });
      res.end(Buffer.concat(chunks));
    });
  });
}

test('json:PATH routes a request by a field of its body, and the body reaches the pod byte for byte', async () => {
  const backends = await echoPods();
  const h = await startProxy({ backends, algorithm: 'ring-hash', keySource: 'json:account.id' });
  const client = new Client(h.origin);
  try {
    const balancer = h.balancer as HashingBalancer;
    for (const id of ['acct-1', 'acct-2', 'acct-3', 'acct-4', 'acct-5', 42]) {
      // Spacing and member order as a client might send them; a large sibling field too.
      const body = `{ "note": "${'x'.repeat(20_000)}", "account" : {"name":"n","id": ${JSON.stringify(id)} } }`;
      const r = await send(client, '/orders', { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      assert.equal(r.status, 200);
      assert.equal(r.text, body, 'forwarded byte for byte');
      assert.equal(r.headers['x-backend'], balancer.owner(hashKey(String(id)))!.name, `${id} reached its owner`);
    }
    // Chunked (no Content-Length) works the same.
    const chunked = await send(client, '/orders', { method: 'POST', body: Readable.from(['{"account":', '{"id":"acct-1"}}']) });
    assert.equal(chunked.headers['x-backend'], balancer.owner(hashKey('acct-1'))!.name);
    assert.equal(chunked.text, '{"account":{"id":"acct-1"}}');
    await assertNoInflight(h);
  } finally {
    await client.close();
    await h.stop();
  }
});

test('json:PATH: a body over --max-body-buffer gets 413 and never reaches a pod; a body without the key takes the keyless fallback', async () => {
  const backends = await echoPods();
  const h = await startProxy({ backends, algorithm: 'ring-hash', keySource: 'json:account.id', proxy: { maxBodyBuffer: 1024 } });
  try {
    const declared = new Client(h.origin);
    const big = await send(declared, '/', { method: 'POST', body: JSON.stringify({ account: { id: 'a' }, pad: 'y'.repeat(2000) }) });
    assert.equal(big.status, 413);
    assert.equal((JSON.parse(big.text) as { code: string }).code, 'SG_ERR_BODY_TOO_LARGE');
    await declared.close();
    const streamed = new Client(h.origin);
    const chunkedBig = await send(streamed, '/', { method: 'POST', body: Readable.from(['z'.repeat(600), 'z'.repeat(600), 'z'.repeat(600), 'z'.repeat(600)]) });
    assert.equal(chunkedBig.status, 413, 'a chunked body is cut at the limit too');
    await streamed.close();
    assert.equal(backends.reduce((n, b) => n + b.requests, 0), 0, 'no pod saw a half-read body');
    const client = new Client(h.origin);
    for (const body of ['not json', '{"account":{}}', '{"account":{"id":""}}']) {
      const r = await send(client, '/', { method: 'POST', body });
      assert.equal(r.status, 200, `${body}: served keyless`);
      assert.equal(r.text, body);
    }
    await client.close();
    await assertNoInflight(h);
  } finally {
    await h.stop();
  }
});

test('json:PATH over HTTP/2', async () => {
  const backends = await echoPods();
  const h = await startProxy({ backends, algorithm: 'ring-hash', keySource: 'json:id' });
  const session = http2.connect(h.origin);
  try {
    const balancer = h.balancer as HashingBalancer;
    const body = '{"id":"acct-77"}';
    const r = await new Promise<{ backend: unknown; text: string }>((resolve, reject) => {
      const stream = session.request({ ':method': 'POST', ':path': '/', 'content-type': 'application/json' });
      let backend: unknown;
      let text = '';
      stream.on('response', (hd) => (backend = hd['x-backend']));
      stream.on('data', (c: Buffer) => (text += c.toString()));
      stream.on('end', () => resolve({ backend, text }));
      stream.on('error', reject);
      stream.end(body);
    });
    assert.equal(r.text, body);
    assert.equal(r.backend, balancer.owner(hashKey('acct-77'))!.name);
  } finally {
    session.close();
    await h.stop();
  }
});

test('a key transform routes the transformed key: delimited:-:0 keeps a tenant\'s users together', async () => {
  const backends = await echoPods();
  const h = await startProxy({ backends, algorithm: 'ring-hash', proxy: { keyTransform: parseKeyTransform('delimited:-:0') } });
  const client = new Client(h.origin);
  try {
    const balancer = h.balancer as HashingBalancer;
    const pods = new Set<string>();
    for (let u = 0; u < 12; u++) {
      const r = await send(client, '/', { headers: { 'x-affinity': `tenant42-user${u}` } });
      pods.add(String(r.headers['x-backend']));
    }
    assert.deepEqual([...pods], [balancer.owner(hashKey('tenant42'))!.name]);
  } finally {
    await client.close();
    await h.stop();
  }
});
