import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/balancer/clock.js';
import type { Algorithm, BalancerConfig, KeyedConfig } from '../../src/balancer/factory.js';
import { ALGORITHMS, DEFAULT_KEYLESS, DEFAULT_MAGLEV_TABLE_SIZE, DEFAULT_PEAK_EWMA, DEFAULT_RING, KEYED_ALGORITHMS, KEYLESS_ALGORITHMS, createBalancer, defaultBalancerConfig } from '../../src/balancer/factory.js';
import { hashKey } from '../../src/balancer/hash.js';
import { HashingBalancer } from '../../src/balancer/hashing-balancer.js';
import { LoadBoard } from '../../src/balancer/load-board.js';
import { seededRng } from '../../src/balancer/rng.js';
import { ConfigError } from '../../src/errors.js';
import { assertIdle, expectOk, setOf, specs } from './helpers.js';

function configFor(alg: Algorithm): BalancerConfig {
  const c = defaultBalancerConfig(alg);
  if (c.algorithm === 'ranges') return { ...c, ranges: [{ from: 0, to: 99, endpoint: 'svc-0' }, { from: 100, to: 199, endpoint: 'svc-1' }] };
  if (c.algorithm === 'lookup') return { ...c, entries: [{ key: '42', endpoint: 'svc-0' }, { prefix: '1', endpoint: 'svc-1' }] };
  return c;
}

function throwsField(config: BalancerConfig, field: string): void {
  assert.throws(() => createBalancer(config, { clock: new ManualClock(), rng: seededRng(1) }), (e: unknown) => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.equal(e.field, field);
    assert.equal(e.code, 'SG_ERR_BALANCER');
    return true;
  });
}

test('factory: every algorithm builds, names itself and serves', () => {
  assert.deepEqual([...ALGORITHMS], [...KEYLESS_ALGORITHMS, ...KEYED_ALGORITHMS]);
  for (const alg of ALGORITHMS) {
    const clock = new ManualClock();
    const board = new LoadBoard(clock);
    const b = createBalancer(configFor(alg), { clock, rng: seededRng(1), board });
    assert.equal(b.algorithm, alg);
    assert.equal(b.keyed, (KEYED_ALGORITHMS as readonly string[]).includes(alg), alg);
    assert.equal(b instanceof HashingBalancer, b.keyed);
    b.update(setOf(specs(4)));
    assert.equal(board.set.endpoints.length, 4, `${alg} uses the board it is given`);
    for (const key of [hashKey('42'), hashKey('150'), null]) {
      const p = expectOk(b.pick(key, null), `${alg} with key ${key?.text ?? 'none'}`);
      p.done(clock.nowMs(), 'ok');
    }
    assertIdle(board, alg);
  }
});

test('factory: defaults', () => {
  assert.deepEqual(defaultBalancerConfig('p2c'), { algorithm: 'p2c' });
  assert.deepEqual(defaultBalancerConfig('peak-ewma'), { algorithm: 'peak-ewma', ...DEFAULT_PEAK_EWMA });
  assert.deepEqual(defaultBalancerConfig('ring-hash', 1.5), { algorithm: 'ring-hash', loadFactor: 1.5, keyless: DEFAULT_KEYLESS, ...DEFAULT_RING });
  assert.deepEqual(defaultBalancerConfig('maglev'), { algorithm: 'maglev', loadFactor: null, keyless: DEFAULT_KEYLESS, tableSize: DEFAULT_MAGLEV_TABLE_SIZE });
  assert.deepEqual(defaultBalancerConfig('ordinal'), { algorithm: 'ordinal', loadFactor: null, keyless: DEFAULT_KEYLESS, replicas: null, onMissing: 'fail' });
  assert.deepEqual(defaultBalancerConfig('lookup'), { algorithm: 'lookup', loadFactor: null, keyless: DEFAULT_KEYLESS, entries: [], onMissing: 'fail', default: 'fail' });
  assert.equal(DEFAULT_RING.minRingSize, 0, 'no rescaling of the ring by default');
  assert.equal((defaultBalancerConfig('jump', 1.25) as KeyedConfig).loadFactor, 1.25);
  const b = createBalancer(defaultBalancerConfig('rendezvous', 1.25), { clock: new ManualClock(), rng: seededRng(1) });
  assert.ok(b instanceof HashingBalancer);
  assert.equal(b.loadFactor, 1.25);
});

test('factory: invalid options throw a ConfigError naming the field', () => {
  const maglev = defaultBalancerConfig('maglev') as Extract<KeyedConfig, { algorithm: 'maglev' }>;
  throwsField({ ...maglev, tableSize: 65_536 }, 'balancer.tableSize');
  const ring = defaultBalancerConfig('ring-hash') as Extract<KeyedConfig, { algorithm: 'ring-hash' }>;
  throwsField({ ...ring, minRingSize: 4_096, maxRingSize: 1_024 }, 'balancer.minRingSize');
  for (const c of [1, 0.5, -1]) throwsField(defaultBalancerConfig('jump', c), 'balancer.loadFactor');
  throwsField(defaultBalancerConfig('ranges'), 'balancer.ranges');
  throwsField(defaultBalancerConfig('lookup'), 'balancer.entries');
  const ordinal = defaultBalancerConfig('ordinal') as Extract<KeyedConfig, { algorithm: 'ordinal' }>;
  throwsField({ ...ordinal, replicas: 0 }, 'balancer.replicas');
  throwsField({ algorithm: 'peak-ewma', decayMs: 0, defaultRttMs: 10 }, 'balancer.decayMs');
  throwsField({ algorithm: 'peak-ewma', decayMs: Number.NaN, defaultRttMs: 10 }, 'balancer.decayMs');
  throwsField({ algorithm: 'peak-ewma', decayMs: 10_000, defaultRttMs: -1 }, 'balancer.defaultRttMs');
  throwsField({ ...ring, keyless: { algorithm: 'peak-ewma', decayMs: -5, defaultRttMs: 10 } }, 'balancer.keyless.decayMs');
  assert.throws(() => createBalancer({ ...maglev, tableSize: 65_536 }, { clock: new ManualClock(), rng: seededRng(1) }), /65536.*prime/);
});

test('factory: a keyed balancer\'s keyless peak-ewma gets its options on the board it builds', () => {
  // svc-a answers once in 30 ms; svc-b has no sample. With a default RTT of 40 ms svc-a looks
  // faster; with the board's own default (10 ms) svc-b would.
  const run = (defaultRttMs: number): string => {
    const clock = new ManualClock(0);
    const b = createBalancer(
      { ...(defaultBalancerConfig('rendezvous') as KeyedConfig), keyless: { algorithm: 'peak-ewma', decayMs: 10_000, defaultRttMs } },
      { clock, rng: seededRng(1) },
    );
    b.update(setOf([{ name: 'svc-a', address: 'x:1' }, { name: 'svc-b', address: 'x:2' }]));
    const first = expectOk(b.pick(null, null));
    const sampled = first.endpoint.name;
    clock.advance(30);
    first.done(0, 'ok');
    const next = expectOk(b.pick(null, null));
    next.done(clock.nowMs(), 'cancelled');
    return next.endpoint.name === sampled ? 'sampled' : 'unsampled';
  };
  assert.equal(run(40), 'sampled');
  assert.equal(run(20), 'unsampled');
});
