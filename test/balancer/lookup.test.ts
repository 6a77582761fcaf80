import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { EndpointSpec } from '../../src/balancer/endpoint.js';
import type { KeyedConfig, OnMissing } from '../../src/balancer/factory.js';
import { DEFAULT_KEYLESS, defaultBalancerConfig } from '../../src/balancer/factory.js';
import { hashKey } from '../../src/balancer/hash.js';
import type { LookupDefault, LookupEntry } from '../../src/balancer/lookup.js';
import { Lookup } from '../../src/balancer/lookup.js';
import { ConfigError } from '../../src/errors.js';
import { assertAddressFree, assertIdle, assertOrderFree, contract, excluding, expectNone, expectOk, harness, keyed, makeKeys, specs } from './helpers.js';

const ENTRIES: readonly LookupEntry[] = [
  { key: 'tenant-42', endpoint: 'svc-0' },
  { key: 'eu-vip', endpoint: 'svc-3' },
  { prefix: 'eu-', endpoint: 'svc-1' },
  { prefix: 'eu-west-', endpoint: 'svc-2' },
  { prefix: 'na', endpoint: 'svc-3' },
];

function lookup(def: LookupDefault = 'fail', onMissing: OnMissing = 'fail', entries: readonly LookupEntry[] = ENTRIES, loadFactor: number | null = null): KeyedConfig {
  return { algorithm: 'lookup', loadFactor, keyless: DEFAULT_KEYLESS, entries, onMissing, default: def };
}

const ENDPOINTS: readonly EndpointSpec[] = specs(4);
/** Keys that all have an entry. */
const LISTED = Array.from({ length: 400 }, (_, i) => hashKey(['tenant-42', 'eu-vip', `eu-${i}`, `eu-west-${i}`, `na${i}`][i % 5]!));

contract({ label: 'lookup (fail)', config: lookup('fail', 'fail'), endpoints: ENDPOINTS, allDraining: 'owner-missing', allExcluded: 'owner-missing', keys: LISTED });
contract({ label: 'lookup (next)', config: lookup('fail', 'next'), endpoints: ENDPOINTS, allDraining: 'all-unavailable', allExcluded: 'all-unavailable', keys: LISTED });
contract({ label: 'lookup (ring-hash default)', config: lookup('ring-hash', 'fail'), endpoints: ENDPOINTS, allDraining: 'all-unavailable', allExcluded: 'all-unavailable', keys: makeKeys(400) });

test('lookup: exact keys win over prefixes; the longest prefix wins', () => {
  const b = keyed(lookup(), ENDPOINTS);
  const owner = (k: string): string | null => b.owner(hashKey(k))?.name ?? null;
  assert.equal(owner('tenant-42'), 'svc-0');
  assert.equal(owner('eu-vip'), 'svc-3', 'exact beats the eu- prefix');
  assert.equal(owner('eu-vipx'), 'svc-1');
  assert.equal(owner('eu-'), 'svc-1', 'a key equal to a prefix has it');
  assert.equal(owner('eu-north-1'), 'svc-1');
  assert.equal(owner('eu-west-1'), 'svc-2', 'eu-west- is longer than eu-');
  assert.equal(owner('eu-west'), 'svc-1');
  assert.equal(owner('na'), 'svc-3');
  assert.equal(owner('na-east'), 'svc-3');
  assert.equal(owner('tenant-4'), null);
  assert.equal(owner('tenant-420'), null, 'an exact key is not a prefix');
  assert.equal(owner('eu'), null);
  assert.equal(owner('EU-west-1'), null, 'keys are case-sensitive');
  assert.equal(owner('n'), null);
  assert.equal(owner('user-1'), null);
});

