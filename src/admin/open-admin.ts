/**
 * Starts the admin listener a config asks for, with the same errors as the proxy's own listener.
 */
import type { Logger } from 'pino';
import type { HostPort } from '../proxy/address.js';
import { ShardgateError } from '../errors.js';
import { formatHostPort } from '../proxy/address.js';
import { AdminServer } from './admin-server.js';
import type { Readiness } from './readiness.js';

/**
 * Null when `address` is null (no `--admin`).
 * @throws ShardgateError SG_ERR_LISTEN naming the address when it cannot be bound
 */
export async function openAdmin(address: HostPort | null, readiness: Readiness, logger: Logger): Promise<AdminServer | null> {
  if (address === null) return null;
  const admin = new AdminServer(readiness);
  let bound: { host: string; port: number };
  try {
    bound = await admin.listen(address.port, address.host);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e));
    throw new ShardgateError('SG_ERR_LISTEN', `cannot listen on ${formatHostPort(address)} for --admin (${code}): choose another --admin address or free the port`, { cause: e });
  }
  logger.info({ address: formatHostPort(bound) }, 'admin listening');
  return admin;
}
