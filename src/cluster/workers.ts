/**
 * `shardgate serve --workers N`: one worker thread per core, all accepting on one listening socket,
 * with balancer state that stays right for the whole process. This thread supervises and serves
 * no requests: it runs discovery, owns the table of shared slots, and starts, feeds and stops the
 * workers, so that signals, endpoint changes and slot reuse are never delayed behind request work.
 * The cost is one mostly idle thread beside the N that serve.
 *
 * - Threads, not processes (node:cluster): in-flight counts and round robin's turn counter live in
 *   one SharedArrayBuffer (shared-loads.ts), which only threads of one process can share. Bounded
 *   loads and in-flight limits then hold for the process, and round robin is exact in aggregate.
 *   What stays per thread is listed in load-board.ts.
 * - The socket is bound here and each worker listens on a descriptor of its own
 *   (shared-listener.ts); the kernel gives each connection to one of them.
 * - Discovery runs here; each new set goes to every worker with the slots of its names
 *   (messages.ts). Workers answer with the generation they serve, and a removed name's slot is
 *   reused only once every worker has moved past it and its count has drained (shared-slots.ts).
 *   With DNS discovery, workers report failed connects, and this thread re-resolves (limited).
 * - With `--admin`, the directory (src/directory/) answers on this thread, over a lookup plane of
 *   its own built from the same config and given every set the workers are sent.
 * - Reload: the supervisor validates the new configuration once (it builds a plane from it with the
 *   current set), then sends it to every worker, which swaps a new plane into its proxy; a worker
 *   that cannot apply it answers why (messages.ts). The directory's plane here is swapped too.
 * - Stop: every worker's proxy shuts down gracefully (stops accepting, in-flight requests get
 *   shutdownGraceMs), then its thread ends; this thread waits for all of them.
 * - A worker that ends on its own (a crash) ends the process with exit code 1, the others
 *   stopping gracefully: the orchestrator restarts it whole. Its requests were in flight in the
 *   shared counts and would otherwise stay counted.
 */
import { containerCpus } from './container-cpus.js';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { specOf } from '../balancer/endpoint.js';
import type { EndpointSet } from '../balancer/endpoint.js';
import { entropyRng } from '../balancer/rng.js';
import { DEFAULT_SHARED_SLOTS, SharedLoads } from '../balancer/shared-loads.js';
import { SlotTable } from '../balancer/shared-slots.js';
import type { ShardgateConfig } from '../config/config.js';
import type { LogLevel } from '../config/defaults.js';
import { describeEndpoints, openEndpointSource, refreshOnConnectFailure } from '../discovery/configured-source.js';
import type { ConfiguredSource } from '../discovery/configured-source.js';
import { ConfigError, ShardgateError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { formatHostPort } from '../proxy/address.js';
import { openAdmin } from '../admin/open-admin.js';
import type { AdminRoutes, AdminServer } from '../admin/admin-server.js';
import { StatusRoutes, adminPage, directoryParts, statusContext } from '../admin/status-routes.js';
import { WorkerStatusSource } from './worker-status.js';
import { Directory } from '../directory/directory.js';
import { DirectoryRoutes } from '../directory/directory-routes.js';
import { createLookupPlane } from '../directory/lookup-plane.js';
import { Readiness } from '../admin/readiness.js';
import type { ThreadStatus } from '../admin/thread-status.js';
import { openSharedListener } from './shared-listener.js';
import type { EndpointsMessage, FailedMessage, FromWorker, ToWorker, WorkerData } from './messages.js';
import { watchSignals } from './signals.js';
import { followSets } from '../dataplane/follow-sets.js';
import { ReloadEvents } from '../config/reload-events.js';
import type { AccessLogSettings } from '../metrics/access-log.js';
import { MembershipMoves } from '../metrics/membership-moves.js';
import { MetricsRoutes } from '../metrics/metrics-routes.js';
import type { RoutingThreads } from '../metrics/metrics-routes.js';
import { ProcessMetrics } from '../metrics/process-metrics.js';
import type { ThreadSnapshot } from '../metrics/thread-metrics.js';
import { SwappableRoutes } from '../admin/swappable-routes.js';
import { ConfigReloader } from '../config/reloader.js';
import type { ReloadPlan } from '../config/restart-only.js';
import type { PlannedHandoffSource } from '../discovery/planned-handoff.js';
import type { Reload } from '../config/reloader.js';

export const MAX_WORKERS = 1_024;
/** Longest wait for a worker's answer to a reloaded configuration. */
const RECONFIGURE_TIMEOUT_MS = 10_000;
/** Extra time past the grace period before a worker that has not ended is terminated. */
const SHUTDOWN_SLACK_MS = 5_000;
/** How long a status read waits for a worker's view; the page polls every second. */
const STATUS_WAIT_MS = 1_000;

/** The default for `--workers`: one per CPU the container may use (its cgroup CPU limit, rounded up). */
export function defaultWorkers(): number {
  return containerCpus();
}

/**
 * Checks a worker count.
 * @throws ConfigError naming `field` when it is not an integer from 1 to MAX_WORKERS
 */
export function validateWorkers(raw: unknown, field = 'workers'): number {
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 1 || raw > MAX_WORKERS) {
    throw new ConfigError('SG_ERR_CONFIG', field, `is ${typeof raw === 'string' ? JSON.stringify(raw) : String(raw)}: use a whole number of threads from 1 to ${MAX_WORKERS}; the default is one per CPU the container may use (${defaultWorkers()} here)`);
  }
  return raw;
}

