/**
 * The gRPC pods of the client benchmark, in a process of their own so that the client's CPU is
 * measured alone:
 *
 *   node grpc-pods-process.js <count>
 *
 * with an IPC channel. Pod i is a grpc-js server on a 127.0.0.1 ephemeral port, named pod-i,
 * answering every call of the echo service (grpc-echo.ts) with its name. Once all listen, the
 * process sends their ports; it ends when the benchmark disconnects.
 */
import * as grpc from '@grpc/grpc-js';
import type { GrpcPodsReady } from './grpc-echo.js';
import { ECHO_SERVICE } from './grpc-echo.js';

async function startPod(name: string): Promise<number> {
  const server = new grpc.Server();
  const answer = Buffer.from(name);
  server.addService(ECHO_SERVICE, {
    Call: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, answer),
  });
  return new Promise((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))));
}

const count = Number(process.argv[2] ?? '4');
if (!Number.isInteger(count) || count < 1) throw new Error(`the pod count is ${JSON.stringify(process.argv[2])}: give a whole number >= 1`);
const ready: GrpcPodsReady = { ports: await Promise.all(Array.from({ length: count }, (_, i) => startPod(`pod-${i}`))) };
process.send?.(ready);
process.on('disconnect', () => process.exit(0));
