/**
 * Admin routes whose handler is replaced at run time: the admin server takes its route sets once,
 * while a configuration reload builds a new directory over the new data plane. Requests that
 * arrived before a swap finish on the handler they started with.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminRoutes } from './admin-server.js';

export class SwappableRoutes implements AdminRoutes {
  readonly paths: readonly string[];
  #current: AdminRoutes;

  constructor(initial: AdminRoutes) {
    this.paths = initial.paths;
    this.#current = initial;
  }

  /** Answers from now on with `next`, which must serve the same paths. */
  swap(next: AdminRoutes): void {
    this.#current = next;
  }

  handle(req: IncomingMessage, res: ServerResponse): boolean {
    return this.#current.handle(req, res);
  }
}