export interface WorkersOptions {
  /** Worker threads to start (validateWorkers). */
  readonly workers: number;
  readonly logger: Logger;
  /** Endpoint names the shared counts can hold at once, draining ones included; DEFAULT_SHARED_SLOTS. */
  readonly sharedSlots?: number;
  /** Told of the source and of every set the workers are sent. */
  readonly readiness?: Readiness;
  /** Told of the endpoint source once it is open (the directory follows its planned hand-offs). */
  readonly onOpened?: (configured: ConfiguredSource) => void;
  /**
   * Told of every set the workers are sent, after them (the directory's plane on this thread). A
   * throw is logged; the workers keep the set.
   */
  readonly onSet?: (set: EndpointSet) => void;
  /**
   * Aborted while the first endpoint set is awaited: what was started stops, and startWorkers
   * rejects with the signal's reason. Later, it changes nothing (stop() is for that).
   */
  readonly signal?: AbortSignal;
}

export interface WorkerPool {
  /** Where the workers listen (the port the kernel chose for port 0). */
  readonly address: { readonly host: string; readonly port: number };
  readonly workers: number;
  /** The shared in-flight counts, readable from this thread. */
  readonly loads: SharedLoads;
  /** Settles with the error when a worker thread ends without being stopped; pending otherwise. */
  readonly crashed: Promise<Error>;
  /** Re-reads the endpoints file now (SIGHUP); nothing to do for an inline list. */
  refresh(): Promise<void>;
  /** Requests each worker has sent to the endpoints of its current set, by worker. */
  requests(): Promise<number[]>;
  /** Each live worker's metrics and hot keys, collected now (for one scrape of the whole process). */
  snapshots(): Promise<ThreadSnapshot[]>;
  /** Tells every worker the access log's new settings. */
  setAccessLog(settings: AccessLogSettings): void;
  /** Every running worker's view of its endpoints (the admin page's status), read now; a worker that does not answer within a second is left out. */
  status(): Promise<ThreadStatus[]>;
  /**
   * Sends a validated configuration to every worker; resolves to each one's refusal (null: it
   * applied it), by worker.
   */
  reconfigure(config: ShardgateConfig): Promise<(string | null)[]>;
  /** The endpoint set the workers were sent last. */
  readonly latestSet: EndpointSet | null;
  /**
   * Stops every worker gracefully and waits for their threads to end. Resolves to false when one
   * had to be terminated after shutdownGraceMs and a slack. Idempotent.
   */
  stop(): Promise<boolean>;
}

interface Thread {
  readonly worker: Worker;
  readonly ready: Promise<{ host: string; port: number }>;
  readonly exited: Promise<number>;
  gone: boolean;
  /** Waiting answers to report requests, oldest first. */
  readonly reports: ((requests: number) => void)[];
  /** Waiting answers to metrics requests, oldest first; null when the worker ended first. */
  readonly scrapes: ((snapshot: ThreadSnapshot | null) => void)[];
  /** Waiting answers to status requests, oldest first; null when the worker ended first. */
  readonly statuses: ((status: ThreadStatus | null) => void)[];
  /** Waiting answers to config messages, by id. */
  readonly configs: Map<number, (refused: string | null) => void>;
}

