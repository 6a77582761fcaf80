/**
 * Listening on a preferred port, or an ephemeral one when it is taken: the demo's fixed ports are
 * a convenience for the reader's curl lines, and another program on 8080 must not stop the demo.
 */
import { errorCode } from '../errors.js';

export interface Bound<T> {
  readonly server: T;
  readonly port: number;
  /** The port asked for was taken, and `port` is an ephemeral one instead. */
  readonly fellBack: boolean;
}

/** A server that listens once, as ShardingProxy and AdminServer do. */
export interface Listenable {
  listen(port: number, host: string): Promise<{ port: number }>;
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1:port with a server from `make`; when the port is in use, closes that one
 * and listens on an ephemeral port with a fresh one (a server that could not bind never served).
 */
export async function listenPreferred<T extends Listenable>(port: number, make: () => T | Promise<T>): Promise<Bound<T>> {
  const attempt = async (p: number): Promise<{ server: T; port: number }> => {
    const server = await make();
    try {
      return { server, port: (await server.listen(p, '127.0.0.1')).port };
    } catch (e) {
      await server.close();
      throw e;
    }
  };
  try {
    return { ...(await attempt(port)), fellBack: false };
  } catch (err) {
    if (port === 0 || !isAddressInUse(err)) throw err;
    return { ...(await attempt(0)), fellBack: true };
  }
}

/** True when `err`, or an error it wraps (the proxy reports SG_ERR_LISTEN with the socket error as cause), is EADDRINUSE. */
function isAddressInUse(err: unknown): boolean {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (errorCode(e) === 'EADDRINUSE') return true;
  }
  return false;
}
