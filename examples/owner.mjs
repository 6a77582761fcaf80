// In the pod: `shardgate/owner` tells a pod that keeps state per account which accounts are its
// own, over the same endpoints file and routing as the demo's proxy, and, on every membership
// change, which accounts it gained and which it must hand off, and to whom. To show a change it
// takes one other pod out of the demo's endpoints file (as a scale-down would) and puts it back;
// the demo's proxy and directory follow the file too. Run as POD_NAME=pod-1 for another pod.
// Start `npx shardgate demo --serve` first (give another demo.json as the first argument).
import { readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchOwnership } from 'shardgate/owner';

const file = process.argv[2] ?? join(tmpdir(), 'shardgate-demo', 'demo.json');
const demo = JSON.parse(await readFile(file, 'utf8').catch((e) => Promise.reject(new Error(`cannot read ${file}: start \`npx shardgate demo --serve\` first`, { cause: e }))));
const self = process.env.POD_NAME ?? 'pod-0';

const ownership = await watchOwnership({
  self,
  config: {
    endpointsFile: demo.endpointsFile, // the demo's pods, watched as the demo's proxy watches them
    balancer: { algorithm: 'ring-hash', boundedLoad: 1.25, keyless: 'p2c' }, // as the demo's proxy
    key: 'header:x-account',
  },
});

const accounts = Array.from({ length: 100 }, (_, i) => String(i + 1));
const held = new Set(accounts.filter((a) => ownership.owns(a)));
console.log(`${self} (generation ${ownership.current.generation}) owns ${held.size} of accounts 1-100: ${[...held].slice(0, 6).join(', ')}, ...`);
for (const account of ['2', '7', '42', '1001']) {
  console.log(`  owns('${account}'): ${ownership.owns(account)}, owner: ${ownership.owner(account)?.endpoint}`);
}

ownership.onChange((change) => {
  const gained = change.gained(accounts);
  const lost = change.lost(held);
  for (const account of gained) held.add(account);
  for (const { key } of lost) held.delete(key);
  console.log(`onChange: generation ${change.previous.generation} -> ${change.current.generation}, members ${change.current.members.map((m) => m.endpoint).join(', ')}`);
  if (gained.length > 0) console.log(`  gained ${gained.length}: ${gained.join(', ')}`);
  if (lost.length > 0) console.log(`  hand off ${lost.length}: ${lost.map(({ key, to }) => `${key} -> ${to?.endpoint}`).join(', ')}`);
});

/** Resolves with the next membership change this process hears. */
function nextChange() {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no change of ${demo.endpointsFile} heard within 10 s`)), 10_000);
    const stop = ownership.onChange((change) => {
      clearTimeout(timer);
      stop();
      resolve(change);
    });
  });
}

/** Waits until the demo's proxy, which follows the same file on its own, sends `account` to `pod`. */
async function proxySends(account, pod) {
  for (let tries = 0; tries < 200; tries++) {
    const res = await fetch(`${demo.proxy}/orders`, { headers: { 'x-account': account } });
    if ((await res.json()).pod === pod) return console.log(`  the demo's proxy sends account ${account} to ${pod} too`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the demo's proxy did not send account ${account} to ${pod} within 10 s`);
}

/** Replaces the endpoints file whole, so that no reader sees half of it. */
async function writeEndpoints(text) {
  await writeFile(`${demo.endpointsFile}.tmp`, text);
  await rename(`${demo.endpointsFile}.tmp`, demo.endpointsFile);
}

const original = await readFile(demo.endpointsFile, 'utf8');
const pods = JSON.parse(original);
const leaving = pods.filter((p) => p.name !== self).at(-1).name;
try {
  console.log(`${leaving} leaves:`);
  const left = nextChange();
  await writeEndpoints(JSON.stringify(pods.filter((p) => p.name !== leaving), null, 2));
  const [first] = (await left).gained(accounts);
  if (first !== undefined) await proxySends(first, self);
  console.log(`${leaving} is back:`);
  const back = nextChange();
  await writeEndpoints(original);
  const [handedOff] = (await back).lost([first ?? '']);
  if (handedOff !== undefined) await proxySends(handedOff.key, handedOff.to.endpoint);
} finally {
  // Whatever happened, the demo gets its pods back.
  if ((await readFile(demo.endpointsFile, 'utf8')) !== original) await writeEndpoints(original);
  await ownership.close();
}
