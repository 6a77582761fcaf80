import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Outcome } from '../../src/balancer/balancer.js';
import { ManualClock } from '../../src/balancer/clock.js';
import type { EndpointSpec } from '../../src/balancer/endpoint.js';
import type { KeyedConfig } from '../../src/balancer/factory.js';
import { DEFAULT_KEYLESS, defaultBalancerConfig } from '../../src/balancer/factory.js';
import { hashKey } from '../../src/balancer/hash.js';
import { LoadBoard } from '../../src/balancer/load-board.js';
import type { OutlierEvent, OutlierOptions } from '../../src/balancer/outlier-detector.js';
import { DEFAULT_OUTLIER, OutlierDetector, statusForOutlier, validateOutlierOptions } from '../../src/balancer/outlier-detector.js';
import { seededRng } from '../../src/balancer/rng.js';
import { ConfigError } from '../../src/errors.js';
import { asHashing, expectNone, expectOk, harness, makeKeys, setOf, specs } from './helpers.js';

interface Rig {
  readonly board: LoadBoard;
  readonly clock: ManualClock;
  readonly detector: OutlierDetector;
  readonly events: OutlierEvent[];
  /** Advances the clock by one interval and sweeps. */
  tick(): void;
}

function rig(list: readonly EndpointSpec[], options: Partial<OutlierOptions> = {}, seed = 1): Rig {
  const clock = new ManualClock(0);
  const board = new LoadBoard(clock);
  board.sync(setOf(list));
  const events: OutlierEvent[] = [];
  const detector = new OutlierDetector({ board, rng: seededRng(seed), options, onEvent: (e) => events.push(e) });
  return {
    board,
    clock,
    detector,
    events,
    tick: () => {
      clock.advance(detector.options.intervalMs);
      detector.tick(clock.nowMs());
    },
  };
}

function repeat(d: OutlierDetector, name: string, times: number, outcome: Outcome, status = 0): void {
  for (let i = 0; i < times; i++) d.record(name, outcome, status);
}

const kinds = (events: readonly OutlierEvent[]): string[] => events.map((e) => `${e.kind} ${e.endpoint}${e.kind === 'readmitted' ? '' : ` ${e.reason}`}${e.kind === 'spared' ? ` ${e.because}` : ''}`);

test('outlier: five 5xx in a row eject for base_ejection_time; a success in between restarts the run', () => {
  const r = rig(specs(4));
  repeat(r.detector, 'svc-1', 4, 'http-5xx', 500);
  r.detector.record('svc-1', 'ok', 200);
  repeat(r.detector, 'svc-1', 4, 'http-5xx', 500);
  assert.equal(r.detector.isEjected('svc-1'), false, 'the run was broken');
  assert.equal(r.board.load('svc-1')!.available, true);
  r.detector.record('svc-1', 'http-5xx', 500);
  assert.equal(r.detector.isEjected('svc-1'), true);
  assert.equal(r.board.isDown('svc-1', 'ejected'), true);
  assert.equal(r.board.load('svc-1')!.available, false);
  assert.deepEqual(r.events, [{ kind: 'ejected', endpoint: 'svc-1', reason: 'consecutive-5xx', durationMs: 30_000, ejections: 1 }]);
  assert.equal(r.detector.ejectedCount, 1);
});

test('outlier: failures the endpoint did not send count as Envoy maps them; cancellations not at all', () => {
  assert.equal(statusForOutlier('connect-failed', 0), 503);
  assert.equal(statusForOutlier('reset', 200), 503, 'a reset after the head is still a failure');
  assert.equal(statusForOutlier('timeout', 0), 504);
  assert.equal(statusForOutlier('http-5xx', 0), 500);
  assert.equal(statusForOutlier('http-5xx', 502), 502);
  assert.equal(statusForOutlier('ok', 0), 200);
  assert.equal(statusForOutlier('ok', 503), 503, 'the status decides when there is one');
  assert.equal(statusForOutlier('ok', 404), 404);

  const r = rig(specs(4));
  r.detector.record('svc-0', 'connect-failed');
  r.detector.record('svc-0', 'reset');
  r.detector.record('svc-0', 'cancelled');
  r.detector.record('svc-0', 'timeout');
  r.detector.record('svc-0', 'ok', 502);
  assert.equal(r.detector.view('svc-0')!.consecutive5xx, 4, 'cancelled neither counts nor breaks the run');
  assert.equal(r.detector.view('svc-0')!.consecutiveGatewayFailure, 4);
  r.detector.record('svc-0', 'connect-failed');
  // Both runs complete on the fifth: the gateway detector is not enforced by default, 5xx is.
  assert.deepEqual(kinds(r.events), ['spared svc-0 consecutive-gateway-failure not-enforced', 'ejected svc-0 consecutive-5xx']);
  assert.equal(r.detector.view('svc-0')!.consecutiveGatewayFailure, 0, 'a detection restarts its run, ejected or not');
});

