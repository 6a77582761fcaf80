/**
 * The admin page's status with `--workers N` (src/admin/status-routes.ts): the supervisor serves
 * the admin listener but routes nothing, so each read of `/v1/status` asks every worker for its
 * view over its MessagePort and merges them (status-snapshot.ts says how).
 *
 * Strict readiness (`/readyz?strict`) is answered synchronously, so it cannot wait for the
 * workers: it judges by the views of the previous read, and each strict probe starts a new one.
 * Probes come every few seconds, so what it reports is at most one probe period old; before the
 * first read it knows only the set's draining marks.
 */
import type { Logger } from 'pino';
import type { EndpointRotation } from '../admin/readiness.js';
import { buildStatus } from '../admin/status-snapshot.js';
import type { StatusContext } from '../admin/status-snapshot.js';
import type { RingPicture } from '../admin/ring-picture.js';
import type { StatusSource } from '../admin/status-routes.js';
import type { ThreadStatus } from '../admin/thread-status.js';
import { ShardgateError } from '../errors.js';
import type { WorkerPool } from './workers.js';

export class WorkerStatusSource implements StatusSource {
  readonly #context: StatusContext;
  readonly #directory: Pick<StatusSource, 'generation' | 'ring'>;
  readonly #log: Logger;
  #pool: WorkerPool | null = null;
  #last: readonly ThreadStatus[] | null = null;
  #reading: Promise<unknown> | null = null;

  /** `directory`: the directory's generation and ring (status-routes.ts directoryParts). */
  constructor(context: StatusContext, directory: Pick<StatusSource, 'generation' | 'ring'>, log: Logger) {
    this.#context = context;
    this.#directory = directory;
    this.#log = log;
  }

  /** The workers are running: reads ask them from now on. */
  attach(pool: WorkerPool): void {
    this.#pool = pool;
  }

  /** @throws ShardgateError SG_ERR_WORKER before the workers run */
  async views(): Promise<readonly ThreadStatus[]> {
    const pool = this.#pool;
    if (pool === null) throw new ShardgateError('SG_ERR_WORKER', 'the worker threads are starting');
    const views = await pool.status();
    this.#last = views;
    return views;
  }

  generation(): number | null {
    return this.#directory.generation();
  }

  ring(): RingPicture | null {
    return this.#directory.ring();
  }

  /** Each endpoint's state as of the last read (null before one), and a new read started. */
  rotation(): EndpointRotation[] | null {
    if (this.#pool !== null && this.#reading === null) {
      this.#reading = this.views()
        .catch((e: unknown) => this.#log.warn({ err: e }, 'the workers did not report their endpoints for strict readiness'))
        .finally(() => (this.#reading = null));
    }
    const last = this.#last;
    if (last === null || last.length === 0) return null;
    return buildStatus(last, this.#context, null, 0, 0).endpoints.map((e) => ({ name: e.name, state: e.state }));
  }
}
