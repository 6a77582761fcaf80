/**
 * Hop-by-hop removal (RFC 9110 section 7.6.1) and X-Forwarded-*, as pure functions and end to end.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RequestHeadReader, connectionOptions, forwardedValue, responseHeaders, responseTrailers } from '../../src/proxy/headers.js';
import { startBackend } from '../helpers/backends.js';
import { headerOf, rawExchange, statusOf } from '../helpers/raw-http.js';
import { assertNoInflight, startProxy } from './harness.js';

function pairs(list: readonly (string | string[])[]): [string, string | string[]][] {
  const out: [string, string | string[]][] = [];
  for (let i = 0; i < list.length; i += 2) out.push([list[i] as string, list[i + 1]!]);
  return out;
}

test('RequestHeadReader: drops hop-by-hop fields and the ones Connection names, sets X-Forwarded-*', () => {
  const reader = new RequestHeadReader();
  reader.read(
    [
      'Host', 'shop.example',
      'Connection', 'keep-alive, X-Secret-Hop',
      'Keep-Alive', 'timeout=5',
      'Proxy-Connection', 'keep-alive',
      'TE', 'trailers',
      'Upgrade', 'h2c',
      'Expect', '100-continue',
      'X-Secret-Hop', 'drop me',
      'X-Forwarded-For', '203.0.113.9',
      'x-forwarded-for', '198.51.100.2',
      'X-Forwarded-Proto', 'https',
      'X-Forwarded-Host', 'spoofed',
      'Proxy-Authorization', 'Basic eA==',
      'Content-Length', '3',
      'X-Affinity', 'k1',
      'Accept', '*/*',
    ],
    'x-affinity',
    '127.0.0.1',
  );
  assert.deepEqual(pairs(reader.out), [
    ['Host', 'shop.example'],
    ['Proxy-Authorization', 'Basic eA=='],
    ['Content-Length', '3'],
    ['X-Affinity', 'k1'],
    ['Accept', '*/*'],
    ['x-forwarded-for', '203.0.113.9, 198.51.100.2, 127.0.0.1'],
    ['x-real-ip', '127.0.0.1'],
    ['forwarded', 'for=127.0.0.1;proto=http;host="shop.example"'],
    ['x-forwarded-proto', 'http'],
    ['x-forwarded-host', 'shop.example'],
  ]);
  assert.equal(reader.host, 'shop.example');
  assert.equal(reader.hostLines, 1);
  assert.equal(reader.key, 'k1');
  assert.equal(reader.hasBody, true);
});

test('RequestHeadReader: body detection, repeated Host, cookies joined, reuse between requests', () => {
  const reader = new RequestHeadReader();
  reader.read(['Host', 'a', 'Host', 'b', 'Transfer-Encoding', 'chunked', 'Cookie', 'a=1', 'Cookie', 'sid=2'], 'cookie', undefined);
  assert.equal(reader.hostLines, 2);
  assert.equal(reader.hasBody, true);
  assert.equal(reader.key, 'a=1; sid=2');
  assert.deepEqual(pairs(reader.out), [['Host', 'a'], ['Cookie', 'a=1'], ['Cookie', 'sid=2'], ['forwarded', 'for=unknown;proto=http;host="a"'], ['x-forwarded-proto', 'http'], ['x-forwarded-host', 'a']]);
  reader.read(['Content-Length', '0'], null, '::1');
  assert.equal(reader.hasBody, false);
  assert.equal(reader.host, undefined);
  assert.equal(reader.hostLines, 0);
  assert.equal(reader.key, undefined);
  assert.deepEqual(pairs(reader.out), [['Content-Length', '0'], ['x-forwarded-for', '::1'], ['x-real-ip', '::1'], ['forwarded', 'for="[::1]";proto=http'], ['x-forwarded-proto', 'http']]);
});

test('RequestHeadReader: subset selector headers, first value each, any case, forwarded unchanged and cleared between requests', () => {
  const reader = new RequestHeadReader('http', ['x-version', 'x-tier']);
  assert.deepEqual(reader.selectorValues, [undefined, undefined]);
  reader.read(['Host', 'a', 'X-Tier', 'gold', 'x-version', 'v2', 'X-VERSION', 'v3'], null, '10.0.0.1');
  assert.deepEqual(reader.selectorValues, ['v2', 'gold']);
  assert.ok(reader.out.includes('X-Tier') && reader.out.includes('v2'), 'the pod still gets them');
  const values = reader.selectorValues;
  reader.read(['Host', 'a', 'x-tier', ''], null, '10.0.0.1');
  assert.equal(reader.selectorValues, values, 'one array, reused');
  assert.deepEqual(reader.selectorValues, [undefined, ''], 'an empty value is a value');
  assert.deepEqual(new RequestHeadReader().selectorValues, []);
});

test('responseHeaders: drops hop-by-hop fields, adds the endpoint, closes when asked', () => {
  const out = responseHeaders(
    {
      'content-type': 'text/plain',
      connection: 'keep-alive, x-internal',
      'keep-alive': 'timeout=5',
      'transfer-encoding': 'chunked',
      upgrade: 'h2c',
      'proxy-connection': 'x',
      te: 'trailers',
      'x-internal': 'secret',
      'set-cookie': ['a=1', 'b=2'],
      'proxy-authenticate': 'Basic',
    },
    'pod-3',
    true,
  );
  assert.deepEqual(pairs(out), [
    ['content-type', 'text/plain'],
    ['set-cookie', ['a=1', 'b=2']],
    ['proxy-authenticate', 'Basic'],
    ['x-shardgate-endpoint', 'pod-3'],
    ['connection', 'close'],
  ]);
  assert.deepEqual(responseHeaders({ a: '1' }, null, false), ['a', '1']);
  assert.deepEqual(responseTrailers({ 'x-sum': 'abc', connection: 'close' }), { 'x-sum': 'abc' });
  assert.equal(responseTrailers({}), null);
  assert.equal(connectionOptions('close, Keep-Alive ,upgrade'), null);
  assert.deepEqual(connectionOptions('close, X-A,, x-b '), new Set(['x-a', 'x-b']));
});