test('outlier: a 500 breaks a gateway-failure run but continues the 5xx run; 4xx is success', () => {
  const r = rig(specs(4), { consecutiveGatewayFailure: 3, enforcingConsecutiveGatewayFailure: 100, consecutive5xx: 0 });
  repeat(r.detector, 'svc-2', 2, 'http-5xx', 503);
  r.detector.record('svc-2', 'http-5xx', 500);
  repeat(r.detector, 'svc-2', 2, 'http-5xx', 504);
  r.detector.record('svc-2', 'ok', 404);
  r.detector.record('svc-2', 'http-5xx', 502);
  assert.equal(r.detector.isEjected('svc-2'), false);
  repeat(r.detector, 'svc-2', 2, 'timeout');
  assert.deepEqual(kinds(r.events), ['ejected svc-2 consecutive-gateway-failure']);
  r.detector.readmit('svc-2');
  repeat(r.detector, 'svc-2', 12, 'http-5xx', 500);
  assert.equal(r.events.length, 2, 'consecutive5xx 0 turns that detector off');
});

test('outlier: each ejection is longer by base_ejection_time, up to max_ejection_time; readmission on the tick after', () => {
  const r = rig(specs(3), { baseEjectionTimeMs: 30_000, maxEjectionTimeMs: 100_000, intervalMs: 10_000 });
  const durations: number[] = [];
  for (let round = 0; round < 5; round++) {
    repeat(r.detector, 'svc-0', 5, 'http-5xx', 503);
    const e = r.events.at(-1)!;
    assert.equal(e.kind, 'ejected', `round ${round}`);
    if (e.kind === 'ejected') durations.push(e.durationMs);
    const ejectedAt = r.clock.nowMs();
    while (r.detector.isEjected('svc-0')) {
      r.tick();
      assert.ok(r.clock.nowMs() - ejectedAt <= durations.at(-1)!, 'not held past its time');
    }
    assert.equal(r.clock.nowMs() - ejectedAt, Math.ceil(durations.at(-1)! / 10_000) * 10_000, 'readmitted on the first tick after its time');
    assert.equal(r.board.load('svc-0')!.available, true);
  }
  assert.deepEqual(durations, [30_000, 60_000, 90_000, 100_000, 100_000]);
  assert.equal(r.events.filter((e) => e.kind === 'readmitted').length, 5);
});

test('outlier: the multiplier drops by one each interval the endpoint stays in rotation after its return', () => {
  const r = rig(specs(3));
  repeat(r.detector, 'svc-1', 5, 'reset');
  for (let i = 0; i < 3; i++) r.tick();
  assert.equal(r.detector.isEjected('svc-1'), false);
  assert.equal(r.detector.view('svc-1')!.multiplier, 1, 'not yet: it came back on this tick');
  repeat(r.detector, 'svc-1', 5, 'reset');
  assert.equal(r.detector.view('svc-1')!.multiplier, 2);
  for (let i = 0; i < 6; i++) r.tick();
  assert.equal(r.detector.isEjected('svc-1'), false);
  r.tick();
  assert.equal(r.detector.view('svc-1')!.multiplier, 1);
  r.tick();
  assert.equal(r.detector.view('svc-1')!.multiplier, 0);
  r.tick();
  assert.equal(r.detector.view('svc-1')!.multiplier, 0, 'never below zero');
  repeat(r.detector, 'svc-1', 5, 'reset');
  const last = r.events.at(-1)!;
  assert.ok(last.kind === 'ejected' && last.durationMs === 30_000 && last.ejections === 3, 'back to the base time; the count of ejections stays');
});

