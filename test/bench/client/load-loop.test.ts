import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pool } from 'undici';
import { runLoad } from '../../../bench/client/load-loop.js';
import { closeBackends, nameHandler, startBackend } from '../../helpers/backends.js';

test('runLoad: keeps requests in flight for the time given, sends each key in turn, counts what was not a 200', async (t) => {
  const seen: string[] = [];
  const pod = await startBackend('pod-0', (req, res, b) => {
    seen.push(String(req.headers['x-tenant']));
    if (req.url === '/fail') {
      res.writeHead(503).end();
      return;
    }
    nameHandler(req, res, b);
  });
  t.after(() => closeBackends([pod]));
  const pool = new Pool(`http://${pod.address}`);
  t.after(() => pool.close());
  const headers = [{ 'x-tenant': 'a' }, { 'x-tenant': 'b' }, { 'x-tenant': 'c' }];
  const ok = await runLoad(pool, { origin: `http://${pod.address}`, path: '/', headers }, 4, 200);
  assert.ok(ok.requests > 10, `${ok.requests} requests`);
  assert.equal(ok.failed, 0);
  assert.ok(ok.elapsedMs >= 200 && ok.cpuUs > 0);
  assert.equal(pod.requests, ok.requests);
  assert.deepEqual(new Set(seen), new Set(['a', 'b', 'c']));
  const failing = await runLoad(pool, { origin: `http://${pod.address}`, path: '/fail', headers }, 2, 100);
  assert.equal(failing.failed, failing.requests);
});
