import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { openSharedListener } from '../../src/cluster/shared-listener.js';
import { ShardgateError } from '../../src/errors.js';

/** A server on one descriptor that answers every connection with its name. */
async function serveOn(fd: number, name: string): Promise<net.Server> {
  const server = net.createServer((socket) => socket.end(name));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ fd }, () => resolve());
  });
  return server;
}

/** What a new connection to `port` reads, or its error code. */
function hit(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.on('end', () => resolve(text));
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

const close = (server: net.Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

test('shared listener: each copy is a descriptor of its own; closing one leaves the others accepting, and the last one closes the socket', async () => {
  const listener = await openSharedListener({ host: '127.0.0.1', port: 0 }, 2);
  assert.equal(listener.fds.length, 2);
  assert.notEqual(listener.fds[0], listener.fds[1], 'one descriptor per listener');
  assert.equal(listener.address.host, '127.0.0.1');
  assert.ok(listener.address.port > 0, 'the kernel chose a port');
  const a = await serveOn(listener.fds[0]!, 'a');
  const b = await serveOn(listener.fds[1]!, 'b');
  assert.equal((a.address() as net.AddressInfo).port, listener.address.port);
  const seen = new Set<string>();
  for (let i = 0; i < 20; i++) seen.add(await hit(listener.address.port));
  assert.ok([...seen].every((s) => s === 'a' || s === 'b'), [...seen].join(', '));
  await close(a);
  // A's number is free now and the next sockets may take it; with a descriptor of its own, B's
  // listener is not watching that number, so they work.
  for (let i = 0; i < 5; i++) assert.equal(await hit(listener.address.port), 'b');
  await close(b);
  assert.equal(await hit(listener.address.port), 'ECONNREFUSED', 'no copy left, no listener');
});

test('shared listener: an address in use is refused at once, naming it, rather than listening elsewhere', async () => {
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const port = (taken.address() as net.AddressInfo).port;
  try {
    await assert.rejects(openSharedListener({ host: '127.0.0.1', port }, 2), (e: unknown) => e instanceof ShardgateError && e.code === 'SG_ERR_LISTEN' && e.message.includes(`127.0.0.1:${port} (EADDRINUSE)`));
  } finally {
    await close(taken);
  }
});
