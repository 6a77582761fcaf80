/**
 * The entry point of a worker thread (workers.ts starts it). The thread builds a request path of
 * its own (data-plane.ts) over the process's shared in-flight counts, routes with the endpoint set
 * it was started with, and listens on its own descriptor of the shared socket. Then it follows the
 * supervisor: new sets (answered with the generation it serves), reloaded configurations (a new
 * plane swapped into the proxy, answered with the refusal if any), reports, and stop, on which the
 * proxy shuts down gracefully (in-flight requests get the shutdown grace) and the thread ends. It
 * tells the supervisor of failed connects when asked to, since discovery runs there.
 *
 * Logs are JSON lines on stdout, as the supervisor's, with `worker` naming the thread.
 */
import { closeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { createEndpointSet } from '../balancer/endpoint.js';
import type { Endpoint } from '../balancer/endpoint.js';
import { SharedLoads } from '../balancer/shared-loads.js';
import { ConfigError } from '../errors.js';
import { createDataPlane } from '../dataplane/create-data-plane.js';
import type { DataPlane } from '../dataplane/data-plane.js';
import { createProxy, swapPlane } from '../proxy/create-proxy.js';
import { readThreadStatus } from '../admin/thread-status.js';
import type { ShardingProxy } from '../proxy/proxy.js';
import type { ConfigMessage, EndpointsMessage, FailedMessage, FromWorker, ToWorker, WorkerData } from './messages.js';
import { createRequestRecorder } from '../metrics/create-request-recorder.js';
import type { RequestRecorder } from '../metrics/request-recorder.js';

function describe(e: unknown): FailedMessage['error'] {
  if (!(e instanceof Error)) return { name: 'Error', code: null, field: null, message: String(e) };
  const code = (e as { code?: unknown }).code;
  return { name: e.name, code: typeof code === 'string' ? code : null, field: e instanceof ConfigError ? e.field : null, message: e.message };
}

/** Slots first, so that the board finds every name's cell when the plane applies the set. */
function apply(plane: DataPlane, shared: SharedLoads, m: EndpointsMessage): void {
  const set = createEndpointSet(m.specs, m.version);
  shared.setSlots(m.specs.map((s) => s.name), m.slots);
  plane.apply(set);
}

async function run(data: WorkerData): Promise<void> {
  const port = parentPort!;
  const post = (m: FromWorker): void => port.postMessage(m);
  const logger: Logger = pino({ level: data.logLevel, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: 1, sync: true })).child({ worker: data.worker });
  const shared = new SharedLoads(data.buffer);
  let plane: DataPlane | null = null;
  let proxy: ShardingProxy | null = null;
  let recorder: RequestRecorder | null = null;
  let listening = false;
  let address: { host: string; port: number };
  const onConnectFailure = data.reportConnectFailures ? (e: Endpoint) => post({ kind: 'connect-failed', endpoint: e.name }) : null;
  try {
    plane = createDataPlane(data.config, { logger, shared, onConnectFailure });
    recorder = createRequestRecorder(data.config.accessLog, plane, logger);
    proxy = await createProxy(data.config, plane, logger, recorder);
    const px = proxy;
    recorder.metrics.queued = () => px.queued;
    apply(plane, shared, data.endpoints);
    listening = true;
    // The listener takes the descriptor as Node's `listen({ fd })` does.
    address = await proxy.listenOn({ fd: data.fd });
  } catch (e) {
    // The descriptor is this thread's to close (shared-listener.ts); a listener that failed has closed it.
    if (!listening) closeSync(data.fd);
    post({ kind: 'failed', error: describe(e) });
    await proxy?.close();
    await plane?.close();
    port.close();
    return;
  }
  // Replaced by a reload; sets and reports go to the current one.
  let p = plane;
  const px = proxy;
  const rec = recorder;
  /** A new plane over the same shared counts (the slots are set already), swapped in; the metrics read it from then on. */
  const reconfigure = async (m: ConfigMessage): Promise<void> => {
    p = await swapPlane(px, p, m.config, { logger, shared, onConnectFailure });
    rec.metrics.rebind(p);
    logger.level = m.config.logLevel;
  };
  let served = data.endpoints.generation;
  post({ kind: 'ready', address });
  port.on('message', (m: ToWorker) => {
    switch (m.kind) {
      case 'endpoints': {
        let refused: string | null = null;
        try {
          apply(p, shared, m);
          served = m.generation;
        } catch (e) {
          refused = e instanceof Error ? e.message : String(e);
          logger.error({ err: e, version: m.version }, 'endpoint set refused; the previous set keeps serving');
        }
        post({ kind: 'served', generation: served, refused });
        break;
      }
      case 'config':
        reconfigure(m).then(
          () => post({ kind: 'configured', id: m.id, refused: null }),
          (e: unknown) => {
            logger.error({ err: e }, 'configuration refused; the previous one keeps serving');
            post({ kind: 'configured', id: m.id, refused: e instanceof Error ? e.message : String(e) });
          },
        );
        break;
      case 'report': {
        let requests = 0;
        for (const l of p.board.loads) requests += l.picks;
        post({ kind: 'report', requests });
        break;
      }
      case 'metrics':
        rec.metrics.snapshot().then(
          (snapshot) => post({ kind: 'metrics', snapshot }),
          (e: unknown) => {
            logger.error({ err: e }, 'collecting the metrics failed');
            post({ kind: 'metrics', snapshot: { metrics: [], hotKeys: { windowS: rec.metrics.hotKeys.windowS, total: 0, keys: [] } } });
          },
        );
        break;
      case 'access-log':
        rec.accessLog.configure(m.settings);
        break;
      case 'status':
        post({ kind: 'status', status: readThreadStatus(p, px.queued) });
        break;
      case 'stop':
        px.close().then(
          () => p.close(),
        ).then(
          () => port.close(),
          (e: unknown) => {
            logger.error({ err: e }, 'shutdown failed');
            port.close();
          },
        );
        break;
      default: {
        const never: never = m;
        logger.error({ message: never }, 'unknown message from the supervisor');
      }
    }
  });
}

await run(workerData as WorkerData);
