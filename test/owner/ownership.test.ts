/**
 * The pod-side helper, imported as a package user imports it (`shardgate/owner`): over a watched
 * endpoints file it agrees with the directory and the balancer on every owner, tells the pod
 * which of its keys it lost and to whom (and which it gained) on each change, and, with a planned
 * hand-off delay, before the change applies.
 */
import assert from 'node:assert/strict';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import type { OwnershipChange } from 'shardgate/owner';
import { watchOwnership } from 'shardgate/owner';
import * as root from 'shardgate';
import type { EndpointSpec } from '../../src/balancer/endpoint.js';
import { createEndpointSet } from '../../src/balancer/endpoint.js';
import { parseConfig } from '../../src/config/config.js';
import { createLookupPlane } from '../../src/directory/lookup-plane.js';
import { Directory } from '../../src/directory/directory.js';
import { ConfigError } from '../../src/errors.js';
import { tempDir } from '../cli/run.js';
import { expectedOwners } from '../helpers/key-owners.js';
import { until } from '../helpers/until.js';

const pods = (n: number, extra: (i: number) => Partial<EndpointSpec> = () => ({})): EndpointSpec[] => Array.from({ length: n }, (_, i) => ({ name: `sharded-svc-${i}`, address: `10.0.0.${i}:8080`, ...extra(i) }));
const keys = Array.from({ length: 600 }, (_, i) => `acct-${i}`);

/** Replaces the file whole, as an editor or a ConfigMap update does. */
async function writeEndpoints(path: string, specs: readonly EndpointSpec[]): Promise<void> {
  await writeFile(`${path}.tmp`, JSON.stringify(specs));
  await rename(`${path}.tmp`, path);
}

async function endpointsFile(t: TestContext, specs: readonly EndpointSpec[]): Promise<string> {
  const path = join(await tempDir(t), 'endpoints.json');
  await writeEndpoints(path, specs);
  return path;
}

test('owner: the package entries resolve, with the helper in both', () => {
  assert.equal(typeof watchOwnership, 'function');
  assert.equal(root.watchOwnership, watchOwnership);
});

test('owner: owns and owner agree with the balancer and the directory; a change tells the pod what it lost and to whom, and what it gained', async (t) => {
  const path = await endpointsFile(t, pods(4));
  const doc = { endpointsFile: path, balancer: { algorithm: 'ring-hash' }, key: 'header:x-account' };
  const ownership = await watchOwnership({ self: 'sharded-svc-1', config: doc });
  t.after(() => ownership.close());
  const config = parseConfig(doc);
  const expected = expectedOwners(config.balancer, pods(4), keys);
  const plane = createLookupPlane(config, pino({ level: 'silent' }));
  plane.apply(createEndpointSet(pods(4), 1));
  const directory = new Directory({ plane, config });
  t.after(() => directory.close());
  for (const key of keys) {
    const owner = ownership.owner(key);
    assert.equal(owner?.endpoint, expected.get(key), key);
    assert.equal(owner?.endpoint, (directory.owner(key, { count: 1 }) as { endpoint: string }).endpoint);
    assert.equal(ownership.owns(key), expected.get(key) === 'sharded-svc-1');
  }
  assert.equal(ownership.current.generation, 1);
  assert.deepEqual(ownership.current.members.map((m) => [m.endpoint, m.ordinal]), [0, 1, 2, 3].map((i) => [`sharded-svc-${i}`, i]));
  const held = keys.filter((k) => ownership.owns(k));
  assert.ok(held.length > 50);

  const changes: OwnershipChange[] = [];
  ownership.onChange((c) => changes.push(c));
  // A fifth pod joins: it takes some of this pod's keys.
  await writeEndpoints(path, pods(5));
  await until('the change is heard', () => changes.length === 1, 10_000);
  const joined = changes[0]!;
  assert.deepEqual([joined.previous.generation, joined.current.generation, joined.planned, joined.effectiveAtMs], [1, 2, false, null]);
  const after = expectedOwners(config.balancer, pods(5), keys);
  const lost = joined.lost(held);
  assert.deepEqual(lost.map((h) => h.key), held.filter((k) => after.get(k) !== 'sharded-svc-1'));
  assert.ok(lost.length > 0);
  for (const h of lost) assert.deepEqual([h.to?.endpoint, h.to?.address, h.to?.ordinal], ['sharded-svc-4', '10.0.0.4:8080', 4], 'only the new pod takes keys');
  assert.deepEqual(joined.gained(keys), []);
  assert.equal(joined.previous.owns(lost[0]!.key), true, 'the previous generation still answers');
  assert.equal(ownership.owns(lost[0]!.key), false);

  // sharded-svc-0 leaves: this pod gains some of its keys.
  await writeEndpoints(path, pods(5).filter((p) => p.name !== 'sharded-svc-0'));
  await until('the second change is heard', () => changes.length === 2, 10_000);
  const final = expectedOwners(config.balancer, pods(5).filter((p) => p.name !== 'sharded-svc-0'), keys);
  assert.deepEqual(changes[1]!.gained(keys), keys.filter((k) => after.get(k) !== 'sharded-svc-1' && final.get(k) === 'sharded-svc-1'));
  assert.ok(changes[1]!.gained(keys).length > 0);
  assert.deepEqual(changes[1]!.lost(keys), []);
});

