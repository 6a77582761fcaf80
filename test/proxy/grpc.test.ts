/**
 * gRPC through the proxy, end to end: @grpc/grpc-js clients -> shardgate (h2c) -> @grpc/grpc-js
 * pods (h2c:// endpoints), over the cases of gRPC's interop suite that a proxy can break.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { GrpcPod, SimpleRequest, SimpleResponse, StreamingOutputCallRequest } from '../helpers/grpc-pods.js';
import { closeGrpcPods, grpcEndpointSpecs, startGrpcPod, startGrpcPods, testClient } from '../helpers/grpc-pods.js';
import type { Harness, HarnessOptions } from './harness.js';
import { assertNoInflight, startProxy, waitFor } from './harness.js';

type Client = ReturnType<typeof testClient>;
type Callback<T> = (err: grpc.ServiceError | null, value: T) => void;

function unary<Req, Res>(client: Client, method: string, request: Req, metadata = new grpc.Metadata(), options: grpc.CallOptions = {}): Promise<{ value: Res; initial: grpc.Metadata | null; trailing: grpc.Metadata | null }> {
  return new Promise((resolve, reject) => {
    let initial: grpc.Metadata | null = null;
    let trailing: grpc.Metadata | null = null;
    const call = (client[method] as (r: Req, m: grpc.Metadata, o: grpc.CallOptions, cb: Callback<Res>) => grpc.ClientUnaryCall)(request, metadata, options, (err, value) => {
      if (err) reject(err);
      else setImmediate(() => resolve({ value, initial, trailing }));
    });
    call.on('metadata', (md: grpc.Metadata) => (initial = md));
    call.on('status', (s: grpc.StatusObject) => (trailing = s.metadata));
  });
}

function failure(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  return promise.then(
    () => assert.fail('the call succeeded'),
    (err: unknown) => err as grpc.ServiceError,
  );
}

async function withGrpc(pods: readonly GrpcPod[], options: HarnessOptions, run: (client: Client, h: Harness) => Promise<void>): Promise<void> {
  const h = await startProxy({ endpoints: grpcEndpointSpecs(pods), ...options });
  const client = testClient(`127.0.0.1:${h.port}`);
  try {
    await run(client, h);
  } finally {
    client.close();
    await h.stop();
    await closeGrpcPods(pods);
  }
}

test('gRPC empty_unary and large_unary; one channel, every call balanced on its own', async () => {
  const pods = await startGrpcPods(4);
  await withGrpc(pods, { algorithm: 'round-robin', keySource: null }, async (client, h) => {
    const empty = await unary<object, object>(client, 'EmptyCall', {});
    assert.deepEqual(empty.value, {});
    const large = await unary<SimpleRequest, SimpleResponse>(client, 'UnaryCall', { response_size: 314159, payload: { body: Buffer.alloc(271828) } });
    assert.equal(large.value.payload.body.length, 314159);
    for (let i = 0; i < 38; i++) await unary<SimpleRequest, SimpleResponse>(client, 'UnaryCall', { response_size: 1 });
    assert.deepEqual(
      pods.map((p) => p.calls),
      [10, 10, 10, 10],
      'one HTTP/2 connection from the client, 40 calls spread evenly',
    );
    await assertNoInflight(h);
  });
});

test('gRPC: the key from call metadata sends every call for it to its owner', async () => {
  const pods = await startGrpcPods(4);
  await withGrpc(pods, { algorithm: 'ring-hash', keySource: 'grpc:x-account' }, async (client) => {
    const owners = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const md = new grpc.Metadata();
      md.set('x-account', 'account-42');
      owners.add((await unary<SimpleRequest, SimpleResponse>(client, 'UnaryCall', { response_size: 1 }, md)).value.hostname);
    }
    assert.equal(owners.size, 1);
    const others = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const md = new grpc.Metadata();
      md.set('x-account', `account-${i}`);
      others.add((await unary<SimpleRequest, SimpleResponse>(client, 'UnaryCall', { response_size: 1 }, md)).value.hostname);
    }
    assert.ok(others.size >= 3, 'different keys reach different pods');
  });
});

test('gRPC client_streaming, server_streaming and ping_pong', async () => {
  const pods = await startGrpcPods(2);
  await withGrpc(pods, { algorithm: 'round-robin', keySource: null }, async (client) => {
    // client_streaming: 27182 + 8 + 1828 + 45904 = 74922.
    const aggregated = await new Promise<number>((resolve, reject) => {
      const call = (client.StreamingInputCall as (cb: Callback<{ aggregated_payload_size: number }>) => grpc.ClientWritableStream<unknown>)((err, v) => (err ? reject(err) : resolve(v.aggregated_payload_size)));
      for (const size of [27182, 8, 1828, 45904]) call.write({ payload: { body: Buffer.alloc(size) } });
      call.end();
    });
    assert.equal(aggregated, 74922);
    // server_streaming: 31415, 9, 2653, 58979.
    const sizes = await new Promise<number[]>((resolve, reject) => {
      const call = (client.StreamingOutputCall as (r: StreamingOutputCallRequest) => grpc.ClientReadableStream<{ payload: { body: Buffer } }>)({
        response_parameters: [31415, 9, 2653, 58979].map((size) => ({ size, interval_us: 0 })),
      });
      const got: number[] = [];
      call.on('data', (m: { payload: { body: Buffer } }) => got.push(m.payload.body.length));
      call.on('end', () => resolve(got));
      call.on('error', reject);
    });
    assert.deepEqual(sizes, [31415, 9, 2653, 58979]);
    // ping_pong: each request answered before the next is sent.
    const pongs = await new Promise<number[]>((resolve, reject) => {
      const call = (client.FullDuplexCall as () => grpc.ClientDuplexStream<StreamingOutputCallRequest, { payload: { body: Buffer } }>)();
      const requests = [[31415, 27182], [9, 8], [2653, 1828], [58979, 45904]] as const;
      const got: number[] = [];
      let i = 0;
      const next = (): void => {
        const r = requests[i++];
        if (r === undefined) {
          call.end();
          return;
        }
        call.write({ response_parameters: [{ size: r[0], interval_us: 0 }], payload: { body: Buffer.alloc(r[1]) } });
      };
      call.on('data', (m: { payload: { body: Buffer } }) => {
        got.push(m.payload.body.length);
        next();
      });
      call.on('end', () => resolve(got));
      call.on('error', reject);
      next();
    });
    assert.deepEqual(pongs, [31415, 9, 2653, 58979]);
  });
});

test('gRPC custom_metadata: initial and binary trailing metadata pass both ways', async () => {
  const pods = await startGrpcPods(1);
  await withGrpc(pods, { algorithm: 'round-robin', keySource: null }, async (client) => {
    const md = new grpc.Metadata();
    md.set('x-grpc-test-echo-initial', 'test_initial_metadata_value');
    md.set('x-grpc-test-echo-trailing-bin', Buffer.from([0xab, 0xab, 0xab]));
    const r = await unary<SimpleRequest, SimpleResponse>(client, 'UnaryCall', { response_size: 314159, payload: { body: Buffer.alloc(271828) } }, md);
    assert.deepEqual(r.initial?.get('x-grpc-test-echo-initial'), ['test_initial_metadata_value']);
    assert.deepEqual(r.trailing?.get('x-grpc-test-echo-trailing-bin'), [Buffer.from([0xab, 0xab, 0xab])]);
  });
});

test('gRPC status_code_and_message and unimplemented_method reach the client as the pod sent them', async () => {
  const pods = await startGrpcPods(1);
  await withGrpc(pods, { algorithm: 'round-robin', keySource: null }, async (client) => {
    const message = 'test status message';
    const err = await failure(unary(client, 'UnaryCall', { response_status: { code: 2, message } }));
    assert.equal(err.code, grpc.status.UNKNOWN);
    assert.equal(err.details, message);
    const duplex = await new Promise<grpc.ServiceError>((resolve) => {
      const call = (client.FullDuplexCall as () => grpc.ClientDuplexStream<StreamingOutputCallRequest, unknown>)();
      call.on('data', () => undefined);
      call.on('error', (e: grpc.ServiceError) => resolve(e));
      call.write({ response_status: { code: 2, message } });
    });
    assert.equal(duplex.code, grpc.status.UNKNOWN);
    assert.equal(duplex.details, message);
    const unimplemented = await failure(unary(client, 'UnimplementedCall', {}));
    assert.equal(unimplemented.code, grpc.status.UNIMPLEMENTED);
  });
});

test('gRPC cancel_after_begin and cancel_after_first_response: the client gets CANCELLED and the pod sees the cancel', async () => {
  const pods = await startGrpcPods(1);
  await withGrpc(pods, { algorithm: 'round-robin', keySource: null }, async (client, h) => {
    const afterBegin = await new Promise<grpc.ServiceError>((resolve) => {
      const call = (client.StreamingInputCall as (cb: Callback<unknown>) => grpc.ClientWritableStream<unknown>)((err) => resolve(err!));
      call.write({ payload: { body: Buffer.alloc(27182) } });
      setTimeout(() => call.cancel(), 50);
    });
    assert.equal(afterBegin.code, grpc.status.CANCELLED);
    const afterFirst = await new Promise<grpc.ServiceError>((resolve) => {
      const call = (client.FullDuplexCall as () => grpc.ClientDuplexStream<StreamingOutputCallRequest, unknown>)();
      call.on('data', () => call.cancel());
      call.on('error', (e: grpc.ServiceError) => resolve(e));
      call.write({ response_parameters: [{ size: 31415, interval_us: 0 }], payload: { body: Buffer.alloc(27182) } });
    });
    assert.equal(afterFirst.code, grpc.status.CANCELLED);
    await waitFor(() => pods[0]!.cancelled === 2, 'the pod to see both cancels');
    await assertNoInflight(h);
  });
});

test('gRPC timeout_on_sleeping_server: DEADLINE_EXCEEDED, and the proxy enforces grpc-timeout itself', async () => {
  const pods = [await startGrpcPod('pod-0')];
  await withGrpc(pods, { algorithm: 'round-robin', keySource: null }, async (client, h) => {
    const err = await new Promise<grpc.ServiceError>((resolve) => {
      const call = (client.FullDuplexCall as (md: grpc.Metadata, o: grpc.CallOptions) => grpc.ClientDuplexStream<StreamingOutputCallRequest, unknown>)(new grpc.Metadata(), { deadline: Date.now() + 50 });
      call.on('data', () => undefined);
      call.on('error', (e: grpc.ServiceError) => resolve(e));
      call.write({ payload: { body: Buffer.alloc(27182) } });
    });
    assert.equal(err.code, grpc.status.DEADLINE_EXCEEDED);
    // A raw HTTP/2 client that does not enforce its own deadline: the proxy answers status 4 as a
    // Trailers-Only response (one HEADERS frame that ends the stream) and cancels the pod's call.
    const session = http2.connect(`http://127.0.0.1:${h.port}`);
    try {
      const result = await new Promise<{ status: unknown; endStream: boolean }>((resolve, reject) => {
        const stream = session.request({ ':method': 'POST', ':path': '/grpc.testing.TestService/FullDuplexCall', 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '80m' }, { endStream: false });
        stream.on('response', (hd, flags) => resolve({ status: hd['grpc-status'], endStream: (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0 }));
        stream.on('error', reject);
        stream.resume();
      });
      assert.deepEqual(result, { status: String(grpc.status.DEADLINE_EXCEEDED), endStream: true });
      await waitFor(() => pods[0]!.cancelled >= 2, 'the pod to see the proxy cancel its call');
    } finally {
      session.close();
    }
    await assertNoInflight(h);
  });
});

test('gRPC: when no endpoint can serve, the client gets UNAVAILABLE, not an HTTP error page', async () => {
  const pods = await startGrpcPods(1);
  const dead = pods[0]!;
  const spec = grpcEndpointSpecs(pods);
  dead.server.forceShutdown();
  const h = await startProxy({ endpoints: spec, algorithm: 'round-robin', keySource: null });
  const client = testClient(`127.0.0.1:${h.port}`);
  try {
    const err = await failure(unary(client, 'EmptyCall', {}));
    assert.equal(err.code, grpc.status.UNAVAILABLE);
    assert.match(err.details, /could not be reached/);
    await assertNoInflight(h);
  } finally {
    client.close();
    await h.stop();
  }
});