test('outlier: jitter is drawn from the Rng, within max_ejection_time_jitter, the same for the same seed', () => {
  const run = (seed: number): number[] => {
    const r = rig(specs(3), { maxEjectionTimeJitterMs: 1_000 }, seed);
    const out: number[] = [];
    for (let i = 0; i < 20; i++) {
      repeat(r.detector, 'svc-0', 5, 'reset');
      const e = r.events.at(-1)!;
      if (e.kind === 'ejected') out.push(e.durationMs - 30_000 * Math.min(e.ejections, 10));
      r.detector.readmit('svc-0');
    }
    return out;
  };
  const a = run(3);
  assert.equal(a.length, 20);
  for (const j of a) assert.ok(j >= 0 && j <= 1_000, `jitter ${j}`);
  assert.ok(new Set(a).size > 10, 'jitter varies');
  assert.deepEqual(run(3), a);
});

test('outlier: enforcing percentages are drawn from the Rng; 0 and 100 draw nothing', () => {
  const r = rig(specs(20), { enforcingConsecutive5xx: 30, maxEjectionPercent: 100 }, 9);
  for (let i = 0; i < 20; i++) repeat(r.detector, `svc-${i}`, 5, 'http-5xx', 500);
  const ejected = r.events.filter((e) => e.kind === 'ejected').length;
  const spared = r.events.filter((e) => e.kind === 'spared' && e.because === 'not-enforced').length;
  assert.equal(ejected + spared, 20);
  assert.ok(ejected >= 2 && ejected <= 12, `about 30% of 20 ejected: ${ejected}`);
  const never = rig(specs(4), { enforcingConsecutive5xx: 0 });
  repeat(never.detector, 'svc-0', 50, 'http-5xx', 500);
  assert.deepEqual(kinds(never.events), Array(10).fill('spared svc-0 consecutive-5xx not-enforced'));
});

test('outlier: max_ejection_percent as Envoy 1.31 checks it, with one endpoint always ejectable by default', () => {
  // Four endpoints at 10%: (0 + 1) / 4 = 25% is over, so Envoy ejects nothing without always_eject_one_host.
  const strict = rig(specs(4), { alwaysEjectOneHost: false });
  repeat(strict.detector, 'svc-0', 5, 'http-5xx', 500);
  assert.deepEqual(kinds(strict.events), ['spared svc-0 consecutive-5xx max-ejection-percent']);

  const small = rig(specs(4));
  repeat(small.detector, 'svc-0', 5, 'http-5xx', 500);
  repeat(small.detector, 'svc-1', 5, 'http-5xx', 500);
  assert.deepEqual(kinds(small.events), ['ejected svc-0 consecutive-5xx', 'spared svc-1 consecutive-5xx max-ejection-percent']);

  // Twenty at 10%: two, since (1 + 1) / 20 = 10% is allowed and (2 + 1) / 20 is not.
  const large = rig(specs(20), { alwaysEjectOneHost: false });
  for (let i = 0; i < 3; i++) repeat(large.detector, `svc-${i}`, 5, 'http-5xx', 500);
  assert.deepEqual(kinds(large.events), ['ejected svc-0 consecutive-5xx', 'ejected svc-1 consecutive-5xx', 'spared svc-2 consecutive-5xx max-ejection-percent']);
  // A readmission makes room again.
  large.detector.readmit('svc-0');
  repeat(large.detector, 'svc-2', 5, 'http-5xx', 500);
  assert.equal(large.detector.isEjected('svc-2'), true);
});

test('outlier: the last endpoint in rotation is never ejected', () => {
  const one = rig(specs(1));
  repeat(one.detector, 'svc-0', 5, 'connect-failed');
  assert.deepEqual(kinds(one.events), ['spared svc-0 consecutive-gateway-failure last-available', 'spared svc-0 consecutive-5xx last-available']);
  assert.equal(one.board.load('svc-0')!.available, true);

  const two = rig(specs(2), { maxEjectionPercent: 100 });
  two.board.setDown('svc-1', 'failed-check', true);
  repeat(two.detector, 'svc-0', 5, 'connect-failed');
  assert.equal(two.detector.isEjected('svc-0'), false);
  // One already out of rotation may still be ejected: that takes nothing more away.
  repeat(two.detector, 'svc-1', 5, 'connect-failed');
  assert.equal(two.detector.isEjected('svc-1'), true);
});

