/**
 * The client of the idle-connections test, in a process of its own (it holds thousands of
 * sockets): `node idle-client-process.js <port> <count>`, with an IPC channel. It opens `count`
 * keep-alive connections to 127.0.0.1:port, a bounded number at a time so that no listen backlog
 * overflows, sends one request on each and reads its answer, then keeps them all open and idle.
 * It reports `open` over IPC, and closes them all on `close`.
 */
import net from 'node:net';
import type { IdleCommand, IdleReply } from './idle-messages.js';

/** Connections being opened at once. */
const PARALLEL = 200;
const REQUEST = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nx-key: idle\r\n\r\n';

const port = Number(process.argv[2]);
const count = Number(process.argv[3]);
if (!Number.isInteger(port) || !Number.isInteger(count) || count < 1) {
  throw new Error(`usage: idle-client-process <port> <count>; got ${process.argv.slice(2).join(' ')}`);
}
if (process.send === undefined) throw new Error('idle-client-process: start it with an IPC channel');
const send = (m: IdleReply): void => {
  process.send!(m);
};

const sockets: net.Socket[] = [];
let failed = 0;
/** Idle connections the proxy closed before the end. */
let dropped = 0;
let closing = false;
let firstError: string | null = null;

/** Opens one connection and resolves once the answer's head has arrived (the body is tiny). */
function openOne(): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let answered = false;
    let settled = false;
    let head = '';
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      failed++;
      firstError ??= why;
      socket.destroy();
      resolve();
    };
    socket.once('connect', () => socket.write(REQUEST));
    socket.on('data', (chunk: Buffer) => {
      if (answered) return;
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      answered = true;
      if (!head.startsWith('HTTP/1.1 200')) return fail(`answer: ${head.split('\r\n')[0]}`);
      settled = true;
      sockets.push(socket);
      resolve();
    });
    socket.on('error', (e) => {
      if (!answered) fail(e.message);
      else process.stderr.write(`idle connection error: ${e.message}\n`);
    });
    socket.on('close', () => {
      if (!answered) fail('closed before an answer');
      else if (!closing) dropped++;
    });
  });
}

let started = 0;
async function lane(): Promise<void> {
  while (started < count) {
    started++;
    await openOne();
  }
}
await Promise.all(Array.from({ length: Math.min(PARALLEL, count) }, lane));
send({ type: 'open', open: sockets.length, failed, firstError });

process.on('message', (m: IdleCommand) => {
  if (m.type !== 'close') throw new Error(`idle-client-process: unknown command ${JSON.stringify(m)}`);
  closing = true;
  for (const s of sockets) s.destroy();
  send({ type: 'closed', dropped });
  process.disconnect();
});
