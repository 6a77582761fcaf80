// Look-aside: ask the directory which pod owns an account, then call that pod directly. Then watch
// the ownership stream for a moment, and ask what adding a pod would move. The directory is on the
// demo's admin listener (`shardgate serve --admin`, or `shardgate directory` on its own).
// Start `npx shardgate demo --serve` first (give another demo.json as the first argument).
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const file = process.argv[2] ?? join(tmpdir(), 'shardgate-demo', 'demo.json');
const demo = JSON.parse(await readFile(file, 'utf8').catch((e) => Promise.reject(new Error(`cannot read ${file}: start \`npx shardgate demo --serve\` first`, { cause: e }))));

async function getJson(url) {
  const res = await fetch(url);
  const body = await res.json();
  if (!res.ok) throw new Error(`${url}: ${res.status} ${body.code}: ${body.error}`);
  return body;
}

console.log(`the directory at ${demo.admin}, then the pod itself:`);
for (const account of ['2', '7', '42', '1001']) {
  // The key as the proxy would read it from x-account; the answer is the key's home.
  const owner = await getJson(`${demo.admin}/v1/owner?key=${encodeURIComponent(account)}`);
  const res = await fetch(`http://${owner.address}/orders`, { headers: { 'x-account': account } });
  const { pod } = await res.json();
  console.log(`  account ${account}: owner ${owner.endpoint} at ${owner.address} (then ${owner.preference.slice(1).join(', ')}); it answers as ${pod}`);
}

// The ownership stream (Server-Sent Events): a snapshot, then a `change` per membership change.
console.log('the ownership stream, for 1 s:');
const watching = new AbortController();
const stopWatching = setTimeout(() => watching.abort(), 1_000);
try {
  const stream = await fetch(`${demo.admin}/v1/assignments/watch`, { signal: watching.signal });
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of stream.body) {
    text += decoder.decode(chunk, { stream: true });
    // Events end with a blank line; each has `event:` and `data:` lines.
    for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n')) {
      const event = text.slice(0, end);
      text = text.slice(end + 2);
      const kind = /^event: (.*)$/m.exec(event)?.[1];
      const data = /^data: (.*)$/m.exec(event)?.[1];
      if (kind === undefined || data === undefined) continue;
      const { generation, members } = JSON.parse(data);
      const shares = members.map((m) => `${m.endpoint} ${(m.share * 100).toFixed(1)}%`).join(', ');
      console.log(`  ${kind}: generation ${generation}, ${shares}`);
    }
  }
} catch (e) {
  if (!watching.signal.aborted) throw e;
} finally {
  clearTimeout(stopWatching);
}

// Before a scale change: which fraction of the key space would move, from which pod to which.
const plan = await getJson(`${demo.admin}/v1/plan?add=pod-4`);
console.log(`adding pod-4 would move ${(plan.moved * 100).toFixed(1)}% of the accounts (${plan.method}):`);
for (const move of plan.moves) console.log(`  ${move.from} -> ${move.to}: ${(move.fraction * 100).toFixed(1)}%`);
console.log(`  for example ${plan.examples.slice(0, 3).map((e) => `${e.key} (${e.from})`).join(', ')}`);
