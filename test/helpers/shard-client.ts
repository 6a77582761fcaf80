/**
 * For the client library's tests: a dispatcher over the given services, closed after the test,
 * and the owner its own data plane names for a key (a pick ended at once), which every request
 * for the key must reach.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import type { Endpoint } from '../../src/balancer/endpoint.js';
import { createShardDispatcher } from '../../src/client/create-shard-dispatcher.js';
import type { ShardDispatcherOptions } from '../../src/client/create-shard-dispatcher.js';
import type { ShardDispatcher } from '../../src/client/shard-dispatcher.js';

export const silent = pino({ level: 'silent' });

/** The logical service of the tests: no DNS name, requests reach pods only through the dispatcher. */
export const SERVICE = 'sharded-svc.test:8080';
export const SERVICE_URL = `http://${SERVICE}`;

export async function openDispatcher(t: TestContext, services: ShardDispatcherOptions['services'], extra: Partial<ShardDispatcherOptions> = {}): Promise<ShardDispatcher> {
  const d = await createShardDispatcher({ logger: silent, ...extra, services });
  t.after(() => d.destroy());
  return d;
}

/** The endpoint the service's plane picks for `key` (undefined: no key), leaving out `exclude`. */
export function ownerOf(d: ShardDispatcher, service: string, key: string | undefined, exclude: ReadonlySet<Endpoint> | null = null): string {
  const plane = d.plane(service);
  assert.ok(plane !== undefined, `${service} is managed`);
  const pick = plane.balancer.pick(plane.key(key), exclude);
  assert.ok(pick.kind === 'ok', `${service} has an owner for ${String(key)}`);
  pick.done(plane.clock.nowMs(), 'cancelled');
  return pick.endpoint.name;
}

/** The endpoint object named `name` in the service's current set. */
export function endpointNamed(d: ShardDispatcher, service: string, name: string): Endpoint {
  const e = d.plane(service)?.current?.endpoints.find((x) => x.name === name);
  assert.ok(e !== undefined, `${name} is in ${service}'s set`);
  return e;
}

/** Asserts that no pick of the service is still open: every attempt's done() ran. */
export function assertNothingInFlight(d: ShardDispatcher, service: string): void {
  const board = d.plane(service)!.board;
  assert.deepEqual(
    board.loads.filter((l) => l.inflight !== 0).map((l) => `${l.endpoint.name}: ${l.inflight}`),
    [],
    'every pick was ended exactly once',
  );
}
