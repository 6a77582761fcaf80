/**
 * A pod that speaks HTTP/1.1 and gRPC on one port, as a real pod serves both behind one Service
 * port: every HTTP request and every call to ECHO_METHOD is answered with the pod's name. The
 * first bytes of a connection choose: the HTTP/2 preface goes to a real grpc-js server (over a
 * loopback pipe, since an HTTP/2 session cannot start on a socket whose bytes were already read),
 * anything else to a node:http server.
 */
import * as grpc from '@grpc/grpc-js';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export const ECHO_METHOD = '/agreement.Echo/Call';

const identity = (b: Buffer): Buffer => b;

/** The one-method service, bytes in and out, for servers and clients alike. */
export const ECHO_SERVICE = {
  Call: { path: ECHO_METHOD, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
} satisfies grpc.ServiceDefinition;

export interface DualPod {
  readonly name: string;
  /** `127.0.0.1:PORT`, for HTTP/1.1 and gRPC alike. */
  readonly address: string;
  close(): Promise<void>;
}

const PREFACE = Buffer.from('PRI * HTTP/2.0');

export async function startDualPod(name: string): Promise<DualPod> {
  const web = http.createServer((_req, res) => res.end(name));
  const rpc = new grpc.Server();
  rpc.addService(ECHO_SERVICE, { Call: (_call: unknown, reply: grpc.sendUnaryData<Buffer>) => reply(null, Buffer.from(name)) });
  const rpcPort = await new Promise<number>((resolve, reject) => {
    rpc.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, port) => (e === null ? resolve(port) : reject(e)));
  });
  const sockets = new Set<net.Socket>();
  const front = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.once('data', (first: Buffer) => {
      if (first.subarray(0, PREFACE.length).equals(PREFACE)) {
        const inner = net.connect(rpcPort, '127.0.0.1');
        sockets.add(inner);
        inner.on('close', () => sockets.delete(inner));
        inner.write(first);
        socket.pipe(inner).pipe(socket);
        inner.on('error', () => socket.destroy());
        socket.on('error', () => inner.destroy());
        return;
      }
      socket.pause();
      socket.unshift(first);
      web.emit('connection', socket);
      socket.resume();
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  return {
    name,
    address: `127.0.0.1:${(front.address() as AddressInfo).port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      web.closeAllConnections();
      await new Promise<void>((resolve) => front.close(() => resolve()));
      rpc.forceShutdown();
    },
  };
}
