/**
 * `GET /v1/status` on the admin listener: the snapshot status-snapshot.ts builds, read when asked
 * (the page polls it once a second). The views come from `read`: the plane of this thread
 * (`shardgate serve`, the demo), or every worker's, asked over its MessagePort (`--workers N`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { ShardgateConfig } from '../config/config.js';
import type { DataPlane } from '../dataplane/data-plane.js';
import type { Directory } from '../directory/directory.js';
import type { AdminRoutes } from './admin-server.js';
import { replyJson } from './json-reply.js';
import { PageRoutes } from './page-routes.js';
import { PROBE_PATHS } from './probes.js';
import type { EndpointRotation } from './readiness.js';
import { ringPicture } from './ring-picture.js';
import type { RingPicture } from './ring-picture.js';
import { buildStatus } from './status-snapshot.js';
import type { StatusContext, StatusSnapshot } from './status-snapshot.js';
import { readThreadStatus } from './thread-status.js';
import type { ThreadStatus } from './thread-status.js';

export const STATUS_PATH = '/v1/status';
/** The ring of a ring-hash balancer, for the page's key-space picture (ring-picture.ts); 404 for other algorithms. */
export const RING_PATH = '/v1/status/ring';

export interface StatusSource {
  /** Every serving thread's view, read now; rejects when they cannot be read (workers not started yet). */
  views(): Promise<readonly ThreadStatus[]>;
  /** The directory's generation of the set, or null without a directory. */
  generation(): number | null;
  /** The ring now, or null when there is none (no directory, another algorithm, no set yet). */
  ring(): RingPicture | null;
}

export class StatusRoutes implements AdminRoutes {
  readonly paths: readonly string[] = [STATUS_PATH, RING_PATH];
  #context: StatusContext;
  readonly #source: StatusSource;
  readonly #listed: () => readonly AdminRoutes[];

  /**
   * `listed` gives every route set of the admin listener, read at each answer: the status names
   * their paths (`paths`), so that the page asks only what is served (no 404 in its console).
   */
  constructor(context: StatusContext, source: StatusSource, listed: () => readonly AdminRoutes[]) {
    this.#context = context;
    this.#source = source;
    this.#listed = listed;
  }

  /** A reload applied `config`: the status names its balancer and key from now on. */
  reconfigure(config: ShardgateConfig): void {
    this.#context = statusContext(config);
  }

  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const path = q < 0 ? target : target.slice(0, q);
    if (!this.paths.includes(path)) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      replyJson(res, 405, { error: `${req.method ?? ''} is not allowed on ${path}: use GET` }, { allow: 'GET, HEAD' });
      return true;
    }
    if (path === RING_PATH) {
      const ring = this.#source.ring();
      if (ring === null) replyJson(res, 404, { error: `no ring to show: the balancer is ${this.#context.algorithm} (a ring is drawn for ring-hash, with the directory on this listener)` });
      else replyJson(res, 200, ring);
      return true;
    }
    this.#source.views().then(
      (views) => {
        if (views.length === 0) {
          replyJson(res, 503, { error: 'no serving thread answered yet: try again once the proxy listens' });
          return;
        }
        const snapshot = buildStatus(views, this.#context, this.#source.generation(), Date.now(), performance.now());
        replyJson(res, 200, { ...snapshot, paths: [...PROBE_PATHS, ...this.#listed().flatMap((r) => r.paths)] } satisfies StatusAnswer);
      },
      (e: unknown) => replyJson(res, 503, { error: `status cannot be read now: ${e instanceof Error ? e.message : String(e)}` }),
    );
    return true;
  }
}

/** What `GET /v1/status` answers: the snapshot and the admin listener's paths. */
export interface StatusAnswer extends StatusSnapshot {
  readonly paths: readonly string[];
}

/** The routing config the status names, from the parsed config. */
export function statusContext(config: ShardgateConfig): StatusContext {
  const b = config.balancer;
  const keyed = 'keyless' in b;
  return {
    algorithm: b.algorithm,
    keyless: keyed ? b.keyless.algorithm : null,
    boundedLoad: keyed ? b.loadFactor : null,
    keySource: config.key,
    keyTransform: config.keyTransform,
  };
}

/** Each endpoint's state in one thread's view, for strict readiness. */
export function rotationOf(view: ThreadStatus): EndpointRotation[] {
  return view.endpoints.map((e) => ({ name: e.name, state: e.out[0] ?? 'ready' }));
}

/**
 * The status of one thread's plane (`shardgate serve` without workers, the demo), with the
 * directory's generation and ring. Both are read through getters: a reload swaps them.
 */
export function planeStatusSource(plane: () => DataPlane, queued: () => number, directory: () => Directory | null): StatusSource {
  return { views: () => Promise.resolve([readThreadStatus(plane(), queued())]), ...directoryParts(directory) };
}

/** What the directory (null: none on this listener) adds to the status: its generation and ring. */
export function directoryParts(directory: () => Directory | null): Pick<StatusSource, 'generation' | 'ring'> {
  return {
    generation: () => directory()?.current?.generation ?? null,
    ring: () => {
      const current = directory()?.current ?? null;
      return current === null ? null : ringPicture(current);
    },
  };
}

/**
 * The status and the page, for an admin listener whose route sets are `routes` (these two
 * included once the caller adds them): `routes.push(...adminPage(config, source, routes))`.
 * @throws when the page's files are missing (PageRoutes)
 */
export function adminPage(config: ShardgateConfig, source: StatusSource, routes: readonly AdminRoutes[]): AdminRoutes[] {
  return [new StatusRoutes(statusContext(config), source, () => routes), new PageRoutes()];
}
