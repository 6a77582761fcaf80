/**
 * gRPC clients of the test pods (grpc-pods.ts) through `shardgate:` targets and the shardgate
 * policy, and what the tests read of them: the pod that served a call, the channel's DataPlane (as
 * the resolver publishes it) and the calls' ends (as the policy publishes them).
 */
import diagnostics from 'node:diagnostics_channel';
import * as grpc from '@grpc/grpc-js';
import type { DataPlane } from '../../src/dataplane/data-plane.js';
import type { GrpcCallEvent } from '../../src/client/grpc/call-ledger.js';
import type { GrpcPlaneEvent } from '../../src/client/grpc/shardgate-resolver.js';
import type { SimpleRequest, SimpleResponse, StreamingOutputCallRequest } from './grpc-pods.js';
import { TestService } from './grpc-pods.js';

export type TestClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;
type Callback<T> = (err: grpc.ServiceError | null, value: T) => void;

/** A TestService client of `target`; with `policy`, its service config chooses the shardgate policy with it. */
export function shardgateClient(target: string, policy: Record<string, unknown> | null, options: grpc.ChannelOptions = {}): TestClient {
  const serviceConfig = policy === null ? {} : { 'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ shardgate: policy }] }) };
  return new TestService(target, grpc.credentials.createInsecure(), { ...options, ...serviceConfig }) as TestClient;
}

/** `shardgate:static/pod-0=127.0.0.1:P0,...` */
export function staticTarget(pods: readonly { readonly name: string; readonly port: number }[]): string {
  return `shardgate:static/${pods.map((p) => `${p.name}=127.0.0.1:${p.port}`).join(',')}`;
}

/** Call metadata carrying `key` under `name` (none for a null key). */
export function keyed(key: string | null, name = 'x-tenant'): grpc.Metadata {
  const md = new grpc.Metadata();
  if (key !== null) md.set(name, key);
  return md;
}

/** A UnaryCall; resolves with the name of the pod that answered. */
export function unaryHost(client: TestClient, metadata: grpc.Metadata, options: grpc.CallOptions = {}, request: SimpleRequest = { response_size: 1 }): Promise<string> {
  return new Promise((resolve, reject) => {
    (client.UnaryCall as (r: SimpleRequest, m: grpc.Metadata, o: grpc.CallOptions, cb: Callback<SimpleResponse>) => grpc.ClientUnaryCall)(request, metadata, options, (err, value) => {
      if (err) reject(err);
      else resolve(value.hostname);
    });
  });
}

/** A StreamingOutputCall of `messages` responses; resolves with the pods that sent them. */
export function serverStreamHosts(client: TestClient, metadata: grpc.Metadata, messages: number, intervalUs = 0): Promise<string[]> {
  const request: StreamingOutputCallRequest = { response_parameters: Array.from({ length: messages }, () => ({ size: 1, interval_us: intervalUs })) };
  const call = (client.StreamingOutputCall as (r: StreamingOutputCallRequest, m: grpc.Metadata) => grpc.ClientReadableStream<SimpleResponse>)(request, metadata);
  return collect(call);
}

/** A FullDuplexCall: `messages` requests of one response each, then the end; resolves with the pods that answered. */
export function duplexHosts(client: TestClient, metadata: grpc.Metadata, messages: number): Promise<string[]> {
  const call = (client.FullDuplexCall as (m: grpc.Metadata) => grpc.ClientDuplexStream<StreamingOutputCallRequest, SimpleResponse>)(metadata);
  for (let i = 0; i < messages; i++) call.write({ response_parameters: [{ size: 1, interval_us: 0 }] });
  call.end();
  return collect(call);
}

/** A StreamingInputCall of `messages` requests; resolves with the pod that answered. */
export function clientStreamHost(client: TestClient, metadata: grpc.Metadata, messages: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const call = (client.StreamingInputCall as (m: grpc.Metadata, cb: Callback<{ hostname: string }>) => grpc.ClientWritableStream<{ payload: { body: Buffer } }>)(metadata, (err, value) => {
      if (err) reject(err);
      else resolve(value.hostname);
    });
    for (let i = 0; i < messages; i++) call.write({ payload: { body: Buffer.alloc(8) } });
    call.end();
  });
}

function collect(call: grpc.ClientReadableStream<SimpleResponse>): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const hosts: string[] = [];
    call.on('data', (m: SimpleResponse) => hosts.push(m.hostname));
    call.on('error', reject);
    call.on('end', () => resolve(hosts));
  });
}

/** The plane of the next channel whose source opens (listening stops then). */
export function nextPlane(): Promise<DataPlane> {
  return new Promise((resolve) => {
    const channel = diagnostics.channel('shardgate:grpc:plane');
    const onPlane = (message: unknown): void => {
      channel.unsubscribe(onPlane);
      resolve((message as GrpcPlaneEvent).plane);
    };
    channel.subscribe(onPlane);
  });
}

/** Every call end the policy publishes until `stop()`. */
export function recordCallEnds(): { readonly ends: GrpcCallEvent[]; stop(): void } {
  const ends: GrpcCallEvent[] = [];
  const channel = diagnostics.channel('shardgate:grpc:call');
  const onEnd = (message: unknown): void => {
    ends.push(message as GrpcCallEvent);
  };
  channel.subscribe(onEnd);
  return { ends, stop: () => channel.unsubscribe(onEnd) };
}