/**
 * Starts `options.workers` threads that each route with their own proxy over shared balancer
 * state, all listening on `config.listen`; resolves once every one of them routes with the first
 * endpoint set.
 * @throws ConfigError for a bad worker count or a set or config the workers refuse
 * @throws ShardgateError SG_ERR_LISTEN when the address cannot be bound
 */
export async function startWorkers(config: ShardgateConfig, options: WorkersOptions): Promise<WorkerPool> {
  const count = validateWorkers(options.workers);
  const log = options.logger;
  const loads = SharedLoads.create(options.sharedSlots ?? DEFAULT_SHARED_SLOTS, entropyRng().nextUint32(), 'sharedSlots');
  const table = new SlotTable(loads);
  const threads: Thread[] = [];
  let stopping = false;
  let latest: EndpointsMessage | null = null;
  let latestSet: EndpointSet | null = null;
  let configId = 0;
  const refusals = new Set<number>();

  const configured = await openEndpointSource(config.endpoints, { handoffDelayMs: config.handoffDelayMs });
  const { source, file: fileSource } = configured;
  options.readiness?.attach(source);
  options.onOpened?.(configured);
  const reresolve = refreshOnConnectFailure(configured, log);

  const follower = followSets(
    source,
    (set: EndpointSet) => {
      // Refused (more names than the shared counts hold): the workers never see it.
      const { generation, slots } = table.assign(set);
      const message: EndpointsMessage = { kind: 'endpoints', generation, version: set.version, specs: set.endpoints.map(specOf), slots };
      latest = message;
      latestSet = set;
      for (const t of threads) if (!t.gone) t.worker.postMessage(message satisfies ToWorker);
      try {
        options.onSet?.(set);
      } catch (e) {
        log.error({ err: e, version: set.version }, 'the directory refused the endpoint set; its answers stay at the previous one');
      }
    },
    { logger: log, readiness: options.readiness ?? null },
  );
  const unsubscribe = (): void => follower.unsubscribe();

  let crash: (e: Error) => void = () => undefined;
  const crashed = new Promise<Error>((resolve) => (crash = resolve));

  const spawn = (index: number, fd: number, endpoints: EndpointsMessage): Thread => {
    const data: WorkerData = { worker: index, config, logLevel: log.level as LogLevel, buffer: loads.buffer, fd, endpoints, reportConnectFailures: reresolve !== null };
    const worker = new Worker(new URL('./worker-main.js', import.meta.url), { workerData: data });
    let ready: (a: { host: string; port: number }) => void = () => undefined;
    let failed: (e: Error) => void = () => undefined;
    const readyP = new Promise<{ host: string; port: number }>((resolve, reject) => {
      ready = resolve;
      failed = reject;
    });
    // Handled where startWorkers awaits it; this keeps a late failure from going unhandled.
    readyP.catch(() => undefined);
    let exited: (code: number) => void = () => undefined;
    const thread: Thread = { worker, ready: readyP, exited: new Promise((resolve) => (exited = resolve)), gone: false, reports: [], scrapes: [], statuses: [], configs: new Map() };
    table.served(index, endpoints.generation);
    worker.on('message', (m: FromWorker) => {
      switch (m.kind) {
        case 'ready':
          ready(m.address);
          break;
        case 'failed':
          failed(rebuildError(m.error));
          break;
        case 'served':
          table.served(index, m.generation);
          if (m.refused !== null && !refusals.has(m.generation)) {
            // Every worker refuses alike: one line per set.
            refusals.add(m.generation);
            log.error({ worker: index, reason: m.refused }, 'endpoint set refused; the previous set keeps serving');
          }
          break;
        case 'report':
          thread.reports.shift()?.(m.requests);
          break;
        case 'metrics':
          thread.scrapes.shift()?.(m.snapshot);
          break;
        case 'configured': {
          const answer = thread.configs.get(m.id);
          thread.configs.delete(m.id);
          answer?.(m.refused);
          break;
        }
        case 'connect-failed':
          reresolve?.request(m.endpoint);
          break;
        case 'status':
          thread.statuses.shift()?.(m.status);
          break;
        default: {
          const never: never = m;
          log.error({ message: never }, 'unknown message from a worker');
        }
      }
    });
    worker.on('error', (e: Error) => {
      log.error({ err: e, worker: index }, 'worker thread failed');
      failed(e);
      if (!stopping) crash(e);
    });
    worker.on('exit', (code: number) => {
      thread.gone = true;
      table.forget(index);
      for (const answer of thread.reports.splice(0)) answer(0);
      for (const answer of thread.scrapes.splice(0)) answer(null);
      for (const answer of thread.statuses.splice(0)) answer(null);
      for (const answer of thread.configs.values()) answer(`worker thread ${index} ended`);
      thread.configs.clear();
      failed(new ShardgateError('SG_ERR_WORKER', `worker thread ${index} ended (exit code ${code}) before it listened`));
      if (!stopping) crash(new ShardgateError('SG_ERR_WORKER', `worker thread ${index} ended unexpectedly (exit code ${code})`));
      exited(code);
    });
    return thread;
  };

  let stopped: Promise<boolean> | null = null;
  const stop = (): Promise<boolean> => {
    stopped ??= (async () => {
      stopping = true;
      unsubscribe();
      reresolve?.close();
      for (const t of threads) if (!t.gone) t.worker.postMessage({ kind: 'stop' } satisfies ToWorker);
      const limitMs = config.proxy.timeouts.shutdownGraceMs + SHUTDOWN_SLACK_MS;
      let timer: NodeJS.Timeout | undefined;
      const inTime = await Promise.race([
        Promise.all(threads.map((t) => t.exited)).then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), limitMs))),
      ]);
      clearTimeout(timer);
      if (!inTime) {
        log.error({ afterMs: limitMs }, 'shutdown overran its grace period; terminating the worker threads left');
        await Promise.all(threads.map((t) => t.worker.terminate()));
      }
      return inTime;
    })();
    return stopped;
  };

  try {
    await Promise.race([follower.first, rejectOnAbort(options.signal)]);
    const listener = await openSharedListener(config.listen, count);
    // The set accepted last: a newer one than the first may have come while the socket was bound.
    for (let i = 0; i < count; i++) threads.push(spawn(i, listener.fds[i]!, latest!));
    const addresses = await Promise.all(threads.map((t) => t.ready));
    for (const [i, a] of addresses.entries()) {
      if (a.port !== listener.address.port) {
        throw new ShardgateError('SG_ERR_WORKER', `worker thread ${i} listens on port ${a.port}, not on the shared socket's ${listener.address.port}`);
      }
    }
    return {
      address: listener.address,
      workers: count,
      loads,
      crashed,
      refresh: () => fileSource?.refresh() ?? Promise.resolve(),
      requests: () =>
        Promise.all(
          threads.map((t) => {
            if (t.gone) return Promise.resolve(0);
            return new Promise<number>((resolve) => {
              t.reports.push(resolve);
              t.worker.postMessage({ kind: 'report' } satisfies ToWorker);
            });
          }),
        ),
      snapshots: async () => {
        const answers = await Promise.all(
          threads.map((t) => {
            if (t.gone) return Promise.resolve(null);
            return new Promise<ThreadSnapshot | null>((resolve) => {
              t.scrapes.push(resolve);
              t.worker.postMessage({ kind: 'metrics' } satisfies ToWorker);
            });
          }),
        );
        return answers.filter((a): a is ThreadSnapshot => a !== null);
      },
      setAccessLog: (settings: AccessLogSettings) => {
        for (const t of threads) if (!t.gone) t.worker.postMessage({ kind: 'access-log', settings } satisfies ToWorker);
      },
      status: async () => {
        const views = await Promise.all(
          threads.map((t) => {
            if (t.gone) return Promise.resolve(null);
            return new Promise<ThreadStatus | null>((resolve) => {
              // A worker stuck in a long task answers later, to a resolver already settled: the
              // read goes on without it rather than waiting.
              const late = setTimeout(() => resolve(null), STATUS_WAIT_MS);
              t.statuses.push((status) => {
                clearTimeout(late);
                resolve(status);
              });
              t.worker.postMessage({ kind: 'status' } satisfies ToWorker);
            });
          }),
        );
        return views.filter((v): v is ThreadStatus => v !== null);
      },
      reconfigure: (next: ShardgateConfig) => {
        const id = ++configId;
        return Promise.all(
          threads.map((t, i) => {
            if (t.gone) return Promise.resolve(`worker thread ${i} has ended`);
            return new Promise<string | null>((resolve) => {
              // A worker that does not answer must not hold every later reload back.
              const timer = setTimeout(() => {
                t.configs.delete(id);
                resolve(`worker thread ${i} did not answer within ${RECONFIGURE_TIMEOUT_MS} ms`);
              }, RECONFIGURE_TIMEOUT_MS);
              t.configs.set(id, (refused) => {
                clearTimeout(timer);
                resolve(refused);
              });
              t.worker.postMessage({ kind: 'config', id, config: next } satisfies ToWorker);
            });
          }),
        );
      },
      get latestSet() {
        return latestSet;
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * Runs the workers until SIGTERM or SIGINT, as `runServe` runs one proxy, and resolves to the
 * exit code: 0 after a graceful stop (also of a start still waiting for its first endpoint set),
 * 1 when a worker crashed or the shutdown overran. Logs the `listening` line with the address once
 * every worker routes; SIGHUP re-reads the endpoints file.
 * @throws what startWorkers throws
 */
export async function runWorkers(config: ShardgateConfig, workers: number, logger: Logger, reload: Reload | null = null): Promise<number> {
  // Watched from the start: the watch also holds the process while the first set is awaited.
  const signals = watchSignals(logger);
  const onHangup = (): void => {
    if (config.endpoints.kind === 'file') {
      logger.info('SIGHUP: re-reading the endpoints file');
      pool?.refresh().catch((e: unknown) => logger.error({ err: e }, 'SIGHUP: re-reading the endpoints file failed'));
    }
    if (reloader !== null) void reloader.reload('SIGHUP');
  };
  let pool: WorkerPool | null = null;
  let reloader: ConfigReloader | null = null;
  try {
    const readiness = new Readiness(describeEndpoints(config.endpoints));
    // The workers' planes live in their threads: the directory gets one of its own here, fed the same sets.
    let plane = config.admin === null ? null : createLookupPlane(config, logger);
    let directory = plane === null ? null : new Directory({ plane, config, logger });
    const directoryRoutes = directory === null ? null : new SwappableRoutes(new DirectoryRoutes(directory));
    let handoff: PlannedHandoffSource | null = null;
    const closeDirectory = async (): Promise<void> => {
      directory?.close();
      await plane?.close();
    };
    // One scrape asks every worker for its registry and hot keys over its port and adds what this thread knows.
    const moves = new MembershipMoves(config);
    const reloads = reload?.events ?? new ReloadEvents();
    let accessLog: AccessLogSettings = { enabled: config.accessLog.enabled, sampleRate: config.accessLog.sampleRate };
    const routing: RoutingThreads = {
      snapshots: () => pool?.snapshots() ?? Promise.resolve([]),
      get accessLog() {
        return accessLog;
      },
      setAccessLog: (settings) => {
        accessLog = settings;
        pool?.setAccessLog(settings);
      },
    };
    const metrics = new MetricsRoutes(new ProcessMetrics({ readiness, reloads, moves }), routing);
    let admin: AdminServer | null;
    /** The admin page's status, told of each reload. */
    let statusRoutes: StatusRoutes | null = null;
    // The admin page's status: every worker's view, asked when read.
    // The directory's parts read through the variable: a reload swaps in another directory.
    const status = new WorkerStatusSource(statusContext(config), directoryParts(() => directory), logger);
    readiness.inspect(() => status.rotation());
    try {
      const routes: AdminRoutes[] = [...(directoryRoutes === null ? [] : [directoryRoutes]), metrics];
      if (config.admin !== null) routes.push(...adminPage(config, status, routes));
      for (const r of routes) if (r instanceof StatusRoutes) statusRoutes = r;
      admin = await openAdmin(config.admin, readiness, logger, routes);
    } catch (e) {
      await closeDirectory();
      throw e;
    }
    const starting = new AbortController();
    void signals.first.then(() => starting.abort());
    const shuttingDown = (signal: NodeJS.Signals): void => {
      readiness.shuttingDown();
      logger.info({ signal, graceMs: config.proxy.timeouts.shutdownGraceMs }, 'shutting down');
    };
    try {
      pool = await startWorkers(config, {
        workers,
        logger,
        readiness,
        signal: starting.signal,
        onSet: (set: EndpointSet) => {
          moves.applied(set);
          plane?.apply(set);
        },
        ...(plane === null
          ? {}
          : {
              onOpened: (c: ConfiguredSource) => {
                handoff = c.handoff;
                if (c.handoff !== null) directory!.followPlans(c.handoff);
              },
            }),
      });
    } catch (e) {
      await closeDirectory();
      await admin?.close();
      if (!starting.signal.aborted) throw e;
      // Nothing listened yet: startWorkers has stopped all it started.
      shuttingDown(await signals.first);
      logger.info('stopped');
      return 0;
    }
    status.attach(pool);
    const started = pool;
    /**
     * Validates the configuration once, here (a plane built from it takes the workers' current
     * set), then sends it to every worker; the directory moves to that plane.
     */
    const swap = async (plan: ReloadPlan): Promise<void> => {
      const next = plan.config;
      const checked = createLookupPlane(next, logger);
      try {
        const set = started.latestSet;
        if (set !== null) checked.apply(set);
      } catch (e) {
        await checked.close();
        throw e;
      }
      const answers = await started.reconfigure(next);
      if (directory !== null && directoryRoutes !== null) {
        const previous = { directory, plane };
        plane = checked;
        directory = new Directory({ plane: checked, config: next, logger, handoff });
        directoryRoutes.swap(new DirectoryRoutes(directory));
        previous.directory.close();
        await previous.plane?.close();
      } else {
        await checked.close();
      }
      statusRoutes?.reconfigure(next);
      logger.level = next.logLevel;
      const refusals = answers.flatMap((r, i) => (r === null ? [] : [`worker ${i}: ${r}`]));
      if (refusals.length > 0) {
        throw new ShardgateError('SG_ERR_WORKER', `${refusals.length} of ${answers.length} worker threads could not apply it and keep the previous configuration (${refusals.join('; ')})`);
      }
    };
    if (reload !== null) {
      reloader = new ConfigReloader({ file: reload.file, running: config, load: reload.load, prepare: reload.prepare, apply: swap, events: reload.events, logger });
      await reloader.watch();
    }
    readiness.listening();
    logger.info(
      { address: formatHostPort(pool.address), balancer: config.balancer.algorithm, key: config.key, endpoints: describeEndpoints(config.endpoints), workers: pool.workers },
      'listening',
    );
    process.on('SIGHUP', onHangup);
    const why = await Promise.race([signals.first.then((signal) => ({ signal })), pool.crashed.then((error) => ({ error }))]);
    if ('signal' in why) shuttingDown(why.signal);
    else {
      readiness.shuttingDown();
      logger.error({ err: why.error }, 'a worker thread ended unexpectedly; shutting down');
    }
    const inTime = await pool.stop();
    await closeDirectory();
    await admin?.close();
    logger.info('stopped');
    return 'signal' in why && inTime ? 0 : 1;
  } finally {
    reloader?.close();
    process.off('SIGHUP', onHangup);
    signals.stop();
  }
}

/** Rejects with the reason once `signal` is aborted; never settles otherwise. */
function rejectOnAbort(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal === undefined) return;
    const fail = (): void => {
      const reason: unknown = signal.reason;
      reject(reason instanceof Error ? reason : new Error(String(reason)));
    };
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}

/** The worker's error as this thread can throw it: a ConfigError stays one (exit code 2). */
function rebuildError(e: FailedMessage['error']): Error {
  const code = (e.code !== null && e.code.startsWith('SG_ERR_') ? e.code : 'SG_ERR_WORKER') as ErrorCode;
  if (e.field !== null) {
    const prefix = `${e.field}: `;
    return new ConfigError(code, e.field, e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message);
  }
  return new ShardgateError(code, e.message);
}
