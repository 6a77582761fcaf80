// Through the proxy: every request for an account reaches the one pod that owns it, and requests
// without a key spread over all pods. Start `npx shardgate demo --serve` first; this reads the
// addresses it wrote (give another demo.json as the first argument).
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const file = process.argv[2] ?? join(tmpdir(), 'shardgate-demo', 'demo.json');
const demo = JSON.parse(await readFile(file, 'utf8').catch((e) => Promise.reject(new Error(`cannot read ${file}: start \`npx shardgate demo --serve\` first`, { cause: e }))));

/** Sends one request through the proxy; the pod answers {"pod":"pod-2","request_count":N}. */
async function viaProxy(headers) {
  const res = await fetch(`${demo.proxy}/orders`, { headers });
  const { pod } = await res.json();
  // The proxy names the pod it chose too, in x-shardgate-endpoint.
  if (res.headers.get('x-shardgate-endpoint') !== pod) throw new Error(`the proxy says ${res.headers.get('x-shardgate-endpoint')}, the pod says ${pod}`);
  return pod;
}

console.log(`through the proxy at ${demo.proxy}, key header ${demo.keyHeader}:`);
for (const account of ['2', '7', '42', '1001']) {
  const pods = [];
  for (let i = 0; i < 5; i++) pods.push(await viaProxy({ [demo.keyHeader]: account }));
  console.log(`  account ${account} -> ${[...new Set(pods)].join(', ')} (${pods.length} requests)`);
}

const spread = new Map();
for (let i = 0; i < 20; i++) {
  const pod = await viaProxy({});
  spread.set(pod, (spread.get(pod) ?? 0) + 1);
}
const counts = [...spread].sort(([a], [b]) => a.localeCompare(b)).map(([pod, n]) => `${pod} x${n}`);
console.log(`  no key -> ${counts.join(', ')} (20 requests)`);
