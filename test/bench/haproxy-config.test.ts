import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { haproxyConfig } from '../../bench/proxy/haproxy-config.js';
import type { HaproxyOptions } from '../../bench/proxy/haproxy-config.js';

const PODS = [
  { name: 'pod-0', port: 9000 },
  { name: 'pod-1', port: 9001 },
];
const BASE: HaproxyOptions = { threads: 2, mode: 'round-robin', pods: PODS, h1Port: 8080, h2Port: 8081, maxConnections: 12_000 };

function lines(text: string): string[] {
  return text.split('\n').map((l) => l.trim());
}

test('haproxyConfig: threads, connection limit, listeners for HTTP/1.1 and h2c, named servers', () => {
  const l = lines(haproxyConfig(BASE));
  for (const want of ['nbthread 2', 'maxconn 12000', 'bind 127.0.0.1:8080', 'bind 127.0.0.1:8081 proto h2', 'server pod-0 127.0.0.1:9000', 'server pod-1 127.0.0.1:9001', 'http-reuse always', 'timeout http-keep-alive 60s']) {
    assert.ok(l.includes(want), `missing "${want}"`);
  }
});

test('haproxyConfig: round robin, or the key header on a consistent ring with bounded loads 125', () => {
  const rr = lines(haproxyConfig(BASE));
  assert.ok(rr.includes('balance roundrobin'));
  assert.ok(!rr.some((l) => l.startsWith('hash-')));
  const hash = lines(haproxyConfig({ ...BASE, mode: 'hash' }));
  assert.ok(hash.includes('balance hdr(x-key)'));
  assert.ok(hash.includes('hash-type consistent'));
  assert.ok(hash.includes('hash-balance-factor 125'));
  assert.ok(!hash.includes('balance roundrobin'));
});

const haproxy = ['/usr/sbin/haproxy', '/usr/bin/haproxy'].find((p) => existsSync(p));

test('haproxyConfig: the real HAProxy accepts both modes (haproxy -c)', { skip: haproxy === undefined && 'haproxy is not installed' }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'haproxy-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const mode of ['round-robin', 'hash'] as const) {
    const path = join(dir, `${mode}.cfg`);
    writeFileSync(path, haproxyConfig({ ...BASE, mode, threads: 1, maxConnections: 100 }));
    const r = spawnSync(haproxy!, ['-c', '-f', path], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${mode}: ${r.stdout}${r.stderr}`);
    assert.doesNotMatch(`${r.stdout}${r.stderr}`, /WARNING|ALERT/, mode);
  }
});
