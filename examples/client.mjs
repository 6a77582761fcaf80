// Routing in the client: `fetch` with the dispatcher of `shardgate/client` picks the pod for every
// request itself and sends it there, with no proxy hop. It follows the demo's endpoints file, with
// the demo proxy's routing, so it names the same owner for every account as the proxy does.
// Start `npx shardgate demo --serve` first (give another demo.json as the first argument).
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createShardDispatcher } from 'shardgate/client';

const file = process.argv[2] ?? join(tmpdir(), 'shardgate-demo', 'demo.json');
const demo = JSON.parse(await readFile(file, 'utf8').catch((e) => Promise.reject(new Error(`cannot read ${file}: start \`npx shardgate demo --serve\` first`, { cause: e }))));

const dispatcher = await createShardDispatcher({
  services: {
    // The name callers use for the service. Requests to it are routed; other origins pass through.
    'accounts.demo:8080': {
      endpointsFile: demo.endpointsFile, // the demo's pods, watched as the demo's proxy watches them
      balancer: { algorithm: 'ring-hash', boundedLoad: 1.25, keyless: 'p2c' }, // as the demo's proxy
      key: 'header:x-account',
    },
  },
});

/** The pod that answers a request, sent by `dispatcher` (straight to a pod) or through the proxy. */
async function podFor(url, headers, options = {}) {
  const res = await fetch(url, { headers, ...options });
  return (await res.json()).pod;
}

try {
  console.log(`fetch with createShardDispatcher, following ${demo.endpointsFile}:`);
  for (const account of ['2', '7', '42', '1001']) {
    const pods = new Set();
    for (let i = 0; i < 5; i++) pods.add(await podFor('http://accounts.demo:8080/orders', { 'x-account': account }, { dispatcher }));
    const proxied = await podFor(`${demo.proxy}/orders`, { 'x-account': account });
    console.log(`  account ${account} -> ${[...pods].join(', ')} (the proxy: ${proxied})`);
  }
  const spread = {};
  for (let i = 0; i < 20; i++) {
    const pod = await podFor('http://accounts.demo:8080/orders', {}, { dispatcher });
    spread[pod] = (spread[pod] ?? 0) + 1;
  }
  console.log(`  no key -> ${Object.keys(spread).sort().map((pod) => `${pod} x${spread[pod]}`).join(', ')} (20 requests)`);
} finally {
  await dispatcher.close();
}
