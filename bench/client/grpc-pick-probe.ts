/**
 * The shardgate policy's picker alone, for the gRPC section: time and bytes allocated per call
 * from pick to end (pick, onCallStarted, onCallEnded), over a DataPlane of 4 endpoints whose
 * subchannels are all READY; beside it, the same plane's own work for a request as the proxy does
 * it (key, pick, done, observe), so that what the gRPC layer adds shows. Run as
 *
 *   node --expose-gc --max-semi-space-size=64 grpc-pick-probe.js
 *
 * (a large young generation, so that no scavenge falls inside a probe); prints one JSON line of
 * GrpcPickCost. Each probe runs three times and the least is kept: the first pays for compiling.
 */
import { performance } from 'node:perf_hooks';
import { connectivityState, Metadata } from '@grpc/grpc-js';
import type { experimental } from '@grpc/grpc-js';
import { pino } from 'pino';
import { createEndpointSet } from '../../src/balancer/endpoint.js';
import { CallLedger } from '../../src/client/grpc/call-ledger.js';
import type { PolicyEndpoints } from '../../src/client/grpc/shardgate-picker.js';
import { ShardgatePicker } from '../../src/client/grpc/shardgate-picker.js';
import { parseConfig } from '../../src/config/config.js';
import { createDataPlane } from '../../src/dataplane/create-data-plane.js';
import type { Cost, GrpcPickCost } from './grpc-report.js';


const CALLS = 200_000;
const SPECS = [0, 1, 2, 3].map((i) => ({ name: `pod-${i}`, address: `127.0.0.1:${50_000 + i}` }));

function probe(label: string, document: Record<string, unknown>): GrpcPickCost {
  const plane = createDataPlane(parseConfig({ ...document, endpoints: SPECS }), { logger: pino({ level: 'silent' }) });
  plane.apply(createEndpointSet(SPECS, 1));
  // The picker reads only these of a policy's endpoints; the subchannel is handed on, never called.
  const endpoints = SPECS.map((s) => ({ name: s.name, state: connectivityState.READY, failing: false, subchannel: {} as experimental.SubchannelInterface, connect: () => undefined }));
  const policy = { endpoints, connecting: 0 } as unknown as PolicyEndpoints;
  const shardgatePicker = new ShardgatePicker(plane, policy, new CallLedger(plane));
  const args = Array.from({ length: 1_000 }, (_, i) => {
    const metadata = new Metadata();
    metadata.set('x-tenant', `tenant-${i}`);
    return { metadata, extraPickInfo: {} };
  });
  const trailers = new Metadata();
  const name = plane.keySource?.header ?? null;
  const picker = leastOf3(() => {
    for (let i = 0; i < CALLS; i++) {
      const result = shardgatePicker.pick(args[i % args.length]!);
      result.onCallStarted?.();
      result.onCallEnded?.(0, '', trailers);
    }
  });
  const planeAlone = leastOf3(() => {
    for (let i = 0; i < CALLS; i++) {
      const metadata = args[i % args.length]!.metadata;
      const value = name === null ? undefined : metadata.get(name)[0];
      const p = plane.balancer.pick(plane.key(typeof value === 'string' ? value : null), null);
      if (p.kind !== 'ok') continue;
      const started = plane.clock.nowMs();
      p.done(started, 'ok');
      plane.observe(p.endpoint.name, 'ok', 200);
    }
  });
  void plane.close();
  return { label, picker, plane: planeAlone };
}

/** The least time and allocation of three runs of CALLS calls. */
function leastOf3(run: () => void): Cost {
  const gc = globalThis.gc as () => void;
  let best: Cost = { ns: Infinity, bytes: Infinity };
  for (let i = 0; i < 3; i++) {
    gc();
    const heap = process.memoryUsage().heapUsed;
    const started = performance.now();
    run();
    const ns = ((performance.now() - started) * 1e6) / CALLS;
    const bytes = (process.memoryUsage().heapUsed - heap) / CALLS;
    best = { ns: Math.min(best.ns, ns), bytes: Math.min(best.bytes, bytes) };
  }
  return best;
}

if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc');
const costs: GrpcPickCost[] = [probe('shardgate, keyless (p2c)', {}), probe('shardgate, keyed (ring-hash)', { key: 'grpc:x-tenant', balancer: { algorithm: 'ring-hash' } })];
process.stdout.write(`${JSON.stringify(costs)}\n`);
