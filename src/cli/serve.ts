/**
 * `shardgate serve`: wires parsed config to the data plane. One clock, one rng, one LoadBoard
 * shared by the balancer and the proxy; the endpoint source feeds the proxy whole sets. Startup
 * refuses to listen until the first set is in place, so "listening" means "routing".
 *
 * Logs are JSON lines on stdout (pino). The line `{"msg":"listening","address":"host:port"}` is
 * the contract for whoever started the process: with `--listen host:0` it names the chosen port.
 * SIGTERM or SIGINT closes the proxy (in-flight requests get shutdownGraceMs) and exits 0; a second
 * signal exits 1 at once.
 */
import { readFile } from 'node:fs/promises';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { monotonicClock } from '../balancer/clock.js';
import type { EndpointSet } from '../balancer/endpoint.js';
import { createBalancer } from '../balancer/factory.js';
import { LoadBoard } from '../balancer/load-board.js';
import { entropyRng } from '../balancer/rng.js';
import { formatHostPort } from '../proxy/address.js';
import type { ShardgateConfig } from '../config/config.js';
import { loadBoardOptions } from '../config/config.js';
import type { DiscoveryError, EndpointSource } from '../discovery/endpoint-source.js';
import { StaticFileSource } from '../discovery/static-file.js';
import { StaticListSource } from '../discovery/static-list.js';
import { ConfigError, ShardgateError } from '../errors.js';
import { parseKeyTransform } from '../balancer/key-transform.js';
import { OutlierDetector } from '../balancer/outlier-detector.js';
import { RetryBudget } from '../balancer/retry-budget.js';
import { HealthChecker } from '../proxy/health-check.js';
import { Retrier } from '../proxy/retries.js';
import { parseKeySource } from '../proxy/key-source.js';
import { ShardingProxy } from '../proxy/proxy.js';

const MAX_LOGGED_ENDPOINTS = 32;

/** Extra time past the grace period before a stuck shutdown is abandoned. */
const SHUTDOWN_SLACK_MS = 5_000;

