/**
 * `shardgate demo --serve`: after the scenes, keep the pods running behind the real pieces of
 * `shardgate serve --admin`, for the reader to try with curl and the examples in examples/, until
 * SIGINT or SIGTERM. Then print what each pod served meanwhile and close everything.
 *
 * The pods are written to an endpoints file (demo-files.ts) that a data plane follows as
 * `--endpoints-file` does; the proxy (ring hash, bounded loads, key header `x-account`, p2c for
 * keyless requests) runs on that plane, and the admin listener answers the directory over it. A
 * client library, a pod-side helper or `shardgate directory` given the same file and routing
 * follows the same pods and names the same owners.
 */
import type { Logger } from 'pino';
import { pino } from 'pino';
import { AdminServer } from '../admin/admin-server.js';
import type { AdminRoutes } from '../admin/admin-server.js';
import { adminPage, planeStatusSource, rotationOf } from '../admin/status-routes.js';
import { readThreadStatus } from '../admin/thread-status.js';
import { Readiness } from '../admin/readiness.js';
import { seededRng } from '../balancer/rng.js';
import type { ShardgateConfig } from '../config/config.js';
import { parseConfig } from '../config/config.js';
import { createDataPlane } from '../dataplane/create-data-plane.js';
import { followSets } from '../dataplane/follow-sets.js';
import { Directory } from '../directory/directory.js';
import { DirectoryRoutes } from '../directory/directory-routes.js';
import { describeEndpoints, openEndpointSource } from '../discovery/configured-source.js';
import type { ShardingProxy } from '../proxy/proxy.js';
import { createProxy } from '../proxy/create-proxy.js';
import { ReloadEvents } from '../config/reload-events.js';
import { createRequestRecorder } from '../metrics/create-request-recorder.js';
import { LocalThreads } from '../metrics/local-threads.js';
import { MembershipMoves } from '../metrics/membership-moves.js';
import { MetricsRoutes } from '../metrics/metrics-routes.js';
import { ProcessMetrics } from '../metrics/process-metrics.js';
import { DemoFiles, defaultDemoDir } from './demo-files.js';
import { KEY_HEADER } from './demo-proxy.js';
import type { PodFleet } from './pods.js';
import { listenPreferred } from './preferred-port.js';
import type { Bound } from './preferred-port.js';
import type { Report } from './report.js';
import { renderTable } from './table.js';

export interface ServeOptions {
  /** The proxy's port to try first; an ephemeral one is used when it is taken. */
  readonly port: number;
  /** The admin listener's (directory and probes) port to try first; ephemeral when taken. */
  readonly adminPort: number;
  /** Where the endpoints file and demo.json go (demo-files.ts). */
  readonly dir: string;
  readonly loadFactor: number;
  readonly seed: number;
  /** Stops serving as SIGINT would; for callers that embed the demo. */
  readonly signal?: AbortSignal;
}

const KEYLESS = 'p2c';

export async function serveUntilStopped(fleet: PodFleet, report: Report, options: ServeOptions): Promise<void> {
  const files = new DemoFiles(options.dir);
  // What decides owners: the proxy, the directory, and every example that follows the demo use it.
  const routing = {
    endpointsFile: files.endpointsFile,
    balancer: { algorithm: 'ring-hash', boundedLoad: options.loadFactor, keyless: KEYLESS },
    key: `header:${KEY_HEADER}`,
  };
  const config = parseConfig({ ...routing, listen: '127.0.0.1:0' }, { file: 'shardgate demo --serve' });
  const logger = pino({ level: 'silent' });
  const stop = waitForStop(options.signal);
  /** Everything started, stopped last first. */
  const started: (() => Promise<void> | void)[] = [() => files.remove(), () => stop.dispose()];
  try {
    await files.writeEndpoints(fleet.endpointSpecs());
    const served = await serveFile(config, options, logger, started);
    const info = { proxy: origin(served.proxy.port), admin: origin(served.admin.port), endpointsFile: files.endpointsFile, keyHeader: KEY_HEADER, config: routing };
    await files.writeInfo(info);
    fleet.reset();
    // The examples find demo.json in the default folder by themselves; elsewhere they are told.
    const exampleArgument = options.dir === defaultDemoDir() ? '' : ` ${files.infoFile}`;
    const taken = (b: Bound<unknown>, asked: number): string => (b.fellBack ? ` (port ${asked} is taken)` : '');
    report.raw(
      `\nServing: shardgate on ${info.proxy}${taken(served.proxy, options.port)}\n` +
        `  ring hash, bounded loads c = ${options.loadFactor}, key header ${KEY_HEADER}, requests without a key: ${KEYLESS}\n` +
        `  pods: ${fleet.pods.map((p) => `${p.name} ${p.address}`).join(', ')}\n` +
        `  directory and probes (admin listener): ${info.admin}${taken(served.admin, options.adminPort)}\n` +
        `  the admin page, live: ${info.admin}/\n` +
        `  endpoints file, watched: ${files.endpointsFile}\n` +
        `  for the examples: ${files.infoFile}\n\n` +
        `Try:\n` +
        `  curl -s -H '${KEY_HEADER}: 42' ${info.proxy}/\n` +
        `  for i in 1 2 3 4 5 6; do curl -s -H '${KEY_HEADER}: 42' ${info.proxy}/; echo; done   # same pod every time\n` +
        `  for i in 1 2 3 4 5 6; do curl -s ${info.proxy}/; echo; done                      # no key: spread by ${KEYLESS}\n` +
        `  curl -s '${info.admin}/v1/owner?key=42'                           # the directory: who owns account 42\n` +
        `  node examples/proxy.mjs${exampleArgument}      # also client.mjs, directory.mjs, owner.mjs: see examples/README.md\n\n` +
        `Ctrl-C (SIGINT) or SIGTERM stops the demo.\n`,
    );
    const why = await stop.stopped;
    report.raw(`\n${why}: stopping. Requests served while serving:\n\n`);
    report.raw(renderTable([{ header: 'pod' }, { header: 'requests', align: 'right' }, { header: 'accounts', align: 'right' }], fleet.pods.map((p) => [p.name, String(p.requestCount), String(p.keys.size)])));
  } finally {
    for (const release of started.reverse()) await release();
  }
}

