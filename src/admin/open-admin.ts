/**
 * Starts the admin listener a config asks for, with the same errors as the proxy's own listener.
 */
import type { Logger } from 'pino';
import type { HostPort } from '../proxy/address.js';
import { ShardgateError } from '../errors.js';
import { formatHostPort } from '../proxy/address.js';
import { AdminServer } from './admin-server.js';
import type { AdminRoutes } from './admin-server.js';
import type { Readiness } from './readiness.js';

/**
 * Null when `address` is null (no `--admin`). `routes` adds endpoints (the directory's...); `flag`
 * names the address in errors; for --admin the address is logged here, for another flag by the caller.
 * @throws ShardgateError SG_ERR_LISTEN naming the address when it cannot be bound
 */
export async function openAdmin(address: HostPort | null, readiness: Readiness, logger: Logger, routes: readonly AdminRoutes[] = [], flag = '--admin'): Promise<AdminServer | null> {
  if (address === null) return null;
  const admin = new AdminServer(readiness, routes);
  let bound: { host: string; port: number };
  try {
    bound = await admin.listen(address.port, address.host);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e));
    throw new ShardgateError('SG_ERR_LISTEN', `cannot listen on ${formatHostPort(address)} for ${flag} (${code}): choose another ${flag} address or free the port`, { cause: e });
  }
  if (flag === '--admin') logger.info({ address: formatHostPort(bound) }, 'admin listening');
  return admin;
}
