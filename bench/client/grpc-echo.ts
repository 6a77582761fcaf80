/**
 * The service the gRPC benchmark calls: one unary method whose messages are raw bytes (no
 * protobuf), so that what is measured is the channel, its policy and HTTP/2, not serialization.
 * Each pod answers with its name.
 */
import * as grpc from '@grpc/grpc-js';

const identity = (b: Buffer): Buffer => b;

export const ECHO_SERVICE: grpc.ServiceDefinition = {
  Call: {
    path: '/shardgate.bench.Echo/Call',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

export const EchoClient = grpc.makeGenericClientConstructor(ECHO_SERVICE, 'Echo');

/** What the pods process sends once every pod listens. */
export interface GrpcPodsReady {
  readonly ports: readonly number[];
}
