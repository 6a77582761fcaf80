/**
 * The planned hand-off delay: planned changes are announced and applied after the delay,
 * unplanned losses apply at once, later plans replace earlier ones within the hold bound.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEndpointSet } from '../../src/balancer/endpoint.js';
import type { EndpointSet, EndpointSpec } from '../../src/balancer/endpoint.js';
import type { DiscoveryError, EndpointSource, SourceStatus } from '../../src/discovery/endpoint-source.js';
import { isPlanned, PlannedHandoffSource, validateHandoffDelay } from '../../src/discovery/planned-handoff.js';
import type { PlannedChange } from '../../src/discovery/planned-handoff.js';
import type { Timers } from '../../src/discovery/static-file.js';
import { ConfigError } from '../../src/errors.js';

/** A source the test drives; sets are delivered synchronously by `push`, after subscribe returned. */
class DrivenSource implements EndpointSource {
  onSet: ((set: EndpointSet) => void) | null = null;
  onError: ((e: DiscoveryError) => void) | null = null;
  subscribe(onSet: (set: EndpointSet) => void, onError: (e: DiscoveryError) => void): () => void {
    this.onSet = onSet;
    this.onError = onError;
    return () => {
      this.onSet = null;
    };
  }
  status(): SourceStatus {
    return { state: 'synced', error: null };
  }
}

/** Timers and a wall clock that move only when told to. */
class FakeTime implements Timers {
  now = 1_000_000;
  readonly #due: { at: number; run: () => void; timer: NodeJS.Timeout }[] = [];
  setTimeout(callback: () => void, ms: number): NodeJS.Timeout {
    const timer = { unref: () => timer } as unknown as NodeJS.Timeout;
    this.#due.push({ at: this.now + ms, run: callback, timer });
    return timer;
  }
  clearTimeout(timer: NodeJS.Timeout): void {
    const i = this.#due.findIndex((d) => d.timer === timer);
    if (i >= 0) this.#due.splice(i, 1);
  }
  advance(ms: number): void {
    this.now += ms;
    for (;;) {
      const i = this.#due.findIndex((d) => d.at <= this.now);
      if (i < 0) return;
      this.#due.splice(i, 1)[0]!.run();
    }
  }
}

let version = 0;
const pod = (name: string, extra: Partial<EndpointSpec> = {}): EndpointSpec => ({ name, address: `10.0.0.${name.length}:80`, ...extra });
const set = (...specs: EndpointSpec[]): EndpointSet => createEndpointSet(specs, ++version);
const names = (s: EndpointSet): string => s.endpoints.map((e) => `${e.name}${e.draining ? '(draining)' : ''}`).join(',');

async function started(delayMs = 1_000): Promise<{ inner: DrivenSource; time: FakeTime; source: PlannedHandoffSource; seen: string[]; plans: PlannedChange[] }> {
  const inner = new DrivenSource();
  const time = new FakeTime();
  const source = new PlannedHandoffSource(inner, { delayMs, timers: time, now: () => time.now });
  const seen: string[] = [];
  const plans: PlannedChange[] = [];
  source.onPlan((c) => plans.push(c));
  source.subscribe((s) => seen.push(names(s)), () => undefined);
  await new Promise((r) => setImmediate(r));
  return { inner, time, source, seen, plans };
}

test('handoff: the first set applies at once; a new pod is announced, then applied after the delay', async () => {
  const { inner, time, source, seen, plans } = await started();
  inner.onSet!(set(pod('a'), pod('b')));
  assert.deepEqual(seen, ['a,b']);
  inner.onSet!(set(pod('a'), pod('b'), pod('c')));
  assert.deepEqual(seen, ['a,b'], 'not yet');
  assert.equal(plans.length, 1);
  assert.equal(names(plans[0]!.current), 'a,b');
  assert.equal(names(plans[0]!.next), 'a,b,c');
  assert.equal(plans[0]!.effectiveAtMs, time.now + 1_000);
  assert.equal(source.pending?.endpoints.length, 3);
  time.advance(999);
  assert.deepEqual(seen, ['a,b']);
  time.advance(1);
  assert.deepEqual(seen, ['a,b', 'a,b,c']);
  assert.equal(source.pending, null);
});