/** Records `total` requests to `name` with `failed` of them 500, spread so that no run reaches five. */
function volume(r: Rig, name: string, total: number, failed: number): void {
  let f = 0;
  for (let i = 0; i < total; i++) {
    const fail = f < failed && (i % 2 === 0 || total - i <= failed - f);
    if (fail) f++;
    r.detector.record(name, fail ? 'http-5xx' : 'ok', fail ? 500 : 200);
  }
}

test('outlier: success rate ejects an endpoint below mean - 1.9 x stdev over the interval just ended (Envoy\'s example)', () => {
  const r = rig(specs(5), { consecutive5xx: 0, maxEjectionPercent: 100 });
  // Envoy's example: rates 50, 100, 100, 100, 100 give mean 90, stdev 20, threshold 52.
  volume(r, 'svc-0', 200, 100);
  for (let i = 1; i < 5; i++) volume(r, `svc-${i}`, 200, 0);
  assert.equal(r.events.length, 0, 'nothing before the interval ends');
  r.tick();
  assert.deepEqual(kinds(r.events), ['ejected svc-0 success-rate']);
  // The next interval has no traffic: nothing more happens.
  r.tick();
  assert.equal(r.events.length, 1);
});

test('outlier: success rate needs the request volume and the minimum number of endpoints', () => {
  const few = rig(specs(5), { consecutive5xx: 0 });
  volume(few, 'svc-0', 99, 60);
  for (let i = 1; i < 5; i++) volume(few, `svc-${i}`, 200, 0);
  few.tick();
  assert.equal(few.events.length, 0, 'svc-0 under 100 requests: four endpoints rated, five needed');

  const within = rig(specs(6), { consecutive5xx: 0 });
  // 95, 96, 94, 97, 95 and 96%: mean 95.5, stdev 0.96, threshold 93.7.
  [10, 8, 12, 6, 10, 8].forEach((failed, i) => volume(within, `svc-${i}`, 200, failed));
  within.tick();
  assert.equal(within.events.length, 0, 'ordinary spread is no outlier');
  volume(within, 'svc-2', 200, 40);
  for (const i of [0, 1, 3, 4, 5]) volume(within, `svc-${i}`, 200, 8);
  within.tick();
  assert.deepEqual(kinds(within.events), ['ejected svc-2 success-rate'], 'an 80% endpoint among 96% ones is');
});

test('outlier: failure percentage detects at 85% failed, enforced 0% unless configured', () => {
  const seen = rig(specs(5), { consecutive5xx: 0, successRateMinimumHosts: 100 });
  volume(seen, 'svc-3', 60, 52);
  for (const i of [0, 1, 2, 4]) volume(seen, `svc-${i}`, 60, 0);
  seen.tick();
  assert.deepEqual(kinds(seen.events), ['spared svc-3 failure-percentage not-enforced']);

  const enforced = rig(specs(5), { consecutive5xx: 0, successRateMinimumHosts: 100, enforcingFailurePercentage: 100 });
  volume(enforced, 'svc-3', 60, 52);
  volume(enforced, 'svc-2', 60, 50);
  for (const i of [0, 1, 4]) volume(enforced, `svc-${i}`, 60, 0);
  enforced.tick();
  assert.deepEqual(kinds(enforced.events), ['ejected svc-3 failure-percentage'], 'svc-2 failed 83%: under the threshold');
});

test('outlier: an endpoint that leaves the set is forgotten; a name that comes back starts clean', () => {
  const r = rig(specs(3));
  repeat(r.detector, 'svc-2', 5, 'reset');
  assert.equal(r.detector.ejectedCount, 1);
  r.board.sync(setOf(specs(2), 2));
  assert.equal(r.detector.ejectedCount, 0);
  r.detector.record('svc-2', 'reset');
  assert.equal(r.detector.view('svc-2'), null, 'unknown names are ignored');
  r.board.sync(setOf(specs(3), 3));
  assert.equal(r.detector.isEjected('svc-2'), false);
  assert.equal(r.board.load('svc-2')!.available, true);
  assert.equal(r.detector.view('svc-2')!.multiplier, 0);
  // The same name leaving and returning between two calls is caught too: it has a new load.
  repeat(r.detector, 'svc-1', 5, 'reset');
  r.board.sync(setOf(specs(3).filter((e) => e.name !== 'svc-1'), 4));
  r.board.sync(setOf(specs(3), 5));
  assert.equal(r.detector.isEjected('svc-1'), false);
  assert.equal(r.detector.ejectedCount, 0);
});

