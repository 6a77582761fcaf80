/**
 * The proxies bench:proxy compares, and the exact command each is started with for a balancing
 * mode. Every target listens on 127.0.0.1; HAProxy, nginx and the fastify proxy take h2c on a
 * second port, shardgate on the same port when it speaks h2c (probed, not assumed).
 */
import { join } from 'node:path';
import { HTTP1_PATH_ENV } from '../../src/proxy/proxy.js';
import { H1_TRANSPORT_ENV } from '../../src/proxy/upstreams.js';
import { haproxyConfig } from './haproxy-config.js';
import { nginxConfig } from './nginx-config.js';
import type { PodAddress } from '../common/pod-messages.js';
import type { BalanceMode } from './scenario.js';
import { BOUNDED_LOAD, KEY_HEADER } from './scenario.js';

export type TargetName = 'haproxy' | 'haproxy-2t' | 'nginx' | 'shardgate' | 'shardgate-prev' | 'shardgate-w2' | 'http-proxy-3' | 'reply-from';

export interface TargetSpec {
  readonly name: TargetName;
  readonly label: string;
  /** Threads or worker processes it may use. */
  readonly threads: number;
  /** The HAProxy with as many threads: what its ratios are against. */
  readonly reference: TargetName;
}

export const TARGETS: readonly TargetSpec[] = [
  { name: 'haproxy', label: 'HAProxy, nbthread 1', threads: 1, reference: 'haproxy' },
  { name: 'nginx', label: 'nginx, 1 worker', threads: 1, reference: 'haproxy' },
  { name: 'shardgate', label: 'shardgate, 1 worker', threads: 1, reference: 'haproxy' },
  // The same on the previous path: Node's HTTP/1.1 server for every client request and undici's Pool
  // toward the pods, instead of the raw path and the raw upstream: what those save.
  { name: 'shardgate-prev', label: 'shardgate, 1 worker, previous path (node:http + undici)', threads: 1, reference: 'haproxy' },
  { name: 'http-proxy-3', label: 'node:http + http-proxy-3', threads: 1, reference: 'haproxy' },
  { name: 'reply-from', label: 'fastify + reply-from (undici)', threads: 1, reference: 'haproxy' },
  { name: 'haproxy-2t', label: 'HAProxy, nbthread 2', threads: 2, reference: 'haproxy-2t' },
  { name: 'shardgate-w2', label: 'shardgate, --workers 2', threads: 2, reference: 'haproxy-2t' },
];

export const TARGET_NAMES: readonly TargetName[] = TARGETS.map((t) => t.name);

export function targetSpec(name: TargetName): TargetSpec {
  return TARGETS.find((t) => t.name === name)!;
}

/** What shardgate's `serve --help` says it can do. */
export interface ShardgateFeatures {
  readonly workers: boolean;
}

export interface LaunchContext {
  readonly pods: readonly PodAddress[];
  readonly h1Port: number;
  /** A second free port, for targets that take h2c on a listener of its own. */
  readonly h2Port: number;
  /** A directory of this instance's own, for configs, pids and logs. */
  readonly dir: string;
  /** The repository root: bin/shardgate.js is under it. */
  readonly repoRoot: string;
  readonly nodeProxyScript: string;
  readonly nodeBinary: string;
  readonly haproxyBinary: string;
  readonly nginxBinary: string;
  readonly shardgate: ShardgateFeatures;
  /** Client connections every proxy must accept (the idle test's, plus room). */
  readonly maxConnections: number;
}

/**
 * Where a target takes h2c: on its own port, on the HTTP/1.1 port if a probe request succeeds
 * (shardgate), or not at all.
 */
export type H2Listener = { readonly kind: 'port'; readonly port: number } | { readonly kind: 'probe'; readonly port: number } | { readonly kind: 'none'; readonly reason: string };

export type Launch =
  | {
      readonly kind: 'run';
      readonly command: string;
      readonly args: readonly string[];
      /** Files to write before starting (configs). */
      readonly files: readonly { readonly path: string; readonly text: string }[];
      /** Environment variables set for it, besides the bench's own. */
      readonly env?: Readonly<Record<string, string>>;
      readonly h1Port: number;
      readonly h2: H2Listener;
    }
  | { readonly kind: 'unsupported'; readonly reason: string };