test('handoff: a pod marked draining is planned, and so is its removal (other keys may shift); an address change applies at once', async () => {
  const { inner, time, seen, plans } = await started();
  inner.onSet!(set(pod('a'), pod('b')));
  inner.onSet!(set(pod('a'), pod('b', { draining: true })));
  assert.equal(plans.length, 1);
  time.advance(1_000);
  assert.deepEqual(seen, ['a,b', 'a,b(draining)']);
  // Gone after draining: it served nothing, but maglev and jump renumber around it.
  inner.onSet!(set(pod('a')));
  assert.equal(plans.length, 2);
  time.advance(1_000);
  assert.deepEqual(seen, ['a,b', 'a,b(draining)', 'a']);
  inner.onSet!(set(pod('a', { address: '10.9.9.9:80' })));
  assert.equal(seen.length, 4);
  assert.equal(plans.length, 2, 'not announced');
});

test('handoff: an unplanned loss applies at once, whole, and drops the pending plan', async () => {
  const { inner, time, source, seen } = await started();
  inner.onSet!(set(pod('a'), pod('b')));
  inner.onSet!(set(pod('a'), pod('b'), pod('c')));
  inner.onSet!(set(pod('a'), pod('c')));
  assert.deepEqual(seen, ['a,b', 'a,c'], 'b crashed: at once, with c');
  assert.equal(source.pending, null);
  time.advance(5_000);
  assert.deepEqual(seen, ['a,b', 'a,c'], 'the dropped plan never applies');
});

test('handoff: a later plan replaces the pending one, with its own delay, held no longer than maxHoldMs', async () => {
  const { inner, time, seen, plans } = await started();
  inner.onSet!(set(pod('a')));
  inner.onSet!(set(pod('a'), pod('b')));
  time.advance(800);
  inner.onSet!(set(pod('a'), pod('b'), pod('c')));
  assert.equal(plans.at(-1)!.delayMs, 1_000);
  time.advance(800);
  inner.onSet!(set(pod('a'), pod('b'), pod('c'), pod('d')));
  // First announced 1,600 ms ago: at most 2,000 in all.
  assert.equal(plans.at(-1)!.delayMs, 400);
  time.advance(399);
  assert.deepEqual(seen, ['a']);
  time.advance(1);
  assert.deepEqual(seen, ['a', 'a,b,c,d'], 'straight to the latest');
  // Undone before it applies: the pending plan goes, and nothing new is announced.
  inner.onSet!(set(pod('a'), pod('b'), pod('c'), pod('d'), pod('e')));
  inner.onSet!(set(pod('a'), pod('b'), pod('c'), pod('d')));
  time.advance(5_000);
  assert.deepEqual(seen, ['a', 'a,b,c,d', 'a,b,c,d']);
});

test('handoff: isPlanned and the delay bounds', () => {
  assert.equal(isPlanned(set(pod('a')), set(pod('a'), pod('b'))), true);
  assert.equal(isPlanned(set(pod('a'), pod('b')), set(pod('a'))), false);
  assert.equal(isPlanned(set(pod('a')), set(pod('a', { weight: 2 }))), true);
  assert.equal(isPlanned(set(pod('a')), set(pod('a', { zone: 'z' }))), false);
  assert.equal(validateHandoffDelay(0, 'f'), 0);
  assert.throws(() => validateHandoffDelay(-1, 'handoffDelayMs'), (e: unknown) => e instanceof ConfigError && /handoffDelayMs: is -1/.test(e.message));
  assert.throws(() => validateHandoffDelay(1.5, 'x'), ConfigError);
});
