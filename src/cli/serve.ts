/**
 * `shardgate serve`: wires parsed config to the data plane (src/dataplane/) and the HTTP proxy on
 * it; the endpoint source feeds the plane whole sets (follow-sets.ts). With `--admin`, the admin
 * listener also serves the directory (src/directory/) over the same plane. Startup refuses to listen
 * until the first set is in place, so "listening" means "routing".
 *
 * Logs are JSON lines on stdout (pino). The line `{"msg":"listening","address":"host:port"}` is
 * the contract for whoever started the process: with `--listen host:0` it names the chosen port.
 * SIGTERM or SIGINT closes the proxy (in-flight requests get shutdownGraceMs) and exits 0, also
 * while the first set is still awaited; a second signal exits 1 at once.
 *
 * With a --config file, the configuration is reloaded when the file changes and on SIGHUP
 * (src/config/reloader.ts): a new data plane is built from it, given the current endpoint set, and
 * swapped into the proxy and the directory; requests under way finish on the old one, which is
 * closed once they have.
 */
import { pino } from 'pino';
import type { Logger } from 'pino';
import { formatHostPort } from '../proxy/address.js';
import type { ShardgateConfig } from '../config/config.js';
import { describeEndpoints, openEndpointSource, refreshOnConnectFailure } from '../discovery/configured-source.js';
import { ShardgateError } from '../errors.js';
import type { ShardingProxy } from '../proxy/proxy.js';
import { createDataPlane } from '../dataplane/create-data-plane.js';
import { followSets } from '../dataplane/follow-sets.js';
import type { SetFollower } from '../dataplane/follow-sets.js';
import { createProxy } from '../proxy/create-proxy.js';
import { runWorkers } from '../cluster/workers.js';
import { watchSignals } from '../cluster/signals.js';
import type { AdminServer } from '../admin/admin-server.js';
import { openAdmin } from '../admin/open-admin.js';
import { Readiness } from '../admin/readiness.js';
import { resolveOwnZone } from '../discovery/own-zone.js';
import { Directory } from '../directory/directory.js';
import { DirectoryRoutes } from '../directory/directory-routes.js';
import { ReloadEvents } from '../config/reload-events.js';
import { createRequestRecorder } from '../metrics/create-request-recorder.js';
import { LocalThreads } from '../metrics/local-threads.js';
import { MembershipMoves } from '../metrics/membership-moves.js';
import { MetricsRoutes } from '../metrics/metrics-routes.js';
import { ProcessMetrics } from '../metrics/process-metrics.js';
import type { AdminRoutes } from '../admin/admin-server.js';
import { StatusRoutes, adminPage, planeStatusSource, rotationOf } from '../admin/status-routes.js';
import { readThreadStatus } from '../admin/thread-status.js';
import { SwappableRoutes } from '../admin/swappable-routes.js';
import { ConfigReloader } from '../config/reloader.js';
import type { Reload, ReloadSource } from '../config/reloader.js';
import type { ReloadPlan } from '../config/restart-only.js';
import { swapPlane } from '../proxy/create-proxy.js';
import type { DataPlane } from '../dataplane/data-plane.js';

/** Extra time past the grace period before a stuck shutdown is abandoned. */
const SHUTDOWN_SLACK_MS = 5_000;

/** Runs until SIGTERM or SIGINT; resolves to the exit code. */
export async function runServe(given: ShardgateConfig, source: ReloadSource | null = null): Promise<number> {
  const logger = pino({ level: given.logLevel, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: 1, sync: true }));
  // Every worker builds its data plane from this config: `--zone auto` is resolved once, here.
  const config: ShardgateConfig = { ...given, zone: await resolveOwnZone(given.zone, logger) };
  const events = source?.events ?? new ReloadEvents();
  // A reloaded `zone: auto` is the zone resolved at startup; another zone is resolved anew.
  const reload: Reload | null =
    source === null ? null : { ...source, events, prepare: async (next) => ({ ...next, zone: next.zone === given.zone ? config.zone : await resolveOwnZone(next.zone, logger) }) };
  if (config.workers > 1) return runWorkers(config, config.workers, logger, reload);
  // Watched from here on: a signal while the first set is awaited stops the proxy as one after
  // it listens does, and the watch holds the process while nothing else does.
  const signals = watchSignals(logger);
  try {
    return await serveOne(config, logger, signals.first, reload);
  } finally {
    signals.stop();
  }
}

