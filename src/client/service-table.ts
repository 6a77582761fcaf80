/**
 * Which managed service a request is for, by its origin: one Map lookup of the origin string
 * undici and fetch pass (`url.origin`, already canonical). A few spellings a direct dispatch may
 * use (a trailing slash, the default port written out) are listed as well when the table is
 * built, so that no request is normalised on the way. A miss is a request for another origin,
 * which the dispatcher passes through untouched.
 */
import type { ShardService } from './shard-service.js';

export class ServiceTable {
  readonly services: readonly ShardService[];
  readonly #byOrigin = new Map<string, ShardService>();

  constructor(services: readonly ShardService[]) {
    this.services = services;
    for (const service of services) {
      for (const spelling of spellings(service.origin)) this.#byOrigin.set(spelling, service);
    }
  }

  /** The service requests to `origin` go to, or undefined. */
  get(origin: string | URL | undefined): ShardService | undefined {
    if (typeof origin === 'string') return this.#byOrigin.get(origin);
    return origin instanceof URL ? this.#byOrigin.get(origin.origin) : undefined;
  }

  /** The service configured as `name`, or undefined. */
  byName(name: string): ShardService | undefined {
    return this.services.find((s) => s.name === name);
  }
}

function spellings(origin: string): string[] {
  const url = new URL(origin);
  const out = [origin, `${origin}/`];
  if (url.port === '') {
    const explicit = `${url.protocol}//${url.host}:${url.protocol === 'https:' ? 443 : 80}`;
    out.push(explicit, `${explicit}/`);
  }
  return out;
}