test('end to end: the pod sees no hop-by-hop fields and the X-Forwarded-* set; the client sees none of the pod\'s', async () => {
  const backend = await startBackend('hop-0', (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', connection: 'keep-alive, x-internal', 'x-internal': 'secret', 'proxy-connection': 'keep-alive' });
    res.end('ok');
  });
  const h = await startProxy({ backends: [backend], keySource: null });
  try {
    const r = await rawExchange(
      h.port,
      'GET /x HTTP/1.1\r\nHost: shop.example\r\nConnection: keep-alive, X-Drop\r\nX-Drop: 1\r\nKeep-Alive: 300\r\nTE: trailers\r\nProxy-Connection: keep-alive\r\nX-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: https\r\nX-Keep: 2\r\n\r\n',
      { timeoutMs: 500 },
    );
    assert.equal(statusOf(r.text), 200);
    const seen = backend.lastHeaders!;
    for (const name of ['x-drop', 'keep-alive', 'te', 'proxy-connection', 'upgrade', 'transfer-encoding']) {
      assert.equal(seen[name], undefined, `${name} reached the pod`);
    }
    assert.notEqual(seen.connection, 'keep-alive, X-Drop');
    assert.equal(seen['x-keep'], '2');
    assert.equal(seen.host, 'shop.example');
    assert.equal(seen['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
    assert.equal(seen['x-forwarded-proto'], 'http');
    assert.equal(seen['x-forwarded-host'], 'shop.example');
    assert.equal(headerOf(r.text, 'x-internal'), undefined);
    assert.equal(headerOf(r.text, 'proxy-connection'), undefined);
    assert.equal(headerOf(r.text, 'x-shardgate-endpoint'), 'hop-0');
    await assertNoInflight(h);
  } finally {
    await h.stop();
  }
});

test('an absolute-form target: the pod gets its authority as Host and X-Forwarded-Host (RFC 9112 section 3.2.2)', async () => {
  let body = '';
  const backend = await startBackend('abs-0', (req, res) => {
    body = '';
    req.setEncoding('latin1');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => res.end('ok'));
  });
  const h = await startProxy({ backends: [backend], keySource: null });
  try {
    const r = await rawExchange(h.port, 'GET http://user@evil.example:8080/x?q=1 HTTP/1.1\r\nHost: good.example\r\nConnection: close\r\n\r\n');
    assert.equal(statusOf(r.text), 200);
    assert.equal(backend.lastHeaders!.host, 'evil.example:8080');
    assert.equal(backend.lastHeaders!['x-forwarded-host'], 'evil.example:8080');
    assert.equal(backend.lastHeaders!.forwarded, 'for=127.0.0.1;proto=http;host="evil.example:8080"');
    const bare = await rawExchange(h.port, 'GET http://other.example HTTP/1.0\r\n\r\n');
    assert.equal(statusOf(bare.text), 200);
    assert.equal(backend.lastHeaders!.host, 'other.example');
    assert.equal(backend.lastHeaders!['x-forwarded-host'], 'other.example');
    // Connection naming Host or Content-Length strips neither.
    const named = await rawExchange(h.port, 'POST /y HTTP/1.1\r\nHost: good.example\r\nConnection: host, content-length, close\r\nContent-Length: 5\r\n\r\nhello');
    assert.equal(statusOf(named.text), 200);
    assert.equal(backend.lastHeaders!.host, 'good.example');
    assert.equal(backend.lastHeaders!['content-length'], '5');
    assert.equal(body, 'hello');
    assert.equal(connectionOptions('host, Content-Length'), null);
    await assertNoInflight(h);
  } finally {
    await h.stop();
  }
});

test('Forwarded (RFC 7239) and X-Real-IP from the client are replaced like X-Forwarded-*, not passed through', async () => {
  const backend = await startBackend('fwd-0');
  const h = await startProxy({ backends: [backend], keySource: null });
  try {
    const r = await rawExchange(
      h.port,
      'GET / HTTP/1.1\r\nHost: good.example:8080\r\nForwarded: for=6.6.6.6;proto=https;host=admin\r\nforwarded: for=7.7.7.7\r\nX-Real-IP: 6.6.6.6\r\nConnection: close\r\n\r\n',
    );
    assert.equal(statusOf(r.text), 200);
    const seen = backend.lastHeaders!;
    assert.equal(seen.forwarded, 'for=127.0.0.1;proto=http;host="good.example:8080"');
    assert.equal(seen['x-real-ip'], '127.0.0.1');
    await assertNoInflight(h);
  } finally {
    await h.stop();
  }
  // Quoting (RFC 7239 section 6): IPv6 bracketed and quoted, the host a quoted-string, escaped.
  assert.equal(forwardedValue('2001:db8::1', 'a'), 'for="[2001:db8::1]";proto=http;host="a"');
  assert.equal(forwardedValue(undefined, 'we"ird\\'), 'for=unknown;proto=http;host="we\\"ird\\\\"');
  assert.equal(forwardedValue('10.0.0.1', undefined), 'for=10.0.0.1;proto=http');
});
