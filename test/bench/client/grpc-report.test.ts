import assert from 'node:assert/strict';
import { test } from 'node:test';
import { grpcTable, pickCostTable } from '../../../bench/client/grpc-report.js';

test('the gRPC table: medians of calls/s and CPU per call, and CPU per call beside the first client', () => {
  const table = grpcTable([
    { label: 'grpc-js round_robin', samples: [{ calls: 10_000, seconds: 2, cpuMicros: 1_000_000 }, { calls: 9_000, seconds: 2, cpuMicros: 990_000 }, { calls: 11_000, seconds: 2, cpuMicros: 1_100_000 }] },
    { label: 'shardgate, keyed', samples: [{ calls: 8_000, seconds: 2, cpuMicros: 880_000 }] },
  ]);
  assert.deepEqual(table.split('\n'), [
    '| client              | calls/s | CPU µs/call | CPU/call vs grpc-js round_robin |',
    '|---------------------|--------:|------------:|--------------------------------:|',
    '| grpc-js round_robin |    5000 |       100.0 |                           1.00x |',
    '| shardgate, keyed    |    4000 |       110.0 |                           1.10x |',
  ]);
});

test('the pick cost table: the picker beside its plane alone, per call', () => {
  const cost = (ns: number, bytes: number): { ns: number; bytes: number } => ({ ns, bytes });
  assert.deepEqual(pickCostTable([{ label: 'shardgate, keyed', picker: cost(451.2, 36.32), plane: cost(362.1, 0.04) }]).split('\n'), [
    '| policy           | picker ns/call | picker B/call | plane alone ns | plane alone B |',
    '|------------------|---------------:|--------------:|---------------:|--------------:|',
    '| shardgate, keyed |            451 |          36.3 |            362 |           0.0 |',
  ]);
});