/** Runs until SIGTERM or SIGINT; resolves to the exit code. */
export async function runServe(config: ShardgateConfig): Promise<number> {
  const logger = pino({ level: config.logLevel, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: 1, sync: true }));
  const clock = monotonicClock;
  const px = config.proxy;
  const board = new LoadBoard(clock, { ...loadBoardOptions(config.balancer), maxInflight: px.maxInflight });
  const rng = entropyRng();
  const balancer = createBalancer(config.balancer, { clock, rng, board });
  const keySource = config.key === null ? null : parseKeySource(config.key, 'key');
  const keyTransform = config.keyTransform === null ? null : parseKeyTransform(config.keyTransform, 'keyTransform');
  const tls = px.tls === null ? undefined : { cert: await readPem(px.tls.certFile, 'proxy.tls.cert'), key: await readPem(px.tls.keyFile, 'proxy.tls.key') };
  const upstreamTls = {
    ...(px.upstreamTls.caFile === null ? {} : { ca: await readPem(px.upstreamTls.caFile, 'proxy.upstreamTls.ca') }),
    ...(px.upstreamTls.insecure ? { rejectUnauthorized: false } : {}),
  };
  const retries = px.retries.retries === 0 ? undefined : new Retrier(px.retries, new RetryBudget(px.retries.budget));
  const outlier =
    px.outlier === null
      ? undefined
      : new OutlierDetector({ board, rng, options: px.outlier, onEvent: (e) => logger.warn({ outlier: e }, `endpoint ${e.endpoint}: ${e.kind}`) });
  const healthChecker =
    px.healthCheck === null
      ? undefined
      : new HealthChecker({
          board,
          rng,
          options: px.healthCheck,
          onEvent: (e) => {
            if (e.kind !== 'checked') logger.warn({ health: e }, `endpoint ${e.endpoint}: health check ${e.kind}`);
            // A passing check ends an ejection early, as Envoy's active checks do.
            else if (e.passed && outlier?.isEjected(e.endpoint) === true) outlier.readmit(e.endpoint);
          },
        });

  let source: EndpointSource;
  let fileSource: StaticFileSource | null = null;
  if (config.endpoints.kind === 'file') {
    fileSource = new StaticFileSource(config.endpoints.path);
    // Fails the start (exit 2, the file's error) rather than serving 503s from an empty set.
    await fileSource.load();
    source = fileSource;
  } else {
    source = new StaticListSource(config.endpoints.specs);
  }

  const proxy = new ShardingProxy({
    balancer,
    board,
    keySource,
    clock,
    keyTransform,
    endpointHeader: px.endpointHeader,
    timeouts: px.timeouts,
    maxHeaderBytes: px.maxHeaderBytes,
    maxBodyBuffer: px.maxBodyBuffer,
    maxHeaderCount: px.maxHeaderCount,
    maxConnections: px.maxConnections,
    maxBodyBytes: px.maxBodyBytes,
    maxConcurrentStreams: px.maxConcurrentStreams,
    maxUpstreamSessions: px.maxUpstreamSessions,
    queue: px.queue,
    upstreamTls,
    ...(tls === undefined ? {} : { tls }),
    ...(retries === undefined ? {} : { retries }),
    ...(outlier === undefined ? {} : { outlier }),
    ...(healthChecker === undefined ? {} : { healthChecker }),
    logger,
  });

  const unsubscribe = await subscribeFirst(source, proxy, logger);
  let address: { host: string; port: number };
  try {
    address = await proxy.listen(config.listen.port, config.listen.host);
  } catch (e) {
    unsubscribe();
    await proxy.close();
    // The proxy wraps the socket error; its errno (EADDRINUSE, EACCES) is what the operator needs.
    const cause = e instanceof Error ? (e.cause as NodeJS.ErrnoException | undefined) : undefined;
    const code = cause?.code ?? (e instanceof Error ? e.message : String(e));
    throw new ShardgateError('SG_ERR_LISTEN', `cannot listen on ${formatHostPort(config.listen)} (${code}): choose another --listen address or free the port`, { cause: e });
  }
  logger.info(
    { address: formatHostPort(address), balancer: config.balancer.algorithm, key: config.key, endpoints: config.endpoints.kind === 'file' ? config.endpoints.path : 'inline' },
    'listening',
  );

  // SIGHUP re-reads the endpoints file now (as nginx and HAProxy reload on it); without a handler
  // Node's default would end the process without a graceful shutdown.
  const onHangup = (): void => {
    if (fileSource === null) return;
    logger.info('SIGHUP: re-reading the endpoints file');
    fileSource.refresh().catch((e: unknown) => logger.error({ err: e }, 'SIGHUP: re-reading the endpoints file failed'));
  };
  process.on('SIGHUP', onHangup);
  const signal = await nextSignal(logger);
  process.off('SIGHUP', onHangup);
  logger.info({ signal, graceMs: config.proxy.timeouts.shutdownGraceMs }, 'shutting down');
  unsubscribe();
  const overrun = setTimeout(() => {
    logger.error({ afterMs: config.proxy.timeouts.shutdownGraceMs + SHUTDOWN_SLACK_MS }, 'shutdown overran its grace period; exiting');
    process.exit(1);
  }, config.proxy.timeouts.shutdownGraceMs + SHUTDOWN_SLACK_MS);
  overrun.unref();
  await proxy.close();
  clearTimeout(overrun);
  logger.info('stopped');
  return 0;
}

/**
 * Subscribes the proxy to the source and waits for the first set. A set the balancer refuses (a
 * maglev table too small for it) fails the start if it is the first, and is logged and skipped
 * (the previous one keeps serving) later.
 */
function subscribeFirst(source: EndpointSource, proxy: ShardingProxy, logger: Logger): Promise<() => void> {
  return new Promise((resolve, reject) => {
    let first = true;
    const unsubscribe = source.subscribe(
      (set: EndpointSet) => {
        try {
          proxy.updateEndpoints(set);
        } catch (e) {
          if (first) {
            unsubscribe();
            reject(e instanceof Error ? e : new Error(String(e)));
            return;
          }
          logger.error({ err: e, version: set.version }, 'endpoint set refused; the previous set keeps serving');
          return;
        }
        const n = set.endpoints.length;
        // Names for sets a person reads; a count alone for the large ones.
        const listed = n <= MAX_LOGGED_ENDPOINTS ? set.endpoints.map((e) => `${e.name}=${e.address}`) : undefined;
        logger.info({ version: set.version, count: n, endpoints: listed }, 'endpoints');
        if (first) {
          first = false;
          resolve(unsubscribe);
        }
      },
      (error: DiscoveryError) => {
        logger.warn({ source: error.source, field: error.field, code: error.code }, error.message);
      },
    );
  });
}

/** A PEM file named by config; an unreadable one fails the start naming its field. */
async function readPem(path: string, field: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new ConfigError('SG_ERR_CONFIG', field, `${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)}): give a PEM file`, { cause: e });
  }
}

function nextSignal(logger: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      // A second signal means "now": the operator is not waiting for the grace period.
      const force = (again: NodeJS.Signals): void => {
        logger.warn({ signal: again }, 'second signal; exiting without waiting for in-flight requests');
        process.exit(1);
      };
      process.once('SIGTERM', force);
      process.once('SIGINT', force);
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