test('lookup: the longest matching prefix, against a brute-force search', () => {
  const alphabet = fc.constantFrom('a', 'b', 'c', 'é', '𝄞');
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.string({ unit: alphabet, minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 30 }),
      fc.uniqueArray(fc.string({ unit: alphabet, minLength: 1, maxLength: 4 }), { maxLength: 10 }),
      fc.array(fc.string({ unit: alphabet, maxLength: 7 }), { minLength: 1, maxLength: 30 }),
      (prefixes, exact, keys) => {
        const entries: LookupEntry[] = [...prefixes.map((prefix, i) => ({ prefix, endpoint: `p${i}` })), ...exact.map((key, i) => ({ key, endpoint: `k${i}` }))];
        const table = new Lookup(entries, 'fail', null);
        for (const k of keys) {
          let want = exact.indexOf(k) >= 0 ? prefixes.length + exact.indexOf(k) : -1;
          if (want < 0) {
            let best = -1;
            prefixes.forEach((p, i) => {
              if (k.startsWith(p) && (best < 0 || p.length > prefixes[best]!.length)) best = i;
            });
            want = best;
          }
          assert.equal(table.entryOf(k), want, `${JSON.stringify(k)} in ${JSON.stringify(entries)}`);
        }
      },
    ),
    { seed: 42, numRuns: 2_000 },
  );
});

test("lookup: keys without an entry fail with 'no-range', or go to the hashing default", () => {
  const h = harness(lookup('fail'), ENDPOINTS);
  for (const k of ['nope', 'tenant-4', 'e', '']) expectNone(h.balancer.pick(hashKey(k), null), 'no-range');
  const keys = makeKeys(2_000);
  for (const alg of ['ring-hash', 'maglev', 'rendezvous', 'jump'] as const) {
    const withDefault = keyed(lookup(alg), ENDPOINTS);
    const plain = keyed(defaultBalancerConfig(alg), ENDPOINTS);
    for (const k of keys) assert.equal(withDefault.owner(k)?.name, plain.owner(k)?.name, `${alg}: ${k.text} is owned as ${alg} alone would`);
    // Listed keys still follow the table.
    assert.equal(withDefault.owner(hashKey('eu-west-9'))?.name, 'svc-2');
  }
});

test("lookup: a missing or draining entry's endpoint fails, or moves to the next endpoint by name", () => {
  const without1 = ENDPOINTS.filter((e) => e.name !== 'svc-1');
  expectNone(harness(lookup('fail', 'fail'), without1).balancer.pick(hashKey('eu-north'), null), 'owner-missing');
  const next = harness(lookup('fail', 'next'), without1);
  const p = expectOk(next.balancer.pick(hashKey('eu-north'), null));
  assert.equal(p.endpoint.name, 'svc-2', 'svc-1 is missing: the next name after it');
  p.done(0, 'ok');
  // The last name wraps to the first.
  const noLast = harness(lookup('fail', 'next'), ENDPOINTS.filter((e) => e.name !== 'svc-3'));
  const q = expectOk(noLast.balancer.pick(hashKey('na-east'), null));
  assert.equal(q.endpoint.name, 'svc-0');
  q.done(0, 'ok');
  // Draining and excluded owners behave like missing ones.
  const draining = harness(lookup('fail', 'fail'), ENDPOINTS.map((e) => ({ ...e, draining: e.name === 'svc-0' })));
  expectNone(draining.balancer.pick(hashKey('tenant-42'), null), 'owner-missing');
  const retry = harness(lookup('fail', 'next'), ENDPOINTS);
  const r = expectOk(retry.balancer.pick(hashKey('tenant-42'), excluding(retry.board.set, ['svc-0'])));
  assert.equal(r.endpoint.name, 'svc-1');
  r.done(0, 'ok');
  assertIdle(retry.board, 'lookup');
  // An owner named in the table but absent from every set: next covers every endpoint in turn.
  const ghost = harness(lookup('fail', 'next', [{ key: 'k', endpoint: 'svc-9' }]), ENDPOINTS);
  const g = expectOk(ghost.balancer.pick(hashKey('k'), excluding(ghost.board.set, ['svc-0', 'svc-1', 'svc-2'])));
  assert.equal(g.endpoint.name, 'svc-3');
  g.done(0, 'ok');
});

