/**
 * The settings a running proxy cannot change in place: they shape its sockets (the listen and
 * admin addresses, TLS on the listener, the limits Node fixes when a server is made), its threads,
 * or its endpoint source. A reload applies everything else and names these in its log line, so a
 * change to them is never silently ignored; they take effect on the next start.
 *
 * Compared on the parsed configuration, so that a default written out (`listen: 0.0.0.0:8080`) is
 * no change.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ShardgateConfig } from './config.js';

/** Each restart-only setting by its config path, with how to read it from a parsed configuration. */
export const RESTART_ONLY: readonly { readonly path: string; readonly read: (c: ShardgateConfig) => unknown }[] = [
  { path: 'listen', read: (c) => c.listen },
  { path: 'admin', read: (c) => c.admin },
  { path: 'workers', read: (c) => c.workers },
  // The source is opened once; edit the endpoints file (it is watched) to change the endpoints.
  { path: 'endpoints', read: (c) => c.endpoints },
  { path: 'handoffDelayMs', read: (c) => c.handoffDelayMs },
  { path: 'proxy.tls', read: (c) => c.proxy.tls },
  { path: 'proxy.maxHeaderBytes', read: (c) => c.proxy.maxHeaderBytes },
  { path: 'proxy.maxHeaderCount', read: (c) => c.proxy.maxHeaderCount },
  { path: 'proxy.maxConnections', read: (c) => c.proxy.maxConnections },
  { path: 'proxy.maxConcurrentStreams', read: (c) => c.proxy.maxConcurrentStreams },
  { path: 'proxy.timeouts.clientHeadersMs', read: (c) => c.proxy.timeouts.clientHeadersMs },
  { path: 'proxy.timeouts.clientIdleMs', read: (c) => c.proxy.timeouts.clientIdleMs },
  { path: 'proxy.timeouts.clientBodyMs', read: (c) => c.proxy.timeouts.clientBodyMs },
  { path: 'proxy.timeouts.streamIdleMs', read: (c) => c.proxy.timeouts.streamIdleMs },
  { path: 'proxy.timeouts.shutdownGraceMs', read: (c) => c.proxy.timeouts.shutdownGraceMs },
  // Read when a client connection is accepted, from the options the proxy was made with.
  { path: 'proxy.timeouts.maxConnectionAgeMs', read: (c) => c.proxy.timeouts.maxConnectionAgeMs },
  { path: 'proxy.timeouts.maxConnectionAgeGraceMs', read: (c) => c.proxy.timeouts.maxConnectionAgeGraceMs },
  // The access log is opened once; POST /v1/access-log switches it and its rate at run time.
  { path: 'accessLog', read: (c) => c.accessLog },
];

export interface ReloadPlan {
  /** `next` with every restart-only setting kept as it runs: what the reload applies. */
  readonly config: ShardgateConfig;
  /** The restart-only settings `next` changes, by path. */
  readonly restartNeeded: string[];
}

/** What a reload from `running` to `next` applies, and what it leaves to a restart. */
export function planReload(running: ShardgateConfig, next: ShardgateConfig): ReloadPlan {
  const restartNeeded = RESTART_ONLY.filter((f) => !isDeepStrictEqual(f.read(running), f.read(next))).map((f) => f.path);
  // Unchanged, the running value is the next one too: every restart-only setting keeps it.
  const rt = running.proxy.timeouts;
  const config: ShardgateConfig = {
    ...next,
    listen: running.listen,
    admin: running.admin,
    workers: running.workers,
    endpoints: running.endpoints,
    handoffDelayMs: running.handoffDelayMs,
    accessLog: running.accessLog,
    proxy: {
      ...next.proxy,
      tls: running.proxy.tls,
      maxHeaderBytes: running.proxy.maxHeaderBytes,
      maxHeaderCount: running.proxy.maxHeaderCount,
      maxConnections: running.proxy.maxConnections,
      maxConcurrentStreams: running.proxy.maxConcurrentStreams,
      timeouts: {
        ...next.proxy.timeouts,
        clientHeadersMs: rt.clientHeadersMs,
        clientIdleMs: rt.clientIdleMs,
        clientBodyMs: rt.clientBodyMs,
        streamIdleMs: rt.streamIdleMs,
        shutdownGraceMs: rt.shutdownGraceMs,
        maxConnectionAgeMs: rt.maxConnectionAgeMs,
        maxConnectionAgeGraceMs: rt.maxConnectionAgeGraceMs,
      },
    },
  };
  return { config, restartNeeded };
}
