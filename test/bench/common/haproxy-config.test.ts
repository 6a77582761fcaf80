import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HaproxyConfig } from '../../../bench/common/haproxy-config.js';
import { haproxyConfigText } from '../../../bench/common/haproxy-config.js';

const BASE: HaproxyConfig = {
  threads: 1,
  maxConnections: 100,
  timeouts: { connectS: 2, clientS: 30, httpRequestS: 10, keepAliveS: 60, serverS: 10 },
  binds: ['127.0.0.1:8080'],
  backendLines: ['balance roundrobin'],
  servers: [
    { name: 'pod-0', port: 9000 },
    { name: 'pod-1', port: 9001, weight: 3 },
  ],
};

test('haproxyConfigText: the four sections, each extra line in its own section, servers last', () => {
  const text = haproxyConfigText({ ...BASE, globalLines: ['hard-stop-after 30s'], defaultsLines: ['retries 3'], frontendLines: ['option forwardfor'], serverOptions: 'check inter 2s' });
  assert.ok(text.endsWith('\n'));
  const sections = text.trimEnd().split('\n\n');
  assert.deepEqual(
    sections.map((s) => s.split('\n')[0]),
    ['global', 'defaults', 'frontend fe', 'backend pods'],
  );
  assert.match(sections[0]!, /\n {2}hard-stop-after 30s$/);
  assert.match(sections[1]!, /\n {2}timeout server 10s\n {2}retries 3$/);
  assert.match(sections[2]!, /bind 127.0.0.1:8080\n {2}maxconn 100\n {2}option forwardfor\n {2}default_backend pods$/);
  assert.match(sections[3]!, /balance roundrobin\n {2}server pod-0 127.0.0.1:9000 check inter 2s\n {2}server pod-1 127.0.0.1:9001 weight 3 check inter 2s$/);
});

test('haproxyConfigText: no check timeout, weight or server options unless given', () => {
  const text = haproxyConfigText(BASE);
  assert.doesNotMatch(text, /timeout check|weight 1|check/);
  assert.match(haproxyConfigText({ ...BASE, timeouts: { ...BASE.timeouts, checkS: 1 } }), /timeout check 1s/);
});
