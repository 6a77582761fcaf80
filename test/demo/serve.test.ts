import assert from 'node:assert/strict';
import { once } from 'node:events';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { Client } from 'undici';
import { seededRng } from '../../src/balancer/rng.js';
import { PodFleet } from '../../src/demo/pods.js';
import { Report } from '../../src/demo/report.js';
import { serveUntilStopped } from '../../src/demo/serve.js';
import { getPod, sendSequential, withDispatcher } from '../../src/demo/traffic.js';

let fleet: PodFleet;
let dir: string;

before(async () => {
  fleet = await PodFleet.start(4, { keyHeader: 'x-account', rng: seededRng(1) });
  dir = await mkdtemp(join(tmpdir(), 'shardgate-demo-serve-'));
});

after(async () => {
  await fleet.close();
  await rm(dir, { recursive: true, force: true });
});

function collector(): { out: Writable; text: () => string } {
  let text = '';
  const out = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      text += chunk.toString();
      callback();
    },
  });
  return { out, text: () => text };
}

async function waitFor(text: () => string, needle: string): Promise<void> {
  for (let i = 0; i < 250 && !text().includes(needle); i++) await sleep(20);
  assert.ok(text().includes(needle), `"${needle}" never appeared in:\n${text()}`);
}

test('serve: falls back to an ephemeral port when the preferred one is taken, and stops on SIGINT', async () => {
  const squatter = createServer();
  squatter.listen(0, '127.0.0.1');
  await once(squatter, 'listening');
  const taken = (squatter.address() as AddressInfo).port;
  const { out, text } = collector();
  try {
    const handlersBefore = process.listenerCount('SIGINT');
    const files = join(dir, 'taken');
    const serving = serveUntilStopped(fleet, new Report(out), { port: taken, adminPort: taken, dir: files, loadFactor: 1.25, seed: 1 });
    await waitFor(text, 'SIGTERM stops the demo');
    const origin = /Serving: shardgate on (http:\/\/127\.0\.0\.1:\d+)/.exec(text())?.[1];
    assert.ok(origin !== undefined, text());
    assert.notEqual(new URL(origin).port, String(taken));
    assert.equal(text().split(`(port ${taken} is taken)`).length, 3, `the proxy and the admin listener both fell back:\n${text()}`);
    assert.ok(text().includes(`curl -s -H 'x-account: 42' ${origin}/`), text());
    const admin = /directory and probes \(admin listener\): (http:\/\/127\.0\.0\.1:\d+)/.exec(text())?.[1];
    assert.ok(admin !== undefined && new URL(admin).port !== String(taken), text());

    const keyed = await withDispatcher(new Client(origin), (c) => sendSequential(c, 6, () => ({ 'x-account': '42' })));
    assert.equal(new Set(keyed.map((r) => r.pod)).size, 1, 'one account, one pod');
    const keyless = await withDispatcher(new Client(origin), (c) => getPod(c));
    assert.match(keyless.pod, /^pod-\d$/, 'requests without a key are served (p2c)');
    const owner = (await (await fetch(`${admin}/v1/owner?key=42`)).json()) as { endpoint: string };
    assert.equal(owner.endpoint, keyed[0]!.pod, 'the directory names the pod the proxy routed account 42 to');
    assert.ok(text().includes(`the admin page, live: ${admin}/`), `the page's address is printed:\n${text()}`);
    const page = await fetch(`${admin}/`);
    assert.deepEqual([page.status, page.headers.get('content-type'), (await page.text()).includes('<title>shardgate</title>')], [200, 'text/html; charset=utf-8', true]);
    const status = (await (await fetch(`${admin}/v1/status`)).json()) as { totals: { requests: number }; endpoints: { name: string }[] };
    assert.equal(status.totals.requests, keyed.length + 1, 'the status counts the requests the demo proxy routed');
    assert.deepEqual(status.endpoints.map((e) => e.name), fleet.endpointSpecs().map((e) => e.name));
    // The page's hot-keys panel and Prometheus have what serve --admin gives them.
    const hot = (await (await fetch(`${admin}/v1/hot-keys`)).json()) as { keys: { key: string; endpoint: string }[] };
    assert.deepEqual(hot.keys.map((k) => [k.key, k.endpoint]), [['42', keyed[0]!.pod]], 'account 42 is the one hot key, at its pod');
    const scrape = await (await fetch(`${admin}/metrics`)).text();
    assert.match(scrape, new RegExp(`^shardgate_keyed_rq_total\\{endpoint="${keyed[0]!.pod}"\\} 6$`, 'm'));

    const info = JSON.parse(await readFile(join(files, 'demo.json'), 'utf8')) as { proxy: string; admin: string; endpointsFile: string };
    assert.deepEqual([info.proxy, info.admin, info.endpointsFile], [origin, admin, join(files, 'endpoints.json')]);
    assert.ok(text().includes(info.endpointsFile) && text().includes(join(files, 'demo.json')), 'both files are named in the Serving text');
    const pods = JSON.parse(await readFile(info.endpointsFile, 'utf8')) as unknown;
    assert.deepEqual(pods, fleet.endpointSpecs(), 'the endpoints file lists the pods as --endpoints-file reads them');

    process.emit('SIGINT', 'SIGINT');
    await serving;
    assert.match(text(), /SIGINT: stopping/);
    const served = [...text().matchAll(/^\s*pod-\d\s+(\d+)\s+(\d+)$/gm)].map((m) => Number(m[1]));
    assert.equal(served.reduce((a, b) => a + b, 0), 7, text());
    assert.equal(process.listenerCount('SIGINT'), handlersBefore, 'signal handlers removed after stopping');
    await assert.rejects(access(files), 'the files and the folder the demo made are gone');
  } finally {
    squatter.close();
  }
});

test('serve: an abort signal stops it as SIGINT does, and the proxy is closed', async () => {
  const { out, text } = collector();
  const stop = new AbortController();
  const serving = serveUntilStopped(fleet, new Report(out), { port: 0, adminPort: 0, dir, loadFactor: 1.25, seed: 1, signal: stop.signal });
  await waitFor(text, 'SIGTERM stops the demo');
  assert.ok(!text().includes('is taken'), 'port 0 asks for an ephemeral port; nothing was taken');
  const origin = /Serving: shardgate on (http:\/\/127\.0\.0\.1:\d+)/.exec(text())![1]!;
  stop.abort();
  await serving;
  assert.match(text(), /aborted: stopping/);
  await access(dir);
  await assert.rejects(access(join(dir, 'demo.json')), 'demo.json is removed; the folder, which was there before, is kept');
  const client = new Client(origin);
  try {
    await assert.rejects(getPod(client), 'the proxy no longer listens');
  } finally {
    await client.destroy();
  }
});
