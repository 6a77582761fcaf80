import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Backend } from '../../../bench/faults/targets.js';
import { endpointsFileText, haproxyFaultConfig, reloadBackends, shardgateFaultArgs } from '../../../bench/faults/targets.js';
import { parseEndpointsText } from '../../../src/config/endpoints.js';

const PODS: Backend[] = [
  { name: 'pod-0', port: 9000, weight: 1 },
  { name: 'pod-1', port: 9001, weight: 2 },
];

function lines(text: string): string[] {
  return text.split('\n').map((l) => l.trim());
}

/** The value after `flag` in an argument list. */
function flag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
}

test('endpointsFileText: shardgate reads back every pod with its address and weight', () => {
  const set = parseEndpointsText(endpointsFileText(PODS), 'endpoints.yaml');
  assert.deepEqual(
    set.endpoints.map((e) => [e.name, e.address, e.weight]),
    [
      ['pod-0', '127.0.0.1:9000', 1],
      ['pod-1', '127.0.0.1:9001', 2],
    ],
  );
});

test('shardgateFaultArgs: one worker, round robin, 3 retries, health checks, the shared timeouts, the connection limit', () => {
  const args = shardgateFaultArgs({ port: 8080, endpointsFile: '/run/endpoints.yaml', maxConnections: 256 });
  assert.equal(args[0], 'serve');
  const want: Record<string, string> = {
    '--listen': '127.0.0.1:8080',
    '--endpoints-file': '/run/endpoints.yaml',
    '--workers': '1',
    '--balancer': 'round-robin',
    '--retries': '3',
    '--retry-on': 'connect-failure,refused-stream,unread-reset,reset,gateway-error,timeout',
    '--outlier-consecutive-5xx': '5',
    '--health-check': '/healthz',
    '--health-interval-ms': '2000',
    '--connect-timeout-ms': '2000',
    '--upstream-headers-timeout-ms': '10000',
    '--upstream-body-timeout-ms': '10000',
    '--client-headers-timeout-ms': '10000',
    '--client-idle-timeout-ms': '60000',
    '--client-body-timeout-ms': '30000',
    '--max-connections': '256',
  };
  for (const [name, value] of Object.entries(want)) assert.equal(flag(args, name), value, name);
  assert.ok(!args.includes('--no-outlier-detection'), 'outlier detection stays on');
  assert.ok(!args.includes('--max-inflight'));
  const limited = shardgateFaultArgs({ port: 8080, endpointsFile: 'e.yaml', maxConnections: 256, perPod: { inFlight: 1, queueTimeoutS: 30 } });
  assert.equal(flag(limited, '--max-inflight'), '1');
  assert.equal(flag(limited, '--queue-timeout-ms'), '30000');
});

test('haproxyFaultConfig: retries with redispatch, layer 7 observing, the same health checks, timeouts and limit', () => {
  const l = lines(haproxyFaultConfig({ port: 8080, backends: PODS, maxConnections: 256 }));
  for (const want of [
    'nbthread 1',
    'maxconn 256',
    'retries 3',
    'option redispatch 1',
    'retry-on all-retryable-errors',
    'http-reuse safe',
    'timeout client 30s',
    'timeout http-request 10s',
    'timeout server 10s',
    'timeout check 1s',
    'balance roundrobin',
    'option httpchk GET /healthz',
    'bind 127.0.0.1:8080',
    'server pod-1 127.0.0.1:9001 weight 2 check inter 2s fall 3 rise 2 observe layer7 error-limit 5 on-error mark-down',
  ]) {
    assert.ok(l.includes(want), `missing "${want}"`);
  }
  assert.ok(l.some((x) => x.startsWith('http-request disable-l7-retry unless METH_GET')), 'POST must not be replayed');
  assert.ok(!l.some((x) => x.startsWith('timeout queue')));
  const limited = lines(haproxyFaultConfig({ port: 8080, backends: PODS, maxConnections: 256, perPod: { inFlight: 1, queueTimeoutS: 30 } }));
  assert.ok(limited.includes('timeout queue 30s'));
  assert.ok(limited.some((x) => x.startsWith('server pod-0 127.0.0.1:9000 weight 1 maxconn 1 check')));
});

const haproxy = ['/usr/sbin/haproxy', '/usr/bin/haproxy'].find((p) => existsSync(p));

test('haproxyFaultConfig: the real HAProxy accepts it without a warning, with and without a per-pod limit (haproxy -c)', { skip: haproxy === undefined && 'haproxy is not installed' }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'haproxy-faults-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const perPod of [undefined, { inFlight: 1, queueTimeoutS: 30 }]) {
    const path = join(dir, 'haproxy.cfg');
    writeFileSync(path, haproxyFaultConfig({ port: 8080, backends: PODS, maxConnections: 256, perPod }));
    const r = spawnSync(haproxy!, ['-c', '-f', path], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.doesNotMatch(`${r.stdout}${r.stderr}`, /WARNING|ALERT/);
  }
});

test('reloadBackends: every reload changes the set (the extra pod in and out, the first weight 1, 2, 2, 1); every fourth leaves it as it was', () => {
  const extra: Backend = { name: 'pod-2', port: 9002, weight: 1 };
  const base: Backend[] = PODS.map((p) => ({ ...p, weight: 1 }));
  const describe = (b: readonly Backend[]): string => b.map((x) => `${x.name}:${x.weight}`).join(' ');
  const seen = Array.from({ length: 8 }, (_, i) => describe(reloadBackends(i, base, extra)));
  assert.deepEqual(seen.slice(0, 4), ['pod-0:1 pod-1:1 pod-2:1', 'pod-0:2 pod-1:1', 'pod-0:2 pod-1:1 pod-2:1', 'pod-0:1 pod-1:1']);
  assert.deepEqual(seen.slice(4), seen.slice(0, 4));
  assert.equal(seen[3], describe(base));
  for (let i = 1; i < seen.length; i++) assert.notEqual(seen[i], seen[i - 1], `reload ${i} changes nothing`);
});
