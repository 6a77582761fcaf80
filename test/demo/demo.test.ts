import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { before, test } from 'node:test';
import { runDemo } from '../../src/demo/demo.js';

let output = '';
let elapsedMs = 0;

before(async () => {
  const out = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      output += chunk.toString();
      callback();
    },
  });
  const t0 = performance.now();
  await runDemo({ serve: false, out, seed: 1 });
  elapsedMs = performance.now() - t0;
});

/** The text of numbered section `n`, from its title to the next section or the end. */
function section(n: number): string {
  const start = output.indexOf(`\n${n}. `);
  assert.ok(start >= 0, `section ${n} is missing from the output:\n${output}`);
  const next = output.indexOf(`\n${n + 1}. `, start);
  return output.slice(start, next < 0 ? undefined : next);
}

/** Table rows of a section whose first cell is a pod name, as [name, ...numbers]. */
function podRows(text: string): { pod: string; cells: string[] }[] {
  return [...text.matchAll(/^\s+(pod-\d)\s+(.*)$/gm)].map((m) => ({ pod: m[1]!, cells: m[2]!.trim().split(/\s{2,}/) }));
}

function numberAfter(text: string, pattern: RegExp): number {
  const m = pattern.exec(text);
  assert.ok(m !== null, `no match for ${String(pattern)} in:\n${text}`);
  return Number(m[1]);
}

test('demo: finishes well under 30 s and closes every server and socket', async () => {
  assert.ok(elapsedMs < 30_000, `the demo took ${Math.round(elapsedMs)} ms`);
  // Sockets that close() has ended leave the handle list a moment later.
  let open: string[] = [];
  for (let i = 0; i < 50; i++) {
    open = process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP'));
    if (open.length === 0) break;
    await sleep(20);
  }
  assert.deepEqual(open, [], 'servers or sockets left open after runDemo resolved');
});

test('demo (a): a connection-level balancer sends all 100 keep-alive requests to one pod', () => {
  const rows = podRows(section(1));
  assert.equal(rows.length, 4, section(1));
  const requests = rows.map((r) => Number(r.cells[0])).sort((a, b) => a - b);
  assert.deepEqual(requests, [0, 0, 0, 100]);
  const connections = rows.map((r) => Number(r.cells[1])).reduce((a, b) => a + b, 0);
  assert.equal(connections, 1, 'one keep-alive client opens one connection');
  assert.match(section(1), /Its last reply: \{"pod":"pod-\d","request_count":100\}/);
});

test('demo (b): shardgate round robin spreads the same connection 25/25/25/25', () => {
  const rows = podRows(section(2));
  assert.equal(rows.length, 4, section(2));
  assert.deepEqual(rows.map((r) => Number(r.cells[1])), [25, 25, 25, 25]);
  assert.deepEqual(rows.map((r) => Number(r.cells[0])).sort((a, b) => a - b), [0, 0, 0, 100], 'the kube-proxy column repeats (a)');
});

test('demo (c): each of the 1,000 accounts is served by exactly one pod, the owner', () => {
  const text = section(3);
  assert.equal(numberAfter(text, /Accounts seen on more than one pod: (\d+)/), 0);
  const rows = podRows(text);
  assert.equal(rows.length, 4, text);
  const accounts = rows.map((r) => Number(r.cells[0]));
  assert.equal(accounts.reduce((a, b) => a + b, 0), 1000, 'every account counted on exactly one pod');
  for (const a of accounts) assert.ok(a >= 150 && a <= 350, `accounts per pod ${accounts.join('/')}: ring hash spreads them near 250`);
  assert.equal(rows.map((r) => Number(r.cells[2])).reduce((a, b) => a + b, 0), 3000);
  assert.equal(numberAfter(text, /owner\(account\) for (\d+) of 1000/), 1000);
});

test('demo (c): the hot account stays within ceil(c x average in-flight) at its owner and spills along its ring order', () => {
  const text = section(4);
  const bound = numberAfter(text, /bound = ceil\(.*\) = (\d+)\./);
  assert.equal(bound, 13, 'ceil(1.25 x 40 / 4)');
  const rows = podRows(text);
  assert.equal(rows.length, 4, text);
  assert.equal(rows[0]!.cells[0], 'owner');
  const [, plainPeak, plainServed, boundedPeak, boundedServed] = rows[0]!.cells.map(Number);
  assert.ok(boundedPeak! <= bound, `owner peak ${boundedPeak} > bound ${bound}`);
  assert.ok(boundedPeak! >= bound - 2, `owner peak ${boundedPeak}: the owner should fill up to its bound`);
  assert.equal(plainPeak, 40, 'without a bound the owner holds every concurrent request');
  assert.equal(plainServed, 400);
  assert.ok(boundedServed! < 400);
  for (const r of rows) {
    const peak = Number(r.cells[3]);
    assert.ok(peak <= bound, `${r.pod} peak ${peak} > bound ${bound}`);
  }
  const served = rows.map((r) => Number(r.cells[4]));
  assert.equal(served.reduce((a, b) => a + b, 0), 400);
  assert.ok(served[3]! < served[1]!, `the last pod in ring order takes the least spill: ${served.join('/')}`);
  const spilled = numberAfter(text, /; (\d+) requests spilled past it/);
  assert.equal(spilled, 400 - boundedServed!, 'spills counted by the balancer = requests the owner did not serve');
});

test('demo (d): when a pod leaves, ring hash moves ~1/4 of the accounts and hash % N ~3/4', () => {
  const text = section(5);
  const row = (label: string): number[] => {
    const m = new RegExp(`^\\s+${label.replace(/[%]/g, '\\$&')}\\s+(\\d+)\\s+(\\d+)\\s+([\\d.]+)\\s+(\\d+)$`, 'm').exec(text);
    assert.ok(m !== null, `no ${label} row in:\n${text}`);
    return m.slice(1).map(Number);
  };
  const [ringComputed, ringProxy, ringFraction, ringSurvivors] = row('ring hash');
  assert.ok(ringFraction! > 0.15 && ringFraction! < 0.35, `ring hash moved ${ringFraction}`);
  assert.equal(ringProxy, ringComputed, 'the proxy routes as owner() computes');
  assert.equal(ringSurvivors, 0, 'ring hash moves no account between pods that stayed');
  const [modComputed, modProxy, modFraction] = row('hash % N');
  assert.ok(modFraction! > 0.6, `hash % N moved ${modFraction}`);
  assert.equal(modProxy, modComputed);
});
