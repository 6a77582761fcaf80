import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EndpointSpec } from '../../src/balancer/endpoint.js';
import { createEndpointSet } from '../../src/balancer/endpoint.js';
import type { KeyedConfig } from '../../src/balancer/factory.js';
import { defaultBalancerConfig } from '../../src/balancer/factory.js';
import { mix32 } from '../../src/balancer/hash.js';
import { MAX_TABLE_SIZE, MIN_TABLE_SIZE, SEATS_PER_UNIT, SeatRendezvous, seatPlan } from '../../src/balancer/seat-rendezvous.js';
import type { SeatTable } from '../../src/balancer/seat-rendezvous.js';
import { addition, countMoved, excluding, expectOk, harness, keyed, makeKeys, ownersOf, removal, specs, weighted } from './helpers.js';

const TABLE: KeyedConfig = { ...(defaultBalancerConfig('rendezvous') as Extract<KeyedConfig, { algorithm: 'rendezvous' }>), table: true };
const KEYS = makeKeys(20_000);

// The promises flat rendezvous makes are tested for both in rendezvous.test.ts; these are the table's own.

test('rendezvous table: over 100 endpoints, one leaving or joining moves its own keys only, about 1/n', () => {
  const hundred = specs(100, 'sharded-svc');
  for (const gone of ['sharded-svc-0', 'sharded-svc-37', 'sharded-svc-99']) {
    const m = removal(TABLE, hundred, gone, KEYS);
    assert.equal(m.strays, 0, gone);
    assert.equal(m.moved, m.owned, gone);
    assert.ok(m.moved >= KEYS.length / 100 / 1.3 && m.moved <= (KEYS.length / 100) * 1.3, `${gone}: moved ${m.moved}, ideal ${KEYS.length / 100}`);
  }
  const m = addition(TABLE, hundred, { name: 'sharded-svc-100', address: '10.9.9.9:80' }, KEYS);
  assert.equal(m.strays, 0, 'every moved key went to the newcomer');
  assert.ok(m.moved >= KEYS.length / 101 / 1.3 && m.moved <= (KEYS.length / 101) * 1.3, `moved ${m.moved}, ideal ${(KEYS.length / 101).toFixed(0)}`);
});

test('rendezvous table: weights are relative: multiplying them all by 50 changes no owner', () => {
  const weights = [1, 2, 3, 4];
  const scaled = weighted(weights.map((w) => w * 50));
  assert.deepEqual(ownersOf(keyed(TABLE, scaled), KEYS.slice(0, 2_000)), ownersOf(keyed(TABLE, weighted(weights)), KEYS.slice(0, 2_000)));
});

test('rendezvous table: shares of 1,000 endpoints stay within a few percent of even', () => {
  const set = createEndpointSet(specs(1_000, 'sharded-svc'));
  const t = new SeatRendezvous().build(set);
  // A share is the seats an endpoint holds over all held seats (each draw is uniform), a shared
  // seat split evenly among its holders (each key picks one of them by its own score).
  const share = new Array<number>(1_000).fill(0);
  for (let pos = 0; pos < t.owners.length; pos++) {
    const holders = t.holdersAt(pos);
    for (const i of holders) share[i]! += 1 / holders.length;
  }
  const avg = t.heldSeats / 1_000;
  const sd = Math.sqrt(share.reduce((a, h) => a + (h - avg) ** 2, 0) / 1_000) / avg;
  assert.ok(sd < 0.04, `standard deviation of shares ${(sd * 100).toFixed(1)}%`);
  assert.ok(Math.min(...share) > 0.88 * avg && Math.max(...share) < 1.12 * avg, `shares ${Math.min(...share).toFixed(1)}..${Math.max(...share).toFixed(1)} seats, average ${avg.toFixed(1)}`);
});

/**
 * For each endpoint, the first of the key's draws that lands on a seat it holds (alone or shared),
 * from first principles: draw d is the seat mix32(key, d) scaled onto the table.
 */
function firstDraws(t: SeatTable, key: { hi: number; lo: number }, n: number): Map<number, number> {
  const k = (key.hi ^ Math.imul(key.lo, 0x85ebca6b)) >>> 0;
  const first = new Map<number, number>();
  for (let d = 0; first.size < n && d < 200_000; d++) {
    const pos = Math.floor((mix32(k, d) * t.owners.length) / 4294967296);
    for (const i of t.holdersAt(pos)) if (!first.has(i)) first.set(i, d);
  }
  return first;
}

test('rendezvous table: the preference order follows the key\'s draws: an endpoint whose seat is drawn earlier comes first', () => {
  const set = createEndpointSet(specs(7));
  const t = new SeatRendezvous().build(set);
  const b = keyed(TABLE, specs(7));
  for (const k of KEYS.slice(0, 300)) {
    const draws = firstDraws(t, k, 7);
    const order = b.preference(k, 7).map((e) => set.endpoints.findIndex((x) => x.name === e.name));
    assert.equal(order.length, 7);
    for (let i = 1; i < order.length; i++) assert.ok(draws.get(order[i - 1]!)! <= draws.get(order[i]!)!, `order ${order.join(',')}, draws ${[...draws].join(' ')}`);
    assert.equal(t.first(k), order[0]);
  }
});

