/**
 * `shardgate directory`: the look-aside directory as a process of its own, with no data plane
 * listener (a Deployment beside the pods; callers ask it and then go to the pod themselves). It
 * takes the same config and flags as `serve`, follows the same discovery, and answers on
 * `--listen` (src/directory/directory-routes.ts), with `/healthz` and `/readyz` there too, and on
 * `--admin` as well when given.
 *
 * It listens at once: before the first endpoint set, lookups answer 503 and `/readyz` says why.
 * The line `{"msg":"listening","address":"host:port"}` names the address. SIGTERM or SIGINT ends
 * the watch streams and exits 0; SIGHUP re-reads an endpoints file.
 */
import { pino } from 'pino';
import type { Logger } from 'pino';
import type { AdminServer } from '../admin/admin-server.js';
import { openAdmin } from '../admin/open-admin.js';
import { Readiness } from '../admin/readiness.js';
import { watchSignals } from '../cluster/signals.js';
import type { ShardgateConfig } from '../config/config.js';
import { followSets } from '../dataplane/follow-sets.js';
import { Directory } from '../directory/directory.js';
import { DirectoryRoutes } from '../directory/directory-routes.js';
import { createLookupPlane } from '../directory/lookup-plane.js';
import { describeEndpoints, openEndpointSource } from '../discovery/configured-source.js';
import { formatHostPort } from '../proxy/address.js';

/** Runs until SIGTERM or SIGINT; resolves to the exit code. */
export async function runDirectory(config: ShardgateConfig): Promise<number> {
  const logger: Logger = pino({ level: config.logLevel, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: 1, sync: true }));
  const signals = watchSignals(logger);
  const configured = await openEndpointSource(config.endpoints, { handoffDelayMs: config.handoffDelayMs });
  const plane = createLookupPlane(config, logger);
  const directory = new Directory({ plane, config, handoff: configured.handoff, logger });
  const routes = new DirectoryRoutes(directory);
  const readiness = new Readiness(describeEndpoints(config.endpoints));
  readiness.attach(configured.source);
  const servers: AdminServer[] = [];
  const follower = followSets(configured.source, (set) => plane.apply(set), { logger, readiness });
  const release = async (): Promise<void> => {
    follower.unsubscribe();
    directory.close();
    await Promise.all(servers.map((s) => s.close()));
    await plane.close();
  };
  const onHangup = (): void => {
    if (configured.file === null) return;
    logger.info('SIGHUP: re-reading the endpoints file');
    configured.file.refresh().catch((e: unknown) => logger.error({ err: e }, 'SIGHUP: re-reading the endpoints file failed'));
  };
  try {
    servers.push((await openAdmin(config.listen, readiness, logger, [routes], '--listen'))!);
    const admin = await openAdmin(config.admin, readiness, logger, [routes]);
    if (admin !== null) servers.push(admin);
    readiness.listening();
    logger.info({ address: formatHostPort(servers[0]!.address!), balancer: config.balancer.algorithm, key: config.key, endpoints: describeEndpoints(config.endpoints) }, 'listening');
    process.on('SIGHUP', onHangup);
    // A first set that the plane refuses (a maglev table too small for it) ends the process, as serve's does.
    const why = await Promise.race([signals.first.then((signal) => ({ signal })), follower.first.then(() => new Promise<never>(() => undefined))]);
    readiness.shuttingDown();
    logger.info({ signal: why.signal }, 'shutting down');
    await release();
    logger.info('stopped');
    return 0;
  } catch (e) {
    await release();
    throw e;
  } finally {
    process.off('SIGHUP', onHangup);
    signals.stop();
  }
}
