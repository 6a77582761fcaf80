/**
 * What the proxy holds for a request is released when the request ends, on a keep-alive
 * connection that lives on: memory grows with the connections and requests in flight, never
 * with the requests served. Checked with weak references to the proxy's own response objects
 * (from the proxy's request observer) and a forced collection.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Client } from 'undici';
import { startBackends } from '../helpers/backends.js';
import { send, startProxy } from './harness.js';

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

for (const method of ['GET', 'POST'] as const) {
  test(`${method}: 300 requests on one keep-alive connection leave none of their response objects behind`, async () => {
    const backends = await startBackends(1);
    // Every response the proxy's front made, whichever HTTP/1.1 path served it: the observer hears of each.
    const refs: WeakRef<object>[] = [];
    const observer = { ended: (res: object): void => void refs.push(new WeakRef(res)) };
    const h = await startProxy({ backends, keySource: null, proxy: { observer } });
    const client = new Client(h.origin);
    try {
      for (let i = 0; i < 300; i++) {
        const r = await send(client, '/', method === 'POST' ? { method, body: 'a small body' } : { method });
        assert.equal(r.status, 200);
      }
      assert.equal(refs.length, 300);
      await new Promise((r) => setImmediate(r));
      gc();
      await new Promise((r) => setTimeout(r, 10));
      gc();
      const alive = refs.filter((r) => r.deref() !== undefined).length;
      assert.ok(alive <= 2, `${alive} of 300 responses are still held while their connection stays open`);
    } finally {
      await client.close();
      await h.stop();
    }
  });
}
