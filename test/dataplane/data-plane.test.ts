/**
 * The DataPlane applies a set everywhere in one order, refuses a set any transport refuses without
 * changing anything, turns key text into keys in one place, and routes attempt outcomes to passive
 * health and the connect-failure hook.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { ManualClock } from '../../src/balancer/clock.js';
import { createEndpointSet } from '../../src/balancer/endpoint.js';
import type { Endpoint, EndpointSet } from '../../src/balancer/endpoint.js';
import { createBalancer, defaultBalancerConfig } from '../../src/balancer/factory.js';
import { hashKey } from '../../src/balancer/hash.js';
import { parseKeyTransform } from '../../src/balancer/key-transform.js';
import { LoadBoard } from '../../src/balancer/load-board.js';
import { OutlierDetector } from '../../src/balancer/outlier-detector.js';
import { seededRng } from '../../src/balancer/rng.js';
import { DataPlane } from '../../src/dataplane/data-plane.js';
import type { Transport } from '../../src/dataplane/data-plane.js';
import { ConfigError } from '../../src/errors.js';
import { parseKeySource } from '../../src/proxy/key-source.js';

const silent = pino({ level: 'silent' });

function plane(extra: Partial<ConstructorParameters<typeof DataPlane>[0]> = {}): DataPlane {
  const clock = new ManualClock(0);
  const board = new LoadBoard(clock);
  const balancer = createBalancer(defaultBalancerConfig('ring-hash'), { clock, rng: seededRng(1), board });
  return new DataPlane({ clock, logger: silent, board, balancer, keySource: parseKeySource('header:x-k'), ...extra });
}

const three = (version: number): EndpointSet => createEndpointSet(['a', 'b', 'c'].map((n, i) => ({ name: `pod-${n}`, address: `127.0.0.1:${9000 + i}` })), version);

/** A transport that records what it is told, and refuses sets holding `refuse`. */
function recordingTransport(log: string[], name: string, refuse: string | null = null): Transport {
  return {
    check(set) {
      log.push(`${name} check v${set.version}`);
      if (refuse !== null && set.endpoints.some((e) => e.name === refuse)) throw new ConfigError('SG_ERR_ENDPOINTS', 'endpoints', `${refuse} cannot be dialled`);
      return set.version;
    },
    reconcile(set, checked) {
      log.push(`${name} reconcile v${set.version} (checked v${String(checked)})`);
    },
  };
}

test('apply: every transport checks, then the balancer, the transports, set and capacity listeners follow', () => {
  const p = plane();
  const log: string[] = [];
  p.attach(recordingTransport(log, 'pools'));
  p.attach(recordingTransport(log, 'dispatcher'));
  p.onSet((set) => log.push(`set v${set.version}, balancer has ${p.board.loads.length}`));
  p.onCapacity(() => log.push('capacity'));
  p.apply(three(1));
  assert.deepEqual(log, ['pools check v1', 'dispatcher check v1', 'pools reconcile v1 (checked v1)', 'dispatcher reconcile v1 (checked v1)', 'set v1, balancer has 3', 'capacity']);
  assert.equal(p.current?.version, 1);
});

test('apply: a set one transport refuses changes nothing anywhere', () => {
  const p = plane();
  const log: string[] = [];
  p.attach(recordingTransport(log, 'pools'));
  p.apply(three(1));
  const owner = p.balancer.pick(p.key('account-7'), null);
  assert.ok(owner.kind === 'ok');
  owner.done(0, 'ok');
  p.attach(recordingTransport(log, 'picky', 'pod-d'));
  log.length = 0;
  const four = createEndpointSet([...three(2).endpoints.map((e) => ({ name: e.name, address: e.address })), { name: 'pod-d', address: '127.0.0.1:9003' }], 2);
  assert.throws(() => p.apply(four), ConfigError);
  assert.deepEqual(log, ['pools check v2', 'picky check v2'], 'nobody reconciled');
  assert.equal(p.current?.version, 1);
  assert.equal(p.board.loads.length, 3, 'the balancer kept the old set');
});

test('attach reconciles a transport with the current set at once; detach stops it; listeners can be removed', () => {
  const p = plane();
  p.apply(three(1));
  const log: string[] = [];
  const t = recordingTransport(log, 'late');
  p.attach(t);
  assert.deepEqual(log, ['late check v1', 'late reconcile v1 (checked v1)']);
  p.detach(t);
  let heard = 0;
  const stop = p.onSet(() => heard++);
  p.apply(three(2));
  stop();
  p.apply(three(3));
  assert.equal(log.length, 2, 'a detached transport hears nothing');
  assert.equal(heard, 1);
});

test('key: the key source\'s text, transformed, then hashed with the one key hash; null for no key', () => {
  const p = plane({ keyTransform: parseKeyTransform('delimited:/:0', 'keyTransform') });
  assert.deepEqual(p.key('tenant-1/user-9'), hashKey('tenant-1'));
  assert.equal(p.key(null), null);
  assert.equal(p.key(undefined), null);
  assert.deepEqual(plane().key('tenant-1/user-9'), hashKey('tenant-1/user-9'));
});

test('observe: outcomes reach outlier detection; a failed connect reaches the hook with the endpoint, once per attempt', async () => {
  const heard: Endpoint[] = [];
  const clock = new ManualClock(0);
  const board = new LoadBoard(clock);
  const balancer = createBalancer(defaultBalancerConfig('round-robin'), { clock, rng: seededRng(1), board });
  const outlier = new OutlierDetector({ board, rng: seededRng(2), options: { consecutive5xx: 2 } });
  const p = new DataPlane({ clock, logger: silent, board, balancer, keySource: null, outlier, onConnectFailure: (e) => heard.push(e) });
  try {
    p.apply(three(1));
    p.observe('pod-a', 'connect-failed', 0);
    assert.deepEqual(heard.map((e) => e.name), ['pod-a']);
    p.observe('pod-gone', 'connect-failed', 0);
    assert.equal(heard.length, 1, 'not for an endpoint outside the set');
    p.observe('pod-b', 'http-5xx', 503);
    p.observe('pod-b', 'http-5xx', 503);
    assert.ok(outlier.isEjected('pod-b'), 'two 5xx in a row eject pod-b');
  } finally {
    await p.close();
    await p.close();
  }
});
