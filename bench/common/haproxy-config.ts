/**
 * The text of an HAProxy configuration with one HTTP frontend and one backend, the shape every
 * benchmark here runs: a global section (threads, connection limit), defaults with every timeout
 * named, the frontend's listeners, and the backend's balancing lines and servers. What differs
 * between benchmarks (balancing, retries, health checks, reuse) comes in as lines.
 */

export interface HaproxyServer {
  readonly name: string;
  readonly port: number;
  /** HAProxy's default is 1; omitted when absent. */
  readonly weight?: number;
}

/** Every timeout the defaults section sets, in seconds. */
export interface HaproxyTimeouts {
  readonly connectS: number;
  /** Inactivity of the client during a request (`timeout client`). */
  readonly clientS: number;
  /** The whole request head (`timeout http-request`). */
  readonly httpRequestS: number;
  /** An idle keep-alive client connection; without it `timeout http-request` would close it. */
  readonly keepAliveS: number;
  readonly serverS: number;
  /** A health check's answer (`timeout check`); omitted when absent. */
  readonly checkS?: number;
}

export interface HaproxyConfig {
  /** nbthread. */
  readonly threads: number;
  /** Client connections accepted at once, globally and by the frontend. */
  readonly maxConnections: number;
  readonly timeouts: HaproxyTimeouts;
  /** `bind` arguments: `127.0.0.1:8080`, `127.0.0.1:8081 proto h2`. */
  readonly binds: readonly string[];
  /** Further lines of each section, without indentation. */
  readonly globalLines?: readonly string[];
  readonly defaultsLines?: readonly string[];
  readonly frontendLines?: readonly string[];
  /** The balance lines and backend options; the servers follow. */
  readonly backendLines: readonly string[];
  readonly servers: readonly HaproxyServer[];
  /** Appended to every server line (`check inter 2s observe layer7`); none when absent. */
  readonly serverOptions?: string;
}

const indent = (lines: readonly string[] | undefined): string[] => (lines ?? []).map((l) => `  ${l}`);

export function haproxyConfigText(c: HaproxyConfig): string {
  const t = c.timeouts;
  const server = (s: HaproxyServer): string =>
    [`  server ${s.name} 127.0.0.1:${s.port}`, ...(s.weight === undefined ? [] : [`weight ${s.weight}`]), ...(c.serverOptions === undefined ? [] : [c.serverOptions])].join(' ');
  return [
    'global',
    `  nbthread ${c.threads}`,
    `  maxconn ${c.maxConnections}`,
    // Where the hard limit on open files is below HAProxy's estimate (2 per connection), run with
    // what there is rather than refuse to start: idle client connections take one each.
    '  no strict-limits',
    ...indent(c.globalLines),
    '',
    'defaults',
    '  mode http',
    `  timeout connect ${t.connectS}s`,
    `  timeout client ${t.clientS}s`,
    `  timeout http-request ${t.httpRequestS}s`,
    `  timeout http-keep-alive ${t.keepAliveS}s`,
    `  timeout server ${t.serverS}s`,
    ...(t.checkS === undefined ? [] : [`  timeout check ${t.checkS}s`]),
    ...indent(c.defaultsLines),
    '',
    'frontend fe',
    ...c.binds.map((b) => `  bind ${b}`),
    `  maxconn ${c.maxConnections}`,
    ...indent(c.frontendLines),
    '  default_backend pods',
    '',
    'backend pods',
    ...indent(c.backendLines),
    ...c.servers.map(server),
    '',
  ].join('\n');
}