test('lookup: keys that went to the hashing default are not held to their owner by onMissing: fail', () => {
  const h = harness(lookup('ring-hash', 'fail'), ENDPOINTS);
  const key = makeKeys(1)[0]!;
  const home = expectOk(h.balancer.pick(key, null));
  home.done(0, 'ok');
  // With its ring owner excluded, an unlisted key moves on as with plain ring hashing ...
  const moved = expectOk(h.balancer.pick(key, excluding(h.board.set, [home.endpoint.name])));
  assert.notEqual(moved.endpoint.name, home.endpoint.name);
  moved.done(0, 'ok');
  // ... while a listed key still fails.
  expectNone(h.balancer.pick(hashKey('tenant-42'), excluding(h.board.set, ['svc-0'])), 'owner-missing');
  assertIdle(h.board, 'lookup');
});

test('lookup: bounded loads spill a hot listed key to the next endpoints by name', () => {
  const h = harness(lookup('fail', 'fail', ENTRIES, 1.25), ENDPOINTS);
  const hot = hashKey('tenant-42');
  const open = Array.from({ length: 40 }, () => expectOk(h.balancer.pick(hot, null)));
  const byName = new Map<string, number>();
  for (const p of open) byName.set(p.endpoint.name, (byName.get(p.endpoint.name) ?? 0) + 1);
  assert.ok((byName.get('svc-0') ?? 0) <= Math.ceil(1.25 * (40 / 4)) + 1, `svc-0 holds ${byName.get('svc-0')}`);
  assert.ok((byName.get('svc-1') ?? 0) > 0, 'the spill goes to the next name first');
  for (const p of open) p.done(0, 'ok');
  assertIdle(h.board, 'lookup');
});

test('lookup: validation names the entry and what is wrong', () => {
  const bad = (entries: readonly LookupEntry[], field: string, text: RegExp): void => {
    assert.throws(() => new Lookup(entries, 'fail', null), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.field, field);
      assert.equal(e.code, 'SG_ERR_BALANCER');
      assert.match(e.message, text);
      return true;
    });
  };
  bad([], 'balancer.entries', /is empty/);
  bad([{ key: '', endpoint: 'a' }], 'balancer.entries[0].key', /non-empty/);
  bad([{ prefix: '', endpoint: 'a' }], 'balancer.entries[0].prefix', /balancer.default/);
  bad([{ key: 'x', endpoint: '' }], 'balancer.entries[0].endpoint', /name the endpoint/);
  bad([{ key: 'x', endpoint: 'a' }, { prefix: 'p', endpoint: 'b' }, { prefix: 'p', endpoint: 'c' }], 'balancer.entries[2].prefix', /as in balancer.entries\[1\]/);
  bad([{ key: 'x', prefix: 'y', endpoint: 'a' }], 'balancer.entries[0]', /both key and prefix/);
  bad([{ endpoint: 'a' } as unknown as LookupEntry], 'balancer.entries[0]', /neither/);
  // The same text as a key and as a prefix is fine: the key wins for itself.
  const t = new Lookup([{ key: 'ab', endpoint: 'a' }, { prefix: 'ab', endpoint: 'b' }], 'fail', null);
  assert.equal(t.entryOf('ab'), 0);
  assert.equal(t.entryOf('abc'), 1);
  assert.throws(() => new Lookup([], 'fail', null, 'routes.cart.entries'), (e: unknown) => e instanceof ConfigError && e.field === 'routes.cart.entries');
});

test('lookup: input order and addresses do not matter', () => {
  const keys = [...LISTED, ...makeKeys(500)];
  assertOrderFree(lookup('maglev', 'next'), ENDPOINTS, keys);
  assertAddressFree(lookup('maglev', 'next'), ENDPOINTS, keys);
});