test('outlier: an endpoint back at a new address is a new host: ejection, runs and multiplier forgotten', () => {
  const r = rig(specs(4));
  repeat(r.detector, 'svc-1', 5, 'connect-failed');
  repeat(r.detector, 'svc-2', 3, 'connect-failed');
  assert.equal(r.detector.isEjected('svc-1'), true);
  const moved = specs(4).map((e) => (e.name === 'svc-1' ? { ...e, address: '10.9.9.9:8080' } : e));
  r.board.sync(setOf(moved, 2));
  assert.equal(r.board.load('svc-1')!.available, true, 'back in rotation as soon as the set says where it is now');
  assert.equal(r.detector.isEjected('svc-1'), false);
  assert.equal(r.detector.ejectedCount, 0);
  assert.deepEqual(r.detector.view('svc-1'), { ejected: false, ejections: 0, multiplier: 0, consecutive5xx: 0, consecutiveGatewayFailure: 0, ejectedUntilMs: null, reason: null });
  assert.equal(r.detector.view('svc-2')!.consecutive5xx, 3, 'an endpoint at the same address keeps its record');
  // The new pod fails on its own account: ejected as a first offender.
  repeat(r.detector, 'svc-1', 5, 'connect-failed');
  assert.equal(r.detector.isEjected('svc-1'), true);
  assert.equal(r.detector.view('svc-1')!.ejections, 1);
});

test('outlier: readmit and close lift ejections and tell of them', () => {
  const r = rig(specs(10), { maxEjectionPercent: 50 });
  repeat(r.detector, 'svc-0', 5, 'reset');
  repeat(r.detector, 'svc-1', 5, 'reset');
  r.detector.readmit('svc-0');
  r.detector.readmit('svc-0');
  r.detector.readmit('nobody');
  assert.equal(r.board.load('svc-0')!.available, true);
  assert.equal(r.detector.view('svc-0')!.consecutive5xx, 0);
  r.detector.close();
  assert.equal(r.board.load('svc-1')!.available, true);
  assert.equal(r.detector.ejectedCount, 0);
  assert.deepEqual(kinds(r.events.filter((e) => e.kind !== 'spared')), ['ejected svc-0 consecutive-5xx', 'ejected svc-1 consecutive-5xx', 'readmitted svc-0', 'readmitted svc-1']);
});

test('outlier: a health-check mark and an ejection are independent', () => {
  const r = rig(specs(3));
  r.board.setDown('svc-0', 'failed-check', true);
  repeat(r.detector, 'svc-0', 5, 'reset');
  r.detector.readmit('svc-0');
  assert.equal(r.board.load('svc-0')!.available, false, 'still failing its checks');
  r.board.setDown('svc-0', 'failed-check', false);
  assert.equal(r.board.load('svc-0')!.available, true);
});

test('outlier: an ejected owner\'s keys go to their next owner and come home on readmission', () => {
  const h = harness(defaultBalancerConfig('ring-hash'), specs(6));
  const b = asHashing(h.balancer);
  const detector = new OutlierDetector({ board: h.board, rng: seededRng(1) });
  const keys = makeKeys(300, 8);
  const owned = keys.filter((k) => b.owner(k)!.name === 'svc-3');
  const others = keys.filter((k) => b.owner(k)!.name !== 'svc-3');
  assert.ok(owned.length > 20);
  const route = (k: ReturnType<typeof hashKey>): string => {
    const p = expectOk(b.pick(k, null));
    p.done(h.clock.nowMs(), 'ok');
    return p.endpoint.name;
  };
  repeat(detector, 'svc-3', 5, 'http-5xx', 503);
  assert.equal(detector.isEjected('svc-3'), true);
  for (const k of owned) assert.equal(route(k), b.preference(k, 2)[1]!.name, 'to the key\'s next owner');
  for (const k of others) assert.equal(route(k), b.owner(k)!.name, 'no other key moves');
  h.clock.advance(30_000);
  detector.tick();
  assert.equal(detector.isEjected('svc-3'), false);
  for (const k of owned) assert.equal(route(k), 'svc-3', 'home again');
});

