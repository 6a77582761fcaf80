/**
 * Real gRPC pods (@grpc/grpc-js servers, h2c on 127.0.0.1 ephemeral ports) serving the interop
 * TestService of test/fixtures/grpc/test.proto, each answering with its own name, and a client
 * constructor for it. Always close them (`closeGrpcPods`).
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { EndpointSpec } from '../../src/balancer/endpoint.js';

const PROTO = fileURLToPath(new URL('../../../test/fixtures/grpc/test.proto', import.meta.url));
const definition = protoLoader.loadSync(PROTO, { keepCase: true, longs: Number, defaults: true });
const loaded = grpc.loadPackageDefinition(definition) as unknown as { grpc: { testing: { TestService: grpc.ServiceClientConstructor } } };
export const TestService = loaded.grpc.testing.TestService;

export interface Payload {
  body: Buffer;
}
export interface EchoStatus {
  code: number;
  message: string;
}
export interface ResponseParameters {
  size: number;
  interval_us: number;
}
export interface StreamingOutputCallRequest {
  response_parameters?: ResponseParameters[];
  payload?: Payload;
  response_status?: EchoStatus | null;
}
export interface SimpleRequest {
  response_size?: number;
  payload?: Payload;
  response_status?: EchoStatus | null;
}
export interface SimpleResponse {
  payload: Payload;
  hostname: string;
}

export interface GrpcPod {
  readonly name: string;
  readonly port: number;
  /** `h2c://<host>:<port>`. */
  readonly address: string;
  readonly server: grpc.Server;
  /** Calls received, and calls the client (or the proxy) cancelled. */
  calls: number;
  cancelled: number;
  close(): Promise<void>;
}

const ECHO_INITIAL = 'x-grpc-test-echo-initial';
const ECHO_TRAILING = 'x-grpc-test-echo-trailing-bin';

function echoedMetadata(call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>): grpc.Metadata | null {
  const initial = call.metadata.get(ECHO_INITIAL);
  if (initial.length === 0) return null;
  const md = new grpc.Metadata();
  md.set(ECHO_INITIAL, initial[0]!);
  return md;
}

function trailingMetadata(metadata: grpc.Metadata): grpc.Metadata {
  const md = new grpc.Metadata();
  const trailing = metadata.get(ECHO_TRAILING);
  if (trailing.length > 0) md.set(ECHO_TRAILING, trailing[0]!);
  return md;
}

function statusError(status: EchoStatus, metadata?: grpc.Metadata): Partial<grpc.StatusObject> {
  return { code: status.code, details: status.message, ...(metadata === undefined ? {} : { metadata }) };
}

/** A pod on `host` (a loopback address), on `port` or an ephemeral one. */
export async function startGrpcPod(name: string, host = '127.0.0.1', port = 0): Promise<GrpcPod> {
  const server = new grpc.Server();
  const pod = { name, port: 0, address: '', server, calls: 0, cancelled: 0, close: () => Promise.resolve() } as GrpcPod;
  const track = (call: { on(event: 'cancelled', cb: () => void): unknown }): void => {
    pod.calls++;
    call.on('cancelled', () => pod.cancelled++);
  };
  server.addService(TestService.service, {
    EmptyCall: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      track(call);
      cb(null, {});
    },
    UnaryCall: (call: grpc.ServerUnaryCall<SimpleRequest, SimpleResponse>, cb: grpc.sendUnaryData<SimpleResponse>) => {
      track(call);
      const initial = echoedMetadata(call);
      if (initial !== null) call.sendMetadata(initial);
      const trailer = trailingMetadata(call.metadata);
      const status = call.request.response_status;
      if (status && status.code !== 0) {
        cb(statusError(status, trailer));
        return;
      }
      cb(null, { payload: { body: Buffer.alloc(call.request.response_size ?? 0) }, hostname: name }, trailer);
    },
    StreamingOutputCall: (call: grpc.ServerWritableStream<StreamingOutputCallRequest, unknown>) => {
      track(call);
      void (async () => {
        for (const p of call.request.response_parameters ?? []) {
          if (p.interval_us > 0) await new Promise((r) => setTimeout(r, p.interval_us / 1000));
          if (call.cancelled) return;
          call.write({ payload: { body: Buffer.alloc(p.size) }, hostname: name });
        }
        call.end();
      })();
    },
    StreamingInputCall: (call: grpc.ServerReadableStream<{ payload: Payload }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      track(call);
      let total = 0;
      call.on('data', (m: { payload: Payload }) => (total += m.payload.body.length));
      call.on('end', () => cb(null, { aggregated_payload_size: total, hostname: name }));
      call.on('error', () => undefined);
    },
    FullDuplexCall: (call: grpc.ServerDuplexStream<StreamingOutputCallRequest, unknown>) => {
      track(call);
      const initial = echoedMetadata(call);
      if (initial !== null) call.sendMetadata(initial);
      call.on('data', (m: StreamingOutputCallRequest) => {
        const status = m.response_status;
        if (status && status.code !== 0) {
          call.emit('error', statusError(status));
          return;
        }
        for (const p of m.response_parameters ?? []) call.write({ payload: { body: Buffer.alloc(p.size) }, hostname: name });
      });
      call.on('end', () => call.end(trailingMetadata(call.metadata)));
      call.on('error', () => undefined);
    },
  });
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  Object.assign(pod, {
    port: bound,
    address: `h2c://${host}:${bound}`,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())).then(() => server.forceShutdown()),
  });
  return pod;
}

export async function startGrpcPods(count: number): Promise<GrpcPod[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => startGrpcPod(`pod-${i}`)));
}

export async function closeGrpcPods(pods: readonly GrpcPod[]): Promise<void> {
  for (const p of pods) p.server.forceShutdown();
  await Promise.resolve();
}

export function grpcEndpointSpecs(pods: readonly GrpcPod[]): EndpointSpec[] {
  return pods.map((p) => ({ name: p.name, address: p.address }));
}

/** A TestService client over one HTTP/2 connection to `target` (`127.0.0.1:port`). */
export function testClient(target: string): grpc.Client & Record<string, (...args: unknown[]) => unknown> {
  return new TestService(target, grpc.credentials.createInsecure()) as grpc.Client & Record<string, (...args: unknown[]) => unknown>;
}

export interface GrpcEndpointsFile {
  readonly path: string;
  /** Replaces the file's endpoints with these pods'. */
  write(pods: readonly GrpcPod[]): Promise<void>;
}

/** An endpoints file (`--endpoints-file`, `shardgate:file/PATH`) of `pods`, in a directory removed after the test. */
export async function grpcEndpointsFile(t: TestContext, pods: readonly GrpcPod[]): Promise<GrpcEndpointsFile> {
  const dir = await mkdtemp(join(tmpdir(), 'shardgate-grpc-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'endpoints.yaml');
  const write = (list: readonly GrpcPod[]): Promise<void> => writeFile(path, list.map((p) => `- { name: ${p.name}, address: "${p.address}" }\n`).join(''));
  await write(pods);
  return { path, write };
}
