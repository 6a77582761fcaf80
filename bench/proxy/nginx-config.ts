/**
 * nginx configuration equivalent to a shardgate serve: one worker per thread asked for, keep-alive
 * upstream connections (HTTP/1.1, `Connection` cleared, a cache larger than the load's
 * concurrency), no limit on requests per connection on either side (nginx closes after 1,000 by
 * default, which no other proxy here does), the same timeouts and forwarding headers, no access
 * log. Hashing is `hash $http_x_key consistent` (ketama; nginx has no bounded loads). A second
 * listener with `http2` speaks h2c with prior knowledge (nginx 1.22).
 *
 * Everything nginx writes (pid, error log, temp files) is under `prefix`; it runs in the
 * foreground (`daemon off`) so that its process tree can be measured and ended.
 */
import type { PodAddress } from '../common/pod-messages.js';
import type { BalanceMode } from './scenario.js';
import { CLIENT_HEADERS_TIMEOUT_S, CLIENT_IDLE_TIMEOUT_S, CONNECT_TIMEOUT_S, KEY_HEADER, UPSTREAM_TIMEOUT_S } from './scenario.js';

export interface NginxOptions {
  /** worker_processes. */
  readonly workers: number;
  readonly mode: BalanceMode;
  readonly pods: readonly PodAddress[];
  readonly h1Port: number;
  readonly h2Port: number;
  /** worker_connections: client and upstream connections of one worker. */
  readonly maxConnections: number;
  /** An absolute directory that nginx owns for this run (`nginx -p`). */
  readonly prefix: string;
}

/** Idle upstream connections a worker keeps per upstream block; above the 64 in flight. */
const UPSTREAM_KEEPALIVE = 128;

/** "Unlimited" requests per keep-alive connection. */
const MANY_REQUESTS = 100_000_000;

export function nginxConfig(o: NginxOptions): string {
  const headerVariable = `$http_${KEY_HEADER.replaceAll('-', '_')}`;
  const p = o.prefix.replace(/\/+$/, '');
  return [
    `worker_processes ${o.workers};`,
    'daemon off;',
    `pid ${p}/nginx.pid;`,
    `error_log ${p}/error.log warn;`,
    `worker_rlimit_nofile ${o.maxConnections * 2 + 1024};`,
    'events {',
    `  worker_connections ${o.maxConnections};`,
    '}',
    'http {',
    '  access_log off;',
    `  client_body_temp_path ${p}/client_body;`,
    `  proxy_temp_path ${p}/proxy;`,
    `  fastcgi_temp_path ${p}/fastcgi;`,
    `  uwsgi_temp_path ${p}/uwsgi;`,
    `  scgi_temp_path ${p}/scgi;`,
    `  keepalive_timeout ${CLIENT_IDLE_TIMEOUT_S}s;`,
    `  keepalive_requests ${MANY_REQUESTS};`,
    `  client_header_timeout ${CLIENT_HEADERS_TIMEOUT_S}s;`,
    '  upstream pods {',
    ...(o.mode === 'hash' ? [`    hash ${headerVariable} consistent;`] : []),
    ...o.pods.map((pod) => `    server 127.0.0.1:${pod.port};`),
    `    keepalive ${UPSTREAM_KEEPALIVE};`,
    `    keepalive_requests ${MANY_REQUESTS};`,
    `    keepalive_timeout ${CLIENT_IDLE_TIMEOUT_S}s;`,
    '  }',
    '  server {',
    `    listen 127.0.0.1:${o.h1Port};`,
    `    listen 127.0.0.1:${o.h2Port} http2;`,
    '    location / {',
    '      proxy_pass http://pods;',
    '      proxy_http_version 1.1;',
    '      proxy_set_header Connection "";',
    '      proxy_set_header Host $host;',
    '      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    '      proxy_set_header X-Forwarded-Proto $scheme;',
    '      proxy_set_header X-Forwarded-Host $host;',
    '      proxy_set_header X-Real-IP $remote_addr;',
    '      proxy_set_header Forwarded "for=$remote_addr;host=$host;proto=$scheme";',
    `      proxy_connect_timeout ${CONNECT_TIMEOUT_S}s;`,
    `      proxy_read_timeout ${UPSTREAM_TIMEOUT_S}s;`,
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');
}
