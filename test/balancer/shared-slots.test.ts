import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EndpointSet } from '../../src/balancer/endpoint.js';
import { FIRST_SLOT, SharedLoads } from '../../src/balancer/shared-loads.js';
import { SlotTable } from '../../src/balancer/shared-slots.js';
import { ShardgateError } from '../../src/errors.js';
import { setOf, specs } from './helpers.js';

const named = (...names: string[]): EndpointSet => setOf(names.map((name, i) => ({ name, address: `10.0.0.${i}:80` })));

function slotMap(set: EndpointSet, slots: readonly number[]): Map<string, number> {
  return new Map(set.endpoints.map((e, i) => [e.name, slots[i]!]));
}

test('SlotTable: every name gets its own slot, in the set\'s order, and keeps it across swaps', () => {
  const loads = SharedLoads.create(8);
  const table = new SlotTable(loads);
  const first = named('c', 'a', 'b');
  const one = table.assign(first);
  assert.equal(one.generation, 1);
  assert.equal(new Set(one.slots).size, 3);
  for (const s of one.slots) assert.ok(s >= FIRST_SLOT && s < FIRST_SLOT + 8);
  const before = slotMap(first, one.slots);
  // Other addresses, a weight, a newcomer: the names that stay keep their cells.
  const second = setOf([
    { name: 'a', address: '10.9.9.9:80', weight: 3 },
    { name: 'b', address: '10.0.0.1:80' },
    { name: 'c', address: '10.0.0.2:80' },
    { name: 'd', address: '10.0.0.3:80' },
  ]);
  const two = table.assign(second);
  assert.equal(two.generation, 2);
  const after = slotMap(second, two.slots);
  for (const name of ['a', 'b', 'c']) assert.equal(after.get(name), before.get(name), name);
  assert.ok(![...before.values()].includes(after.get('d')!), 'the newcomer gets a slot nobody holds');
});

test('SlotTable: a removed name\'s slot is reused only once its count drains and every reader serves a set without it', () => {
  const loads = SharedLoads.create(3);
  const table = new SlotTable(loads);
  table.served(1, 0);
  table.served(2, 0);
  const abc = named('a', 'b', 'c');
  const a = slotMap(abc, table.assign(abc).slots).get('a')!;
  table.served(1, 1);
  table.served(2, 1);
  Atomics.add(loads.counts, a, 1);
  // Generation 2 drops a; d must wait for its slot.
  const bc = named('b', 'c');
  table.assign(bc);
  assert.equal(table.retired, 1);
  const bcd = named('b', 'c', 'd');
  assert.throws(() => table.assign(bcd), (e: unknown) => e instanceof ShardgateError && e.code === 'SG_ERR_ENDPOINTS' && /needs 1 new shared slots, but 0 of 3 are free \(1 still hold/.test(e.message));
  assert.equal(table.generation, 2, 'a refused set changes nothing');
  table.served(1, 2);
  table.served(2, 2);
  assert.throws(() => table.assign(bcd), /0 of 3 are free/, 'the count has not drained');
  Atomics.sub(loads.counts, a, 1);
  table.served(2, 1);
  assert.throws(() => table.assign(bcd), /0 of 3 are free/, 'reader 2 still serves a set with a in it');
  table.forget(2);
  const got = table.assign(bcd);
  assert.equal(slotMap(bcd, got.slots).get('d'), a, 'drained, and no reader can pick a any more');
  assert.equal(table.retired, 0);
});

test('SlotTable: a name that comes back while retired gets its old slot, with its requests still counted', () => {
  const loads = SharedLoads.create(4);
  const table = new SlotTable(loads);
  const set = setOf(specs(3));
  const first = slotMap(set, table.assign(set).slots);
  Atomics.add(loads.counts, first.get('svc-0')!, 2);
  table.assign(setOf(specs(3).slice(1)));
  assert.equal(table.retired, 1);
  const back = slotMap(set, table.assign(set).slots);
  assert.deepEqual(back, first);
  assert.equal(loads.inflightAt(back.get('svc-0')!), 2);
  assert.equal(table.retired, 0);
});

test('SlotTable: with no reader left, drained slots are reused at the next set; slots are never shared by two live names', () => {
  // The names a set drops retire as it is assigned, so its newcomers need room beside them.
  const loads = SharedLoads.create(5);
  const table = new SlotTable(loads);
  for (let round = 0; round < 50; round++) {
    const set = named(`x-${round}`, `y-${round}`, 'stays');
    const slots = table.assign(set).slots;
    assert.equal(new Set(slots).size, 3, `round ${round}`);
  }
  assert.ok(table.retired <= 2);
});
