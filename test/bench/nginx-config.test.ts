import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { nginxConfig } from '../../bench/proxy/nginx-config.js';
import type { NginxOptions } from '../../bench/proxy/nginx-config.js';

const PODS = [
  { name: 'pod-0', port: 9000 },
  { name: 'pod-1', port: 9001 },
];
const BASE: NginxOptions = { workers: 1, mode: 'round-robin', pods: PODS, h1Port: 8080, h2Port: 8081, maxConnections: 12_000, prefix: '/tmp/x/' };

function lines(text: string): string[] {
  return text.split('\n').map((l) => l.trim());
}

test('nginxConfig: foreground, one worker, everything it writes under the prefix', () => {
  const l = lines(nginxConfig(BASE));
  for (const want of ['daemon off;', 'worker_processes 1;', 'pid /tmp/x/nginx.pid;', 'error_log /tmp/x/error.log warn;', 'proxy_temp_path /tmp/x/proxy;', 'worker_connections 12000;']) {
    assert.ok(l.includes(want), `missing "${want}"`);
  }
});

test('nginxConfig: HTTP/1.1 and h2c listeners, keep-alive upstreams without a request limit', () => {
  const l = lines(nginxConfig(BASE));
  for (const want of ['listen 127.0.0.1:8080;', 'listen 127.0.0.1:8081 http2;', 'server 127.0.0.1:9000;', 'server 127.0.0.1:9001;', 'proxy_http_version 1.1;', 'proxy_set_header Connection "";']) {
    assert.ok(l.includes(want), `missing "${want}"`);
  }
  assert.ok(l.some((x) => /^keepalive \d+;$/.test(x)));
  assert.ok(l.filter((x) => /^keepalive_requests \d{6,};$/.test(x)).length === 2, 'client and upstream keep-alive request limits raised');
});

test('nginxConfig: consistent hashing on the key header only in hash mode', () => {
  assert.ok(!nginxConfig(BASE).includes('hash '));
  assert.ok(lines(nginxConfig({ ...BASE, mode: 'hash' })).includes('hash $http_x_key consistent;'));
});

const nginx = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));

test('nginxConfig: the real nginx accepts both modes (nginx -t)', { skip: nginx === undefined && 'nginx is not installed' }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nginx-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const mode of ['round-robin', 'hash'] as const) {
    const path = join(dir, `${mode}.conf`);
    writeFileSync(path, nginxConfig({ ...BASE, mode, prefix: dir, maxConnections: 256 }));
    const r = spawnSync(nginx!, ['-t', '-p', `${dir}/`, '-c', path, '-e', join(dir, 'error.log')], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${mode}: ${r.stderr}`);
    assert.match(r.stderr, /test is successful/, mode);
  }
});
