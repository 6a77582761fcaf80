import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEndpointsText, splitEndpointsFlag } from '../../src/config/endpoints.js';
import { ConfigError } from '../../src/errors.js';

test('endpoints file: a bare YAML list, sorted by name, weights and zones kept', () => {
  const set = parseEndpointsText('- {name: pod-1, address: "10.0.0.2:80", weight: 2, zone: a}\n- {name: pod-0, address: "10.0.0.1:80"}\n', 'eps.yaml', 4);
  assert.equal(set.version, 4);
  assert.deepEqual(
    set.endpoints.map((e) => [e.name, e.address, e.weight, e.zone]),
    [
      ['pod-0', '10.0.0.1:80', 1, null],
      ['pod-1', '10.0.0.2:80', 2, 'a'],
    ],
  );
});

test('endpoints file: a list under "endpoints:", in JSON', () => {
  const set = parseEndpointsText('{"endpoints": [{"name": "a", "address": "http://a.svc:8080"}]}', 'eps.json');
  assert.equal(set.endpoints[0]!.address, 'http://a.svc:8080');
});


function refusal(text: string): ConfigError {
  try {
    parseEndpointsText(text, 'eps.yaml');
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e;
  }
  assert.fail(`accepted ${JSON.stringify(text)}`);
}

test('endpoints file error: names the file, the field and the value', () => {
  const e = refusal('- {name: pod-0, address: "10.0.0.1"}\n');
  assert.equal(e.field, 'endpoints[0].address');
  assert.match(e.message, /^eps\.yaml: endpoints\[0\]\.address: is "10\.0\.0\.1": the port is missing/);
});

test('endpoints file error: duplicate names', () => {
  const e = refusal('- {name: a, address: "10.0.0.1:80"}\n- {name: a, address: "10.0.0.2:80"}\n');
  assert.equal(e.field, 'endpoints[1].name');
  assert.match(e.message, /^eps\.yaml: endpoints\[1\]\.name: "a" appears twice/);
});

test('endpoints file error: an empty list, bare or under endpoints:, is refused (a half-written save must not empty the set)', () => {
  for (const text of ['[]', 'endpoints: []']) {
    const e = refusal(text);
    assert.equal(e.field, 'endpoints');
    assert.match(e.message, /^eps\.yaml: endpoints: is an empty list: .*draining/);
  }
});

test('endpoints file error: an empty document is refused, not taken as no endpoints', () => {
  const e = refusal('# nothing yet\n');
  assert.equal(e.field, 'endpoints');
  assert.match(e.message, /^eps\.yaml: endpoints: is empty/);
});

test('endpoints file error: unknown fields, at the top or in an entry', () => {
  assert.equal(refusal('endpoint: []\n').field, 'endpoint');
  const e = refusal('- {name: a, address: "10.0.0.1:80", wieght: 2}\n');
  assert.equal(e.field, 'endpoints[0].wieght');
  assert.match(e.message, /weight/);
});

test('endpoints file error: YAML syntax, with line and column', () => {
  const e = refusal('- name: a\n  address: [1\n');
  assert.match(e.field, /^eps\.yaml:\d+:\d+$/);
  assert.match(e.message, /not valid YAML/);
});

test('--endpoints: NAME=ADDRESS entries; an entry without a name is refused naming the flag', () => {
  assert.deepEqual(splitEndpointsFlag('pod-0=127.0.0.1:9000, pod-1=127.0.0.1:9001', '--endpoints'), [
    { name: 'pod-0', address: '127.0.0.1:9000' },
    { name: 'pod-1', address: '127.0.0.1:9001' },
  ]);
  assert.throws(
    () => splitEndpointsFlag('pod-0=127.0.0.1:9000,127.0.0.1:9001', '--endpoints'),
    (e: unknown) => e instanceof ConfigError && e.field === 'endpoints[1]' && e.message.startsWith('--endpoints (endpoints[1]): is "127.0.0.1:9001"') && e.message.includes('NAME=HOST:PORT'),
  );
});