interface Served {
  readonly proxy: Bound<ShardingProxy>;
  readonly admin: Bound<AdminServer>;
}

/**
 * What `shardgate serve --admin` runs, on loopback: a data plane following the endpoints file,
 * the proxy on it, the directory over it, the metrics and the admin page. Each piece started is pushed onto `started`.
 */
async function serveFile(config: ShardgateConfig, options: ServeOptions, logger: Logger, started: (() => Promise<void> | void)[]): Promise<Served> {
  const configured = await openEndpointSource(config.endpoints, { handoffDelayMs: config.handoffDelayMs });
  const plane = createDataPlane(config, { logger, rng: seededRng(options.seed) });
  started.push(() => plane.close());
  const directory = new Directory({ plane, config, handoff: configured.handoff, logger });
  started.push(() => directory.close());
  const readiness = new Readiness(describeEndpoints(config.endpoints));
  readiness.attach(configured.source);
  const follower = followSets(configured.source, (set) => plane.apply(set), { logger, readiness });
  started.push(() => follower.unsubscribe());
  await follower.first;
  // The metrics and hot keys, as serve --admin has them, so that the page shows the hot keys too.
  const recorder = createRequestRecorder(config.accessLog, plane, logger);
  started.push(() => recorder.metrics.close());
  const moves = new MembershipMoves(config);
  started.push(plane.onSet((set) => moves.applied(set)));
  const proxy = await listenPreferred(options.port, () => createProxy(config, plane, logger, recorder));
  started.push(() => proxy.server.close());
  recorder.metrics.queued = () => proxy.server.queued;
  const metrics = new MetricsRoutes(new ProcessMetrics({ readiness, reloads: new ReloadEvents(), moves }), new LocalThreads(recorder));
  const routes: AdminRoutes[] = [new DirectoryRoutes(directory), metrics];
  routes.push(...adminPage(config, planeStatusSource(() => plane, () => proxy.server.queued, () => directory), routes));
  readiness.inspect(() => rotationOf(readThreadStatus(plane, 0)));
  const admin = await listenPreferred(options.adminPort, () => new AdminServer(readiness, routes));
  started.push(() => admin.server.close());
  readiness.listening();
  return { proxy, admin };
}

function origin(port: number): string {
  return `http://127.0.0.1:${port}`;
}

interface StopWaiter {
  /** Resolves with what stopped the demo: the signal's name or `aborted`. */
  readonly stopped: Promise<string>;
  /** Removes the signal handlers, so that a later Ctrl-C ends the process as usual. */
  dispose(): void;
}

function waitForStop(signal: AbortSignal | undefined): StopWaiter {
  let resolve!: (why: string) => void;
  const stopped = new Promise<string>((r) => {
    resolve = r;
  });
  const onSignal = (name: NodeJS.Signals): void => resolve(name);
  const onAbort = (): void => resolve('aborted');
  // Handlers go in before the curl line is printed: a Ctrl-C from then on closes servers cleanly.
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  if (signal?.aborted === true) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  return {
    stopped,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      signal?.removeEventListener('abort', onAbort);
    },
  };
}