export function endpointsFlag(pods: readonly PodAddress[]): string {
  return pods.map((p) => `${p.name}=127.0.0.1:${p.port}`).join(',');
}

/** `serve` arguments equivalent to the other proxies' configurations. */
export function shardgateServeArgs(mode: BalanceMode, pods: readonly PodAddress[], port: number, workers: number | null): string[] {
  const balancing = mode === 'round-robin' ? ['--balancer', 'round-robin'] : ['--balancer', 'ring-hash', '--bounded-load', String(BOUNDED_LOAD), '--key', `header:${KEY_HEADER}`];
  return [
    'serve',
    '--listen',
    `127.0.0.1:${port}`,
    '--endpoints',
    endpointsFlag(pods),
    ...balancing,
    // The others add no header naming the pod.
    '--no-endpoint-header',
    ...(workers === null ? [] : ['--workers', String(workers)]),
  ];
}

export function launchFor(spec: TargetSpec, mode: BalanceMode, ctx: LaunchContext): Launch {
  switch (spec.name) {
    case 'haproxy':
    case 'haproxy-2t': {
      const path = join(ctx.dir, 'haproxy.cfg');
      const text = haproxyConfig({ threads: spec.threads, mode, pods: ctx.pods, h1Port: ctx.h1Port, h2Port: ctx.h2Port, maxConnections: ctx.maxConnections });
      return { kind: 'run', command: ctx.haproxyBinary, args: ['-db', '-f', path], files: [{ path, text }], h1Port: ctx.h1Port, h2: { kind: 'port', port: ctx.h2Port } };
    }
    case 'nginx': {
      const prefix = ctx.dir.endsWith('/') ? ctx.dir : `${ctx.dir}/`;
      const path = join(ctx.dir, 'nginx.conf');
      const text = nginxConfig({ workers: spec.threads, mode, pods: ctx.pods, h1Port: ctx.h1Port, h2Port: ctx.h2Port, maxConnections: ctx.maxConnections, prefix: ctx.dir });
      return {
        kind: 'run',
        command: ctx.nginxBinary,
        // -e: the error log before the config is read, which would otherwise be /var/log/nginx.
        args: ['-p', prefix, '-c', path, '-e', join(ctx.dir, 'error.log')],
        files: [{ path, text }],
        h1Port: ctx.h1Port,
        h2: { kind: 'port', port: ctx.h2Port },
      };
    }
    case 'shardgate':
    case 'shardgate-prev':
    case 'shardgate-w2': {
      if (spec.threads > 1 && !ctx.shardgate.workers) return { kind: 'unsupported', reason: 'n/a (not supported): serve --help has no --workers' };
      const workers = ctx.shardgate.workers ? spec.threads : null;
      return {
        kind: 'run',
        command: ctx.nodeBinary,
        args: [join(ctx.repoRoot, 'bin', 'shardgate.js'), ...shardgateServeArgs(mode, ctx.pods, ctx.h1Port, workers)],
        files: [],
        // Named either way, so that the bench's own environment changes no row.
        env: spec.name === 'shardgate-prev' ? { [HTTP1_PATH_ENV]: 'node', [H1_TRANSPORT_ENV]: 'undici' } : { [HTTP1_PATH_ENV]: 'raw', [H1_TRANSPORT_ENV]: 'raw' },
        h1Port: ctx.h1Port,
        h2: { kind: 'probe', port: ctx.h1Port },
      };
    }
    case 'http-proxy-3':
    case 'reply-from': {
      const h2: H2Listener = spec.name === 'reply-from' ? { kind: 'port', port: ctx.h2Port } : { kind: 'none', reason: 'n/a (not supported): http-proxy-3 has no HTTP/2 server side' };
      return {
        kind: 'run',
        command: ctx.nodeBinary,
        args: [ctx.nodeProxyScript, spec.name, mode, String(ctx.h1Port), h2.kind === 'port' ? String(h2.port) : '-', endpointsFlag(ctx.pods)],
        files: [],
        h1Port: ctx.h1Port,
        h2,
      };
    }
    default: {
      const never: never = spec.name;
      throw new Error(`unknown target ${String(never)}`);
    }
  }
}