test('rendezvous table: a seat that several endpoints\' hashes land on is held by each of them, once', () => {
  const set = createEndpointSet(specs(12));
  const t = new SeatRendezvous().build(set);
  let sharedSeats = 0;
  for (let pos = 0; pos < t.owners.length; pos++) {
    const holders = t.holdersAt(pos);
    if (holders.length > 1) {
      sharedSeats++;
      assert.equal(new Set(holders).size, holders.length, 'each holder once');
    }
  }
  assert.ok(sharedSeats > 100, `${sharedSeats} shared seats among ${t.heldSeats}`);
});

test('rendezvous table: the preference order is where a key goes when its owners leave, and where a retry goes', () => {
  const list = specs(10);
  const b = keyed(TABLE, list);
  for (const k of KEYS.slice(0, 400)) {
    const [first, second, third] = b.preference(k, 3).map((e) => e.name);
    const without = (names: readonly string[]): EndpointSpec[] => list.filter((e) => !names.includes(e.name));
    assert.equal(keyed(TABLE, without([first!])).owner(k)!.name, second, 'the owner leaves: its second choice takes the key');
    assert.equal(keyed(TABLE, without([first!, second!])).owner(k)!.name, third, 'two leave: the third');
  }
  // A retry that excludes the owner lands on the second choice, and excluding two on the third.
  const h = harness(TABLE, list);
  const set = h.board.set;
  for (const k of KEYS.slice(0, 200)) {
    const order = b.preference(k, 3).map((e) => e.name);
    const p1 = expectOk(h.balancer.pick(k, excluding(set, [order[0]!])));
    assert.equal(p1.endpoint.name, order[1]);
    p1.done(0, 'ok');
    const p2 = expectOk(h.balancer.pick(k, excluding(set, [order[0]!, order[1]!])));
    assert.equal(p2.endpoint.name, order[2]);
    p2.done(0, 'ok');
  }
});

test('rendezvous table: the full preference order names every endpoint once', () => {
  const b = keyed(TABLE, specs(40));
  for (const k of KEYS.slice(0, 50)) {
    const order = b.preference(k, Number.MAX_SAFE_INTEGER).map((e) => e.name);
    assert.equal(order.length, 40);
    assert.equal(new Set(order).size, 40);
  }
});

test('seatPlan: steps of 12 x 4^k units, seats per unit from the table, weights over their common divisor', () => {
  const ones = (n: number): number[] => new Array<number>(n).fill(1);
  for (const [n, step, size, perUnit] of [
    [1, 12, MIN_TABLE_SIZE, 1_365],
    [12, 12, MIN_TABLE_SIZE, 1_365],
    [13, 48, MIN_TABLE_SIZE, 341],
    [100, 192, MIN_TABLE_SIZE, 85],
    [193, 768, 4 * SEATS_PER_UNIT * 768, SEATS_PER_UNIT],
    [1_000, 3_072, 4 * SEATS_PER_UNIT * 3_072, SEATS_PER_UNIT],
    [10_000, 12_288, MAX_TABLE_SIZE, 42],
  ] as const) {
    const p = seatPlan(ones(n));
    assert.deepEqual([p.step, p.size, p.seats[0]], [step, size, perUnit], `${n} endpoints`);
  }
  assert.deepEqual(seatPlan([100, 200, 300]), seatPlan([1, 2, 3]), 'weights over their greatest common divisor');
  // Past 196,608 units (uneven weights over many endpoints), rounded onto a quarter of the largest table, at least one seat each.
  const uneven = seatPlan(Array.from({ length: 300 }, (_, i) => 9_000 + i * 7 + (i % 2)));
  assert.equal(uneven.size, MAX_TABLE_SIZE);
  assert.ok(uneven.seats.every((s) => s >= 1));
  const held = uneven.seats.reduce((a, s) => a + s, 0);
  assert.ok(Math.abs(held - MAX_TABLE_SIZE / 4) < 300, `${held} seats in a table of ${MAX_TABLE_SIZE}`);
});

test('rendezvous table: within a step every change moves only the changed endpoint\'s keys; crossing one moves most keys once', () => {
  const keys = KEYS.slice(0, 5_000);
  const at = (n: number): (string | null)[] => ownersOf(keyed(TABLE, specs(n)), keys);
  // 12 and 13 endpoints sit in different steps (up to 12 units, then up to 48): the table keeps
  // its size (the smallest) but every endpoint keeps a quarter of its seats.
  const crossing = countMoved(at(12), at(13));
  assert.ok(crossing > 0.6 * keys.length, `crossing a step: moved ${crossing} of ${keys.length}`);
  const within = countMoved(at(13), at(14));
  assert.ok(within < (keys.length / 14) * 1.3, `within a step: moved ${within} of ${keys.length}`);
});
