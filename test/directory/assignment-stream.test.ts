/**
 * The ownership stream with real HTTP clients: a snapshot, then a change event per new set with
 * what each pod gained and lost (exact ranges for ring hash), heartbeats, a slow watcher held to
 * a bounded buffer and brought back by a snapshot, and the planned hand-off's announcement before
 * the change it announces.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import { request } from 'undici';
import type { EndpointSet, EndpointSpec } from '../../src/balancer/endpoint.js';
import { createEndpointSet } from '../../src/balancer/endpoint.js';
import { hashKey } from '../../src/balancer/hash.js';
import type { ShardgateConfig } from '../../src/config/config.js';
import { parseConfig } from '../../src/config/config.js';
import { followSets } from '../../src/dataplane/follow-sets.js';
import type { DataPlane } from '../../src/dataplane/data-plane.js';
import type { AssignmentSnapshot, ChangeEvent, Directory, DirectoryOptions, PrepareEvent } from '../../src/directory/directory.js';
import { createLookupPlane } from '../../src/directory/lookup-plane.js';
import type { OwnerAnswer } from '../../src/directory/owner-answer.js';
import type { DiscoveryError, EndpointSource, SourceStatus } from '../../src/discovery/endpoint-source.js';
import { PlannedHandoffSource } from '../../src/discovery/planned-handoff.js';
import { serveDirectory } from '../helpers/directory-server.js';
import { EventStreamClient } from '../helpers/event-stream.js';
import { until } from '../helpers/until.js';

const silent = pino({ level: 'silent' });
const pods = (n: number, prefix = 'sharded-svc'): EndpointSpec[] => Array.from({ length: n }, (_, i) => ({ name: `${prefix}-${i}`, address: `10.0.${i >> 8}.${i & 255}:8080` }));

async function started(t: TestContext, balancer: Record<string, unknown>, extra: Partial<DirectoryOptions> = {}): Promise<{ config: ShardgateConfig; plane: DataPlane; directory: Directory; base: string }> {
  const config = parseConfig({ endpoints: pods(1), balancer, key: 'header:x-account' });
  const plane = createLookupPlane(config, silent);
  t.after(() => plane.close());
  const { directory, base } = await serveDirectory(t, plane, config, extra);
  return { config, plane, directory, base };
}

async function watch(t: TestContext, base: string): Promise<EventStreamClient> {
  const c = await EventStreamClient.open(`${base}/v1/assignments/watch`);
  t.after(() => c.close());
  return c;
}

test('stream: a snapshot, then a change event when a pod leaves, with exact ring ranges; heartbeats between; earlier generations stay askable', async (t) => {
  const { plane, base } = await started(t, { algorithm: 'ring-hash' }, { stream: { heartbeatMs: 40 } });
  // Watching before any set: the snapshot comes with the first one.
  const w = await watch(t, base);
  assert.equal(w.status, 200);
  assert.equal(w.contentType, 'text/event-stream; charset=utf-8');
  plane.apply(createEndpointSet(pods(4), 1));
  const snap = (await w.next('snapshot')).data as AssignmentSnapshot;
  assert.equal(snap.generation, 1);
  assert.deepEqual(snap.members.map((m) => [m.endpoint, m.ordinal, m.draining]), [0, 1, 2, 3].map((i) => [`sharded-svc-${i}`, i, false]));
  assert.ok(Math.abs(snap.members.reduce((s, m) => s + m.share, 0) - 1) < 1e-5);
  assert.deepEqual(snap.config, { balancer: { algorithm: 'ring-hash', boundedLoad: null, keyless: 'p2c', minRingSize: 0, maxRingSize: 8_388_608 }, key: 'header:x-account', keyTransform: null });
  await w.nextComment();

  const keys = Array.from({ length: 1_000 }, (_, i) => `acct-${i}`);
  const ownersAt = async (generation: number | null): Promise<string[]> => {
    const r = await request(`${base}/v1/owners${generation === null ? '' : `?generation=${generation}`}`, { method: 'POST', body: JSON.stringify(keys) });
    return ((await r.body.json()) as { owners: OwnerAnswer[] }).owners.map((o) => o.endpoint!);
  };
  const before = await ownersAt(null);
  plane.apply(createEndpointSet(pods(4).filter((p) => p.name !== 'sharded-svc-1'), 2));
  const change = await w.next('change');
  assert.equal(change.id, '2');
  const c = change.data as ChangeEvent;
  assert.deepEqual([c.generation, c.previous, c.version, c.planned], [2, 1, 2, false]);
  assert.deepEqual(c.members.map((m) => m.endpoint), ['sharded-svc-0', 'sharded-svc-2', 'sharded-svc-3']);
  assert.equal(c.diff.method, 'exact');
  const gone = c.diff.endpoints.find((e) => e.endpoint === 'sharded-svc-1')!;
  assert.deepEqual([gone.after, gone.gained], [0, 0]);
  assert.ok(Math.abs(gone.lost - c.diff.moved) < 1e-5, 'only the keys of the pod that left move');
  const after = await ownersAt(null);
  // Every key that moved was the leaver's and lies in its lost ranges and in its new owner's gained ones.
  const inside = (ranges: readonly (readonly [number, number])[], key: string): boolean => ranges.some(([lo, hi]) => lo <= hashKey(key).hi && hashKey(key).hi <= hi);
  keys.forEach((key, i) => {
    const moved = before[i] !== after[i];
    assert.equal(moved, before[i] === 'sharded-svc-1', key);
    assert.equal(inside(gone.ranges!.lost, key), moved, key);
    if (moved) assert.ok(inside(c.diff.endpoints.find((e) => e.endpoint === after[i])!.ranges!.gained, key));
  });
  // The first generation is kept: a pod can ask who owned its keys then.
  assert.deepEqual(await ownersAt(1), before);
  assert.deepEqual(await ownersAt(2), after);
});

test('stream: a slow watcher is held to a bounded buffer, loses events instead of memory, and is brought back by a snapshot', async (t) => {
  // Long names make big events: every change carries the whole member list.
  const specs = pods(400, `a-pod-with-a-long-name-${'x'.repeat(150)}`);
  const maxBufferedBytes = 64 * 1024;
  const { plane, directory, base } = await started(t, { algorithm: 'jump' }, { samples: 256, stream: { maxBufferedBytes, heartbeatMs: 60_000 } });
  plane.apply(createEndpointSet(specs, 1));
  // A watcher that sends its request and then reads nothing.
  const url = new URL(base);
  const socket = net.connect(Number(url.port), url.hostname);
  t.after(() => socket.destroy());
  socket.pause();
  socket.write(`GET /v1/assignments/watch HTTP/1.1\r\nhost: ${url.host}\r\n\r\n`);
  await until('the watcher is in', () => directory.stream.size === 1);
  let eventBytes = 0;
  for (let v = 2; v <= 120; v++) {
    plane.apply(createEndpointSet(v % 2 === 0 ? specs.slice(1) : specs, v));
    eventBytes = Math.max(eventBytes, 700 * specs.length);
    // Let the socket take what it will.
    await new Promise((r) => setImmediate(r));
  }
  const [s] = directory.stream.stats();
  assert.ok(s !== undefined);
  assert.equal(s.lagging, true, 'the watcher fell behind');
  assert.ok(s.dropped > 0);
  assert.ok(s.buffered <= Math.max(maxBufferedBytes, 16 * 1024 + eventBytes), `buffered ${s.buffered} bytes`);
  // It reads again: a snapshot marked resync stands for everything it missed.
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (text += chunk));
  socket.resume();
  await until('a resync snapshot arrives', () => text.includes('"resync":true'), 10_000);
  const last = text.slice(text.lastIndexOf('event: snapshot'));
  const data = JSON.parse(/data: (.*)\n/.exec(last)![1]!) as AssignmentSnapshot;
  assert.equal(data.generation, directory.current!.generation);
  assert.equal(data.members.length, directory.current!.set.endpoints.length);
  const [after] = directory.stream.stats();
  assert.deepEqual([after!.lagging, after!.resyncs], [false, 1]);
  // And it gets the next change as it happens.
  plane.apply(createEndpointSet(specs.slice(2), 500));
  await until('the next change arrives', () => text.includes('"generation":121,"previous":120'), 10_000);
});

test('stream: at most maxWatchers watch; the next one gets 503', async (t) => {
  const { plane, base } = await started(t, { algorithm: 'maglev' }, { stream: { maxWatchers: 1 } });
  plane.apply(createEndpointSet(pods(2), 1));
  const first = await watch(t, base);
  await first.next('snapshot');
  const r = await request(`${base}/v1/assignments/watch`);
  assert.equal(r.statusCode, 503);
  assert.equal(((await r.body.json()) as { code: string }).code, 'SG_ERR_WATCHERS');
});

/** A source the test pushes sets into, delivered on a later turn. */
class PushedSource implements EndpointSource {
  #onSet: ((set: EndpointSet) => void) | null = null;
  subscribe(onSet: (set: EndpointSet) => void, _onError: (e: DiscoveryError) => void): () => void {
    this.#onSet = onSet;
    return () => (this.#onSet = null);
  }
  status(): SourceStatus {
    return { state: 'synced', error: null };
  }
  push(set: EndpointSet): void {
    setImmediate(() => this.#onSet?.(set));
  }
}

test('stream: a planned change is announced (prepare) and askable as the pending generation, then applied after the delay; a pod that is gone switches at once', async (t) => {
  const pushed = new PushedSource();
  const handoff = new PlannedHandoffSource(pushed, { delayMs: 400 });
  const { plane, directory, base } = await started(t, { algorithm: 'rendezvous' }, { handoff });
  const follower = followSets(handoff, (set) => plane.apply(set), { logger: silent });
  t.after(() => follower.unsubscribe());
  pushed.push(createEndpointSet(pods(3), 1));
  await follower.first;
  const w = await watch(t, base);
  await w.next('snapshot');
  const keys = Array.from({ length: 300 }, (_, i) => `acct-${i}`);
  const ownersAt = async (generation: number | null): Promise<OwnerAnswer[]> => {
    const r = await request(`${base}/v1/owners${generation === null ? '' : `?generation=${generation}`}`, { method: 'POST', body: JSON.stringify(keys) });
    return ((await r.body.json()) as { owners: OwnerAnswer[] }).owners;
  };

  const announcedAt = Date.now();
  pushed.push(createEndpointSet(pods(4), 2));
  const prepare = (await w.next('prepare')).data as PrepareEvent;
  assert.deepEqual([prepare.generation, prepare.previous, prepare.delayMs], [2, 1, 400]);
  assert.ok(Math.abs(prepare.effectiveAtMs - (announcedAt + 400)) < 300);
  assert.equal(prepare.effectiveAt, new Date(prepare.effectiveAtMs).toISOString());
  const joining = prepare.diff.endpoints.find((e) => e.endpoint === 'sharded-svc-3')!;
  assert.ok(joining.gained > 0.15 && joining.gained < 0.35, `the new pod takes about a quarter (${joining.gained})`);
  // Still routed by generation 1; generation 2 can be asked about already.
  assert.equal(directory.current!.generation, 1);
  const pending = await ownersAt(2);
  assert.ok(pending.some((o) => o.endpoint === 'sharded-svc-3'));
  assert.ok((await ownersAt(null)).every((o) => o.generation === 1 && o.endpoint !== 'sharded-svc-3'));
  const snapshot = (await (await request(`${base}/v1/assignments`)).body.json()) as AssignmentSnapshot;
  assert.deepEqual(snapshot.pending, { generation: 2, membership: prepare.membership, effectiveAtMs: prepare.effectiveAtMs });

  const applied = (await w.next('change')).data as ChangeEvent;
  assert.ok(Date.now() - announcedAt >= 390, 'not before the delay');
  assert.deepEqual([applied.generation, applied.planned, applied.membership], [2, true, prepare.membership]);
  assert.deepEqual((await ownersAt(null)).map((o) => o.endpoint), pending.map((o) => o.endpoint), 'what was announced is what applies');

  // sharded-svc-0 disappears without draining: at once, unannounced.
  const lostAt = Date.now();
  pushed.push(createEndpointSet(pods(4).slice(1), 3));
  const lost = (await w.next('change')).data as ChangeEvent;
  assert.ok(Date.now() - lostAt < 300, 'no delay for a pod that is gone');
  assert.deepEqual([lost.generation, lost.planned], [3, false]);
  assert.equal(w.events.filter((e) => e.event === 'prepare').length, 1);
});