test('outlier: with ordinal onMissing fail, an ejected owner\'s keys are refused, not moved', () => {
  const config: KeyedConfig = { algorithm: 'ordinal', loadFactor: null, keyless: DEFAULT_KEYLESS, replicas: 4, onMissing: 'fail' };
  const h = harness(config, specs(4, 'pod'));
  const detector = new OutlierDetector({ board: h.board, rng: seededRng(1) });
  for (let i = 0; i < 5; i++) detector.record('pod-2', 'connect-failed');
  expectNone(h.balancer.pick(hashKey('6'), null), 'owner-missing');
  const other = expectOk(h.balancer.pick(hashKey('5'), null));
  assert.equal(other.endpoint.name, 'pod-1');
  other.done(0, 'ok');
});

test('validateOutlierOptions: Envoy\'s defaults; every setting checked and named; max follows a larger base', () => {
  assert.deepEqual(validateOutlierOptions(undefined, 'outlier'), DEFAULT_OUTLIER);
  assert.deepEqual(validateOutlierOptions({}, 'outlier'), DEFAULT_OUTLIER);
  assert.equal(DEFAULT_OUTLIER.consecutive5xx, 5);
  assert.equal(DEFAULT_OUTLIER.successRateStdevFactor, 1_900);
  assert.equal(validateOutlierOptions({ baseEjectionTimeMs: 400_000 }, 'o').maxEjectionTimeMs, 400_000);
  assert.equal(validateOutlierOptions({ intervalMs: 500, alwaysEjectOneHost: false }, 'o').intervalMs, 500);
  const refused = (raw: unknown, field: string, pattern: RegExp): void => {
    assert.throws(
      () => validateOutlierOptions(raw, 'proxy.outlierDetection'),
      (e: unknown) => e instanceof ConfigError && e.code === 'SG_ERR_HEALTH' && e.field === field && pattern.test(e.message),
      JSON.stringify(raw),
    );
  };
  refused({ consecutive5xx: -1 }, 'proxy.outlierDetection.consecutive5xx', /is -1: .* integer from 0 to/);
  refused({ maxEjectionPercent: 101 }, 'proxy.outlierDetection.maxEjectionPercent', /from 0 to 100; the default is 10/);
  refused({ intervalMs: 0 }, 'proxy.outlierDetection.intervalMs', /from 1 to/);
  refused({ intervalMs: '10s' }, 'proxy.outlierDetection.intervalMs', /is "10s"/);
  refused({ alwaysEjectOneHost: 'yes' }, 'proxy.outlierDetection.alwaysEjectOneHost', /true or false/);
  refused({ maxEjectionTimeMs: 1_000 }, 'proxy.outlierDetection.maxEjectionTimeMs', /cannot be shorter than baseEjectionTimeMs \(30000\)/);
  refused({ consecutive_5xx: 3 }, 'proxy.outlierDetection.consecutive_5xx', /not a setting here: the settings are intervalMs, /);
  refused(5, 'proxy.outlierDetection', /give a mapping/);
  assert.throws(() => new OutlierDetector({ board: new LoadBoard(new ManualClock()), rng: seededRng(1), options: { successRateStdevFactor: 1.9 } }), /outlierDetection\.successRateStdevFactor: is 1.9/);
});

test('outlier: the view of an ejected endpoint says when the ejection ends and why', () => {
  const r = rig(specs(4), { baseEjectionTimeMs: 30_000, maxEjectionTimeJitterMs: 0 });
  repeat(r.detector, 'svc-1', 5, 'reset');
  const view = r.detector.view('svc-1')!;
  assert.deepEqual([view.ejected, view.ejectedUntilMs, view.reason], [true, r.clock.nowMs() + 30_000, 'consecutive-5xx']);
  r.detector.readmit('svc-1');
  assert.deepEqual([r.detector.view('svc-1')!.ejectedUntilMs, r.detector.view('svc-1')!.reason], [null, null]);
});
