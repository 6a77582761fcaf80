import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LaunchContext } from '../../bench/proxy/targets.js';
import { endpointsFlag, launchFor, shardgateServeArgs, targetSpec, TARGETS } from '../../bench/proxy/targets.js';

const PODS = [
  { name: 'pod-0', port: 9000 },
  { name: 'pod-1', port: 9001 },
];

const CTX: LaunchContext = {
  pods: PODS,
  h1Port: 8080,
  h2Port: 8081,
  dir: '/tmp/run/x',
  repoRoot: '/repo',
  nodeProxyScript: '/repo/dist/bench/proxy/node-proxy-process.js',
  nodeBinary: '/usr/bin/node',
  haproxyBinary: '/usr/sbin/haproxy',
  nginxBinary: '/usr/sbin/nginx',
  shardgate: { workers: false },
  maxConnections: 12_000,
};

test('endpointsFlag: NAME=127.0.0.1:PORT, comma-separated', () => {
  assert.equal(endpointsFlag(PODS), 'pod-0=127.0.0.1:9000,pod-1=127.0.0.1:9001');
});

test('shardgateServeArgs: round robin; ring hash with bounded loads 1.25 on the key header; no endpoint header', () => {
  assert.deepEqual(shardgateServeArgs('round-robin', PODS, 8080, null), ['serve', '--listen', '127.0.0.1:8080', '--endpoints', 'pod-0=127.0.0.1:9000,pod-1=127.0.0.1:9001', '--balancer', 'round-robin', '--no-endpoint-header']);
  const hash = shardgateServeArgs('hash', PODS, 8080, 2);
  assert.deepEqual(hash.slice(5), ['--balancer', 'ring-hash', '--bounded-load', '1.25', '--key', 'header:x-key', '--no-endpoint-header', '--workers', '2']);
});

test('launchFor: shardgate runs bin/shardgate.js and is probed for h2c on its one port', () => {
  const l = launchFor(targetSpec('shardgate'), 'hash', CTX);
  assert.equal(l.kind, 'run');
  if (l.kind !== 'run') return;
  assert.equal(l.command, '/usr/bin/node');
  assert.equal(l.args[0], '/repo/bin/shardgate.js');
  assert.ok(!l.args.includes('--workers'), 'no --workers flag where serve --help has none');
  assert.deepEqual(l.h2, { kind: 'probe', port: 8080 });
});

test('launchFor: shardgate runs on the raw paths, shardgate-prev on Node\'s server and undici\'s Pool, otherwise alike', () => {
  const raw = launchFor(targetSpec('shardgate'), 'hash', CTX);
  const undici = launchFor(targetSpec('shardgate-prev'), 'hash', CTX);
  assert.ok(raw.kind === 'run' && undici.kind === 'run');
  assert.deepEqual(raw.env, { SHARDGATE_HTTP1_PATH: 'raw', SHARDGATE_UPSTREAM_H1: 'raw' });
  assert.deepEqual(undici.env, { SHARDGATE_HTTP1_PATH: 'node', SHARDGATE_UPSTREAM_H1: 'undici' });
  assert.deepEqual(undici.args, raw.args);
  assert.equal(targetSpec('shardgate-prev').reference, 'haproxy');
});

test('launchFor: shardgate with 2 workers is unsupported without --workers, and passes it with', () => {
  const without = launchFor(targetSpec('shardgate-w2'), 'round-robin', CTX);
  assert.equal(without.kind, 'unsupported');
  assert.match(without.kind === 'unsupported' ? without.reason : '', /n\/a \(not supported\)/);
  const withWorkers = launchFor(targetSpec('shardgate-w2'), 'round-robin', { ...CTX, shardgate: { workers: true } });
  assert.ok(withWorkers.kind === 'run' && withWorkers.args.join(' ').endsWith('--workers 2'));
  const one = launchFor(targetSpec('shardgate'), 'round-robin', { ...CTX, shardgate: { workers: true } });
  assert.ok(one.kind === 'run' && one.args.join(' ').endsWith('--workers 1'));
});

test('launchFor: HAProxy and nginx get a config file in the instance directory and an h2c port', () => {
  const ha = launchFor(targetSpec('haproxy-2t'), 'hash', CTX);
  assert.ok(ha.kind === 'run');
  assert.deepEqual(ha.args, ['-db', '-f', '/tmp/run/x/haproxy.cfg']);
  assert.match(ha.files[0]!.text, /nbthread 2/);
  assert.deepEqual(ha.h2, { kind: 'port', port: 8081 });
  const ng = launchFor(targetSpec('nginx'), 'round-robin', CTX);
  assert.ok(ng.kind === 'run');
  assert.deepEqual(ng.args, ['-p', '/tmp/run/x/', '-c', '/tmp/run/x/nginx.conf', '-e', '/tmp/run/x/error.log']);
  assert.match(ng.files[0]!.text, /pid \/tmp\/run\/x\/nginx\.pid;/);
});

test('launchFor: the Node proxies; only reply-from has an h2c side', () => {
  const hp = launchFor(targetSpec('http-proxy-3'), 'hash', CTX);
  assert.ok(hp.kind === 'run');
  assert.deepEqual(hp.args, [CTX.nodeProxyScript, 'http-proxy-3', 'hash', '8080', '-', 'pod-0=127.0.0.1:9000,pod-1=127.0.0.1:9001']);
  assert.equal(hp.h2.kind, 'none');
  const rf = launchFor(targetSpec('reply-from'), 'round-robin', CTX);
  assert.ok(rf.kind === 'run');
  assert.equal(rf.args[4], '8081');
  assert.deepEqual(rf.h2, { kind: 'port', port: 8081 });
});

test('TARGETS: every 2-thread target is compared with the 2-thread HAProxy, every other with the 1-thread one', () => {
  for (const t of TARGETS) assert.equal(targetSpec(t.reference).threads, t.threads, t.name);
});
