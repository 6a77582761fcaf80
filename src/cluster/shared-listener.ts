/**
 * One listening socket for several worker threads, with a descriptor of its own for each; the
 * kernel hands each new connection to whichever thread accepts first.
 *
 * Threads share their process's descriptor table. Were every thread to listen on one descriptor,
 * the first to close its listener would close the socket under the others, and the number would go
 * to the next socket any thread opens while the other threads' event loops still watch it as their
 * listener: that socket's events go to the stale listener and it is never read (a connection made
 * after one of two threads closed such a shared descriptor hangs). So each thread gets a copy: the
 * socket is passed through a child process (fd-copier.ts) and comes back as a new descriptor each
 * time, as SCM_RIGHTS does, since Node has no dup(). A thread closing its listener closes only its
 * copy; the socket stops accepting when the last copy closes.
 *
 * The socket is only bound here. It starts listening when the first worker listens on its copy, so
 * no other thread ever accepts from it.
 *
 * Ownership: copy i belongs to worker thread i from the moment it is handed over, and only that
 * thread closes it (its listener's close, or fs.closeSync when it fails before listening). This
 * thread keeps the handles the copies arrived in and never closes or watches them: closing one
 * would close a descriptor a worker owns or, once the worker has closed it, whatever socket reuses
 * the number. They cost nothing and go with the process.
 */
import { fork } from 'node:child_process';
import type { SendHandle } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { getSystemErrorName } from 'node:util';
import { ShardgateError } from '../errors.js';
import type { HostPort } from '../proxy/address.js';
import { formatHostPort } from '../proxy/address.js';

/** How long the copier process may take; it needs tens of milliseconds. */
const COPY_TIMEOUT_MS = 10_000;

/** Node's TCP handle, as `net._createServerHandle` makes it and a child process sends it back. */
interface TcpHandle {
  readonly fd: number;
  /** Fills `out` with the bound address; a negative errno when the socket is not bound. */
  getsockname(out: { address?: string; port?: number }): number;
  close(): void;
}

/** Node's own (cluster uses it): binds without listening; a negative errno on failure. */
type CreateServerHandle = (address: string, port: number, addressType: 4 | 6) => TcpHandle | number;

export interface SharedListener {
  /** One descriptor per thread, all of the same bound socket. */
  readonly fds: readonly number[];
  /** Where the socket is bound: the port the kernel chose, for port 0. */
  readonly address: { readonly host: string; readonly port: number };
}

/**
 * Binds `address` and makes `count` descriptors of the socket.
 * @throws ShardgateError SG_ERR_LISTEN when the address cannot be resolved or bound, or the copies cannot be made
 */
export async function openSharedListener(address: HostPort, count: number): Promise<SharedListener> {
  const where = formatHostPort(address);
  let ip = address.host;
  let family = net.isIP(ip);
  if (family === 0) {
    try {
      const found = await lookup(address.host);
      ip = found.address;
      family = found.family;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? String(e);
      throw new ShardgateError('SG_ERR_LISTEN', `cannot listen on ${where} (${code}): the host does not resolve; give an IP address or a name this machine resolves`, { cause: e });
    }
  }
  const create = (net as unknown as { _createServerHandle: CreateServerHandle })._createServerHandle;
  const bound = create(ip, address.port, family === 6 ? 6 : 4);
  const refuse = (errno: number): ShardgateError => new ShardgateError('SG_ERR_LISTEN', `cannot listen on ${where} (${getSystemErrorName(errno)}): choose another --listen address or free the port`);
  if (typeof bound === 'number') throw refuse(bound);
  const name: { address?: string; port?: number } = {};
  // libuv reports an address in use when the socket listens, not when it binds; an unbound socket
  // would listen on a port of the kernel's choosing, on every interface. Asking its name shows it.
  const unbound = bound.getsockname(name);
  if (unbound !== 0) {
    bound.close();
    throw refuse(unbound);
  }
  try {
    const copies = await copy(bound, count);
    return { fds: copies.map((h) => h.fd), address: { host: name.address ?? ip, port: name.port ?? address.port } };
  } finally {
    // The copies hold the socket now; this handle was never handed to anyone.
    bound.close();
  }
}

function copy(handle: TcpHandle, count: number): Promise<TcpHandle[]> {
  const child = fork(fileURLToPath(new URL('./fd-copier.js', import.meta.url)), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: [] });
  return new Promise<TcpHandle[]>((resolve, reject) => {
    const copies: TcpHandle[] = [];
    let settled = false;
    const fail = (why: string, cause?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill();
      // Nobody was handed these yet.
      for (const c of copies) c.close();
      reject(new ShardgateError('SG_ERR_LISTEN', `cannot give each worker thread its copy of the listening socket: ${why}; run with --workers 1`, cause === undefined ? undefined : { cause }));
    };
    const timer = setTimeout(() => fail(`the copier process did not answer within ${COPY_TIMEOUT_MS} ms`), COPY_TIMEOUT_MS);
    child.on('error', (e) => fail(e.message, e));
    child.on('exit', (code, signal) => fail(`the copier process ended early (${signal ?? `exit code ${String(code)}`})`));
    child.on('message', (message: { done?: boolean }, received: unknown) => {
      if (received !== undefined) copies.push(received as TcpHandle);
      if (message.done !== true || settled) return;
      if (copies.length !== count) {
        fail(`${copies.length} of ${count} copies came back`);
        return;
      }
      settled = true;
      clearTimeout(timer);
      resolve(copies);
    });
    child.send({ count }, handle as unknown as SendHandle, { keepOpen: true }, (e) => {
      if (e !== null) fail(e.message, e);
    });
  });
}
