import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { experimental } from '@grpc/grpc-js';
import { pino } from 'pino';
import type { Pick } from '../../../src/balancer/balancer.js';
import { createEndpointSet } from '../../../src/balancer/endpoint.js';
import type { GrpcCallEvent } from '../../../src/client/grpc/call-ledger.js';
import { CallLedger, grpcCallChannel } from '../../../src/client/grpc/call-ledger.js';
import { parseConfig } from '../../../src/config/config.js';
import { createDataPlane } from '../../../src/dataplane/create-data-plane.js';
import type { DataPlane } from '../../../src/dataplane/data-plane.js';

const SPECS = [
  { name: 'pod-0', address: '127.0.0.1:1' },
  { name: 'pod-1', address: '127.0.0.1:2' },
];
/** The ledger hands the subchannel to grpc-js and never calls it. */
const SUBCHANNEL = {} as experimental.SubchannelInterface;

function plane(): DataPlane {
  const p = createDataPlane(parseConfig({ endpoints: SPECS, proxy: { outlier: false } }), { logger: pino({ level: 'silent' }) });
  p.apply(createEndpointSet(SPECS, 1));
  return p;
}

function pickOf(p: DataPlane): Pick {
  const picked = p.balancer.pick(null, null);
  assert.equal(picked.kind, 'ok');
  return picked;
}

function recordEnds(): GrpcCallEvent[] {
  const ends: GrpcCallEvent[] = [];
  const onEnd = (m: unknown): void => {
    ends.push(m as GrpcCallEvent);
  };
  grpcCallChannel.subscribe(onEnd);
  return ends;
}

test('a started call ends its pick once, with its outcome, however often grpc-js reports its end', async (t) => {
  const p = plane();
  t.after(() => p.close());
  const ends = recordEnds();
  const ledger = new CallLedger(p);
  const picked = pickOf(p);
  const call = ledger.start(SUBCHANNEL, picked);
  assert.equal(call.subchannel, SUBCHANNEL);
  call.onCallStarted();
  await nextTurn();
  assert.equal(p.board.totalInflight, 1, 'a started call stays in flight past the sweep');
  call.onCallEnded(status.INTERNAL);
  call.onCallEnded(status.INTERNAL);
  assert.equal(p.board.totalInflight, 0);
  assert.equal(p.board.load(picked.endpoint.name)!.failures, 1, 'one failure sampled');
  assert.deepEqual(
    ends.map((e) => [e.endpoint, e.code, e.outcome]),
    [[picked.endpoint.name, status.INTERNAL, 'http-5xx']],
  );
});

test('a pick not started by the next turn is ended; a call that starts later is counted from its start', async (t) => {
  const p = plane();
  t.after(() => p.close());
  const ledger = new CallLedger(p);
  const never = ledger.start(SUBCHANNEL, pickOf(p));
  const late = ledger.start(SUBCHANNEL, pickOf(p));
  assert.equal(p.board.totalInflight, 2);
  await nextTurn();
  assert.equal(p.board.totalInflight, 0, 'both picks ended by the sweep');
  late.onCallStarted();
  assert.equal(p.board.totalInflight, 1, 'the late call is in flight again');
  late.onCallEnded(status.OK);
  assert.equal(p.board.totalInflight, 0);
  never.onCallEnded(status.CANCELLED);
  assert.equal(p.board.totalInflight, 0, 'an end without a start ends nothing twice');
});

test('a call that starts late, after its endpoint left the set, is not counted', async (t) => {
  const p = plane();
  t.after(() => p.close());
  const ledger = new CallLedger(p);
  const picked = pickOf(p);
  const call = ledger.start(SUBCHANNEL, picked);
  await nextTurn();
  p.apply(createEndpointSet(SPECS.filter((s) => s.name !== picked.endpoint.name), 2));
  call.onCallStarted();
  call.onCallEnded(status.OK);
  assert.equal(p.board.totalInflight, 0);
  assert.equal(p.board.loads[0]!.inflight, 0);
});

test('the pick result of a call that ended serves the next call; one that never started is not reused', async (t) => {
  const p = plane();
  t.after(() => p.close());
  const ledger = new CallLedger(p);
  const first = ledger.start(SUBCHANNEL, pickOf(p));
  first.onCallStarted();
  first.onCallEnded(status.OK);
  const second = ledger.start(SUBCHANNEL, pickOf(p));
  assert.equal(second, first, 'reused');
  await nextTurn();
  assert.equal(p.board.totalInflight, 0, 'the reused result was swept as a new call');
  const third = ledger.start(SUBCHANNEL, pickOf(p));
  assert.notEqual(third, second, 'a swept call may still start: its result is not reused');
  third.onCallStarted();
  third.onCallEnded(status.OK);
  assert.equal(p.board.totalInflight, 0);
});