test('owner: with a planned hand-off delay, marking this pod terminating is announced first (onPrepare: every key it holds, and where each goes), then applied', async (t) => {
  const path = await endpointsFile(t, pods(3));
  const ownership = await watchOwnership({ self: 'sharded-svc-2', config: { endpointsFile: path, balancer: { algorithm: 'maglev' }, key: 'header:x-account', handoffDelayMs: 400 } });
  t.after(() => ownership.close());
  const held = keys.filter((k) => ownership.owns(k));
  const prepared: OwnershipChange[] = [];
  const applied: OwnershipChange[] = [];
  ownership.onPrepare((c) => prepared.push(c));
  ownership.onChange((c) => applied.push(c));
  const marked = Date.now();
  await writeEndpoints(path, pods(3, (i) => (i === 2 ? { draining: true } : {})));
  await until('the announcement', () => prepared.length === 1, 10_000);
  const p = prepared[0]!;
  assert.equal(p.planned, true);
  assert.ok(p.effectiveAtMs !== null && p.effectiveAtMs >= marked + 390);
  assert.equal(p.current.generation, 2);
  const handoffs = p.lost(held);
  assert.deepEqual(handoffs.map((h) => h.key), held, 'a pod leaving loses every key');
  assert.ok(handoffs.every((h) => h.to !== null && h.to.endpoint !== 'sharded-svc-2'));
  // Not yet: the routers still send these keys here.
  assert.equal(applied.length, 0);
  assert.ok(held.every((k) => ownership.owns(k)));
  await until('the change applies', () => applied.length === 1, 10_000);
  assert.ok(Date.now() >= p.effectiveAtMs - 50);
  assert.deepEqual([applied[0]!.planned, applied[0]!.current.generation, applied[0]!.current.membership], [true, 2, p.current.membership]);
  assert.ok(held.every((k) => !ownership.owns(k)));
});

test('owner: a keyless balancer or no pod name is refused, naming the field', async () => {
  await assert.rejects(watchOwnership({ self: 'a', config: { endpoints: pods(1), balancer: { algorithm: 'p2c' } } }), (e: unknown) => e instanceof ConfigError && /balancer\.algorithm: is p2c, which routes no key/.test(e.message));
  await assert.rejects(watchOwnership({ self: '', config: { endpoints: pods(1), balancer: { algorithm: 'jump' }, key: 'header:x' } }), (e: unknown) => e instanceof ConfigError && e.field === 'self');
  await assert.rejects(watchOwnership({ self: 'a', config: { endpoints: pods(1), balancer: { algorithm: 'jump' }, key: 'nope:x' } }), ConfigError);
});
