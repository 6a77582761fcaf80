import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/balancer/clock.js';
import { createEndpointSet } from '../../src/balancer/endpoint.js';
import { hashKey, hashMod } from '../../src/balancer/hash.js';
import { LoadBoard } from '../../src/balancer/load-board.js';
import { ModuloBalancer } from '../../src/demo/modulo-balancer.js';

const four = createEndpointSet(['a', 'b', 'c', 'd'].map((name, i) => ({ name, address: `127.0.0.1:${9000 + i}` })));
const three = createEndpointSet(four.endpoints.filter((e) => e.name !== 'b').map((e) => ({ name: e.name, address: e.address })));

test('hash % N: a key belongs to endpoints[hash % n] and picks go there', () => {
  const board = new LoadBoard(new ManualClock());
  const lb = new ModuloBalancer(board);
  lb.update(four);
  for (let i = 0; i < 100; i++) {
    const key = hashKey(`k${i}`);
    const expected = four.endpoints[hashMod(key.hi, key.lo, 4)]!;
    assert.equal(lb.owner(key), expected);
    const p = lb.pick(key, null);
    assert.equal(p.kind, 'ok');
    if (p.kind === 'ok') {
      assert.equal(p.endpoint, expected);
      p.done(0, 'ok');
    }
  }
  assert.equal(board.totalInflight, 0, 'every pick ended by its done');
});

test('hash % N: no key, no endpoints and an excluded owner are results, not exceptions', () => {
  const lb = new ModuloBalancer(new LoadBoard(new ManualClock()));
  assert.deepEqual(lb.pick(hashKey('x'), null), { kind: 'none', reason: 'empty' });
  assert.equal(lb.owner(hashKey('x')), null);
  lb.update(four);
  assert.deepEqual(lb.pick(null, null), { kind: 'none', reason: 'no-key' });
  const key = hashKey('x');
  assert.deepEqual(lb.pick(key, new Set([lb.owner(key)!])), { kind: 'none', reason: 'owner-missing' });
});

test('hash % N: one endpoint of four leaving moves about 3/4 of the keys', () => {
  const lb = new ModuloBalancer(new LoadBoard(new ManualClock()));
  const keys = Array.from({ length: 2000 }, (_, i) => hashKey(`account-${i}`));
  lb.update(four);
  const before = keys.map((k) => lb.owner(k)!.name);
  lb.update(three);
  const moved = keys.filter((k, i) => lb.owner(k)!.name !== before[i]).length;
  assert.ok(moved > 0.65 * keys.length && moved < 0.85 * keys.length, `moved ${moved} of ${keys.length}`);
});
