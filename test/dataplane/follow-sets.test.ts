/**
 * followSets decides, once for every front, what a set from discovery does: the first one starts
 * (or refuses) the start, later refusals keep the previous set, and all of it is logged.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { createEndpointSet } from '../../src/balancer/endpoint.js';
import type { EndpointSet } from '../../src/balancer/endpoint.js';
import { followSets } from '../../src/dataplane/follow-sets.js';
import { DiscoveryError } from '../../src/discovery/endpoint-source.js';
import type { EndpointSource, SourceStatus } from '../../src/discovery/endpoint-source.js';

/** A source the test drives: `push` and `fail` deliver on a later turn, as every source does. */
class DrivenSource implements EndpointSource {
  onSet: ((set: EndpointSet) => void) | null = null;
  onError: ((e: DiscoveryError) => void) | null = null;
  unsubscribed = 0;
  subscribe(onSet: (set: EndpointSet) => void, onError: (e: DiscoveryError) => void): () => void {
    this.onSet = onSet;
    this.onError = onError;
    return () => {
      this.unsubscribed++;
      this.onSet = null;
    };
  }
  status(): SourceStatus {
    return { state: 'synced', error: null };
  }
  async push(set: EndpointSet): Promise<void> {
    await new Promise((r) => setImmediate(r));
    this.onSet?.(set);
  }
}

function logged(): { logger: pino.Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _e, cb): void {
      lines.push(JSON.parse(chunk.toString('utf8')) as { level: number; msg: string });
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

const set = (version: number, names: string[]): EndpointSet => createEndpointSet(names.map((n, i) => ({ name: n, address: `127.0.0.1:${9000 + i}` })), version);

test('followSets: the first accepted set settles `first`; a later refused set is logged and the previous one stays', async () => {
  const source = new DrivenSource();
  const { logger, lines } = logged();
  const accepted: number[] = [];
  const f = followSets(source, (s) => {
    if (s.endpoints.some((e) => e.name === 'bad')) throw new Error('bad is not welcome');
    accepted.push(s.version);
  }, { logger });
  await source.push(set(1, ['pod-0']));
  await f.first;
  await source.push(set(2, ['pod-0', 'bad']));
  await source.push(set(3, ['pod-0', 'pod-1']));
  assert.deepEqual(accepted, [1, 3]);
  assert.deepEqual(lines.map((l) => l.msg), ['endpoints', 'endpoint set refused; the previous set keeps serving', 'endpoints']);
  source.onError?.(new DiscoveryError('k8s:ns/svc', 'the API server is away'));
  assert.equal(lines.at(-1)?.msg, 'the API server is away');
  f.unsubscribe();
  f.unsubscribe();
  assert.equal(source.unsubscribed, 1);
});

test('followSets: a refused first set rejects `first` and ends the subscription', async () => {
  const source = new DrivenSource();
  const { logger } = logged();
  const f = followSets(source, () => {
    throw new Error('maglev table too small');
  }, { logger });
  await source.push(set(1, ['pod-0']));
  await assert.rejects(f.first, /maglev table too small/);
  assert.equal(source.unsubscribed, 1);
});