async function serveOne(config: ShardgateConfig, logger: Logger, stopSignal: Promise<NodeJS.Signals>, reload: Reload | null): Promise<number> {
  // A broken endpoints file fails the start (exit 2, the file's error) rather than serving 503s.
  const configured = await openEndpointSource(config.endpoints, { handoffDelayMs: config.handoffDelayMs });
  const { source, file: fileSource } = configured;
  const reresolve = refreshOnConnectFailure(configured, logger);
  const onConnectFailure = reresolve === null ? null : (e: { readonly name: string }) => reresolve.request(e.name);
  // Replaced by a reload; sets from discovery always go to the current one.
  let plane: DataPlane = createDataPlane(config, { logger, onConnectFailure });
  // Metrics, the access log and the gateway-error log hear of every request the proxy finishes.
  const recorder = createRequestRecorder(config.accessLog, plane, logger);
  const moves = new MembershipMoves(config);
  let stopMoves = plane.onSet((set) => moves.applied(set));
  let proxy: ShardingProxy;
  try {
    proxy = await createProxy(config, plane, logger, recorder);
    recorder.metrics.queued = () => proxy.queued;
  } catch (e) {
    reresolve?.close();
    await plane.close();
    throw e;
  }
  // Up before the first set, so that liveness holds while discovery waits for the API server.
  const readiness = new Readiness(describeEndpoints(config.endpoints));
  readiness.attach(source);
  // On the admin listener, over the proxy's own plane: its answers are this proxy's routing.
  let directory = config.admin === null ? null : new Directory({ plane, config, handoff: configured.handoff, logger });
  const directoryRoutes = directory === null ? null : new SwappableRoutes(new DirectoryRoutes(directory));
  let admin: AdminServer | null = null;
  let subscription: SetFollower | null = null;
  let reloader: ConfigReloader | null = null;
  /** The admin page's status, told of each reload. */
  let statusRoutes: StatusRoutes | null = null;
  /** Everything started, stopped in order: the proxy drains before the probes go. */
  const release = async (): Promise<void> => {
    reloader?.close();
    subscription?.unsubscribe();
    reresolve?.close();
    await proxy.close();
    directory?.close();
    await plane.close();
    await admin?.close();
  };
  const shutDown = async (signal: NodeJS.Signals): Promise<number> => {
    readiness.shuttingDown();
    logger.info({ signal, graceMs: config.proxy.timeouts.shutdownGraceMs }, 'shutting down');
    const overrun = setTimeout(() => {
      logger.error({ afterMs: config.proxy.timeouts.shutdownGraceMs + SHUTDOWN_SLACK_MS }, 'shutdown overran its grace period; exiting');
      process.exit(1);
    }, config.proxy.timeouts.shutdownGraceMs + SHUTDOWN_SLACK_MS);
    overrun.unref();
    await release();
    clearTimeout(overrun);
    logger.info('stopped');
    return 0;
  };
  let address: { host: string; port: number };
  try {
    const reloads = reload?.events ?? new ReloadEvents();
    const metrics = new MetricsRoutes(new ProcessMetrics({ readiness, reloads, moves }), new LocalThreads(recorder));
    const routes: AdminRoutes[] = [...(directoryRoutes === null ? [] : [directoryRoutes]), metrics];
    // The admin page and its live status, read from this proxy's plane (the current one: a reload swaps it).
    if (config.admin !== null) routes.push(...adminPage(config, planeStatusSource(() => plane, () => proxy.queued, () => directory), routes));
    readiness.inspect(() => rotationOf(readThreadStatus(plane, 0)));
    for (const r of routes) if (r instanceof StatusRoutes) statusRoutes = r;
    admin = await openAdmin(config.admin, readiness, logger, routes);
    subscription = followSets(source, (set) => plane.apply(set), { logger, readiness });
    const early = await Promise.race([subscription.first.then(() => null), stopSignal]);
    if (early !== null) return await shutDown(early);
  } catch (e) {
    await release();
    throw e;
  }
  try {
    address = await proxy.listen(config.listen.port, config.listen.host);
  } catch (e) {
    await release();
    // The proxy wraps the socket error; its errno (EADDRINUSE, EACCES) is what the operator needs.
    const cause = e instanceof Error ? (e.cause as NodeJS.ErrnoException | undefined) : undefined;
    const code = cause?.code ?? (e instanceof Error ? e.message : String(e));
    throw new ShardgateError('SG_ERR_LISTEN', `cannot listen on ${formatHostPort(config.listen)} (${code}): choose another --listen address or free the port`, { cause: e });
  }

  /** Swaps a plane built from the new config into the proxy (swapPlane), then the directory. */
  const swap = async (plan: ReloadPlan): Promise<void> => {
    const next = plan.config;
    const fresh = await swapPlane(proxy, plane, next, { logger, onConnectFailure });
    plane = fresh;
    recorder.metrics.rebind(fresh);
    stopMoves();
    stopMoves = fresh.onSet((set) => moves.applied(set));
    if (directory !== null && directoryRoutes !== null) {
      const previous = directory;
      directory = new Directory({ plane: fresh, config: next, handoff: configured.handoff, logger });
      directoryRoutes.swap(new DirectoryRoutes(directory));
      previous.close();
    }
    statusRoutes?.reconfigure(next);
    logger.level = next.logLevel;
  };
  if (reload !== null) {
    reloader = new ConfigReloader({ file: reload.file, running: config, load: reload.load, prepare: reload.prepare, apply: swap, events: reload.events, logger });
    await reloader.watch();
  }
  // Listening, routing, and following the config file: "listening" means all three.
  readiness.listening();
  logger.info(
    { address: formatHostPort(address), balancer: config.balancer.algorithm, key: config.key, endpoints: describeEndpoints(config.endpoints) },
    'listening',
  );

  // SIGHUP re-reads the endpoints file now (as nginx and HAProxy reload on it), and the config
  // file; without a handler Node's default would end the process without a graceful shutdown.
  const onHangup = (): void => {
    if (fileSource !== null) {
      logger.info('SIGHUP: re-reading the endpoints file');
      fileSource.refresh().catch((e: unknown) => logger.error({ err: e }, 'SIGHUP: re-reading the endpoints file failed'));
    }
    if (reloader !== null) void reloader.reload('SIGHUP');
  };
  process.on('SIGHUP', onHangup);
  const signal = await stopSignal;
  process.off('SIGHUP', onHangup);
  return shutDown(signal);
}
