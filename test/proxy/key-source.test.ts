import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { cookieValue, keyText, parseKeySource, pathSegment, queryValue } from '../../src/proxy/key-source.js';

test('parseKeySource: the five forms', () => {
  assert.deepEqual(parseKeySource('header:X-Affinity'), { kind: 'header', spec: 'header:X-Affinity', name: 'X-Affinity', header: 'x-affinity' });
  assert.deepEqual(parseKeySource('cookie:sid'), { kind: 'cookie', spec: 'cookie:sid', name: 'sid', header: 'cookie' });
  assert.deepEqual(parseKeySource('query:account'), { kind: 'query', spec: 'query:account', name: 'account', header: null });
  assert.deepEqual(parseKeySource('path:1'), { kind: 'path', spec: 'path:1', index: 1, header: null });
  assert.deepEqual(parseKeySource('path:0'), { kind: 'path', spec: 'path:0', index: 0, header: null });
  assert.ok(Object.isFrozen(parseKeySource('path:2')));
  const json = parseKeySource('json:items.0.id');
  assert.ok(json.kind === 'json');
  assert.equal(json.spec, 'json:items.0.id');
  assert.equal(json.header, null);
  assert.deepEqual(json.path.names, ['items', '0', 'id']);
  assert.ok(Object.isFrozen(json));
});

test('parseKeySource: grpc:NAME reads call metadata, which travels as a lower-case header', () => {
  const grpc = parseKeySource('grpc:X-Tenant');
  assert.equal(grpc.kind, 'header');
  assert.equal(grpc.header, 'x-tenant');
  assert.equal(grpc.spec, 'grpc:X-Tenant');
});

test('parseKeySource: refusals name the field, the value and the allowed forms', () => {
  const bad = ['', 'header', 'header:', 'header:bad name', 'header:x:y', 'cookie:', 'cookie:a;b', 'query:', 'path:', 'path:x', 'path:-1', 'path:1.5', 'path:1000', 'json:', 'json', 'grpc:', 'grpc:a b', 'Header:x', 'x-affinity'];
  for (const spec of bad) {
    assert.throws(
      () => parseKeySource(spec, 'routing.key'),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, spec);
        assert.equal(err.code, 'SG_ERR_KEY_SOURCE');
        assert.equal(err.field, 'routing.key');
        assert.ok(err.message.includes(JSON.stringify(spec)), `${err.message} names the value`);
        assert.ok(err.message.includes('header:NAME, cookie:NAME, query:NAME, path:INDEX, json:PATH or grpc:NAME'), `${err.message} lists the forms`);
        return true;
      },
    );
  }
});

test('keyText: header values are taken verbatim; empty or absent is no key', () => {
  const src = parseKeySource('header:x-k');
  assert.equal(keyText(src, '/', 'abc %41+'), 'abc %41+');
  assert.equal(keyText(src, '/', ''), null);
  assert.equal(keyText(src, '/', undefined), null);
});

test('cookieValue: finds the pair by exact name, tolerates junk, decodes, never throws', () => {
  assert.equal(cookieValue('sid=abc', 'sid'), 'abc');
  assert.equal(cookieValue('theme=dark; sid=abc; lang=en', 'sid'), 'abc');
  assert.equal(cookieValue('  sid = abc  ;x=1', 'sid'), 'abc');
  assert.equal(cookieValue('sid="quoted value"', 'sid'), 'quoted value');
  assert.equal(cookieValue('xsid=1; sidx=2; sid=3', 'sid'), '3');
  assert.equal(cookieValue('sid=a%20b', 'sid'), 'a b');
  assert.equal(cookieValue('sid=a=b=c', 'sid'), 'a=b=c');
  assert.equal(cookieValue('sid=first; sid=second', 'sid'), 'first');
  assert.equal(cookieValue('SID=upper', 'sid'), null, 'cookie names are case-sensitive');
  // Malformed: what is there is skipped or taken raw, nothing throws.
  assert.equal(cookieValue('sid=%zz%', 'sid'), '%zz%');
  assert.equal(cookieValue('sid=%E0%A4%A', 'sid'), '%E0%A4%A');
  assert.equal(cookieValue('sid=%ED%A0%80', 'sid'), '%ED%A0%80', 'not UTF-8');
  assert.equal(cookieValue(';;; ;=;sid;sid=;x', 'sid'), null);
  assert.equal(cookieValue(';;;=x; sid=ok', 'sid'), 'ok');
  assert.equal(cookieValue('sid="', 'sid'), '"');
  assert.equal(cookieValue('', 'sid'), null);
  assert.equal(cookieValue('no pairs at all', 'sid'), null);
});

test('long inputs of many pairs without `=` are read correctly (and in one pass)', () => {
  assert.equal(cookieValue(`${'a;'.repeat(8000)}sid=x`, 'sid'), 'x');
  assert.equal(cookieValue('a;'.repeat(8000), 'sid'), null);
  assert.equal(queryValue(`/p?${'a&'.repeat(8000)}account=5`, 'account'), '5');
  assert.equal(queryValue(`/p?${'a&'.repeat(8000)}`, 'account'), null);
  assert.equal(queryValue(`/p?${'a=1&'.repeat(4000)}account=5&b`, 'account'), '5');
});

test('queryValue: form decoding, first occurrence, fragments, never throws', () => {
  assert.equal(queryValue('/p?account=42', 'account'), '42');
  assert.equal(queryValue('/p?a=1&account=42&b=2', 'account'), '42');
  assert.equal(queryValue('/p?account=a+b%2Fc', 'account'), 'a b/c');
  assert.equal(queryValue('/p?account=1&account=2', 'account'), '1');
  assert.equal(queryValue('/p?acc%6Funt=7', 'account'), '7', 'an encoded name matches');
  assert.equal(queryValue('/p?accounts=1&xaccount=2', 'account'), null);
  assert.equal(queryValue('/p?account=', 'account'), null);
  assert.equal(queryValue('/p?account', 'account'), null);
  assert.equal(queryValue('/p?account=5#frag', 'account'), '5');
  assert.equal(queryValue('/p#?account=5', 'account'), null);
  assert.equal(queryValue('/p', 'account'), null);
  assert.equal(queryValue('/p?&&account=9&&', 'account'), '9');
  assert.equal(queryValue('/p?account=%zz', 'account'), '%zz');
  assert.equal(queryValue('/p?account=%', 'account'), '%');
});

test('pathSegment: 0-based after the leading slash, query stripped, empty segments count', () => {
  assert.equal(pathSegment('/accounts/42/orders', 1), '42');
  assert.equal(pathSegment('/accounts/42/orders', 0), 'accounts');
  assert.equal(pathSegment('/accounts/42/orders', 2), 'orders');
  assert.equal(pathSegment('/accounts/42/orders', 3), null);
  assert.equal(pathSegment('/accounts/42?x=1/2', 1), '42');
  assert.equal(pathSegment('/accounts/42#top', 1), '42');
  assert.equal(pathSegment('/accounts//42', 1), null, 'an empty segment is no key');
  assert.equal(pathSegment('/accounts//42', 2), '42');
  assert.equal(pathSegment('/accounts/', 1), null);
  assert.equal(pathSegment('/', 0), null);
  assert.equal(pathSegment('/a%20b/x', 0), 'a b');
  assert.equal(pathSegment('/a+b/x', 0), 'a+b', '+ is literal in paths');
  assert.equal(pathSegment('/%E0%A4%A/x', 0), '%E0%A4%A');
  assert.equal(pathSegment('*', 0), null);
  assert.equal(pathSegment('', 0), null);
});

test('keyText: each source reads its own place', () => {
  const path = '/accounts/a1/orders?account=q1';
  assert.equal(keyText(parseKeySource('path:1'), path, undefined), 'a1');
  assert.equal(keyText(parseKeySource('query:account'), path, undefined), 'q1');
  assert.equal(keyText(parseKeySource('cookie:sid'), path, 'sid=c1'), 'c1');
  assert.equal(keyText(parseKeySource('cookie:sid'), path, undefined), null);
  assert.equal(keyText(parseKeySource('header:x-k'), path, 'h1'), 'h1');
});

test('parseKeySource: a json: path that is not well formed names the field and the value', () => {
  for (const spec of ['json:a..b', 'json:.a', 'json:a\\b']) {
    assert.throws(() => parseKeySource(spec, 'key'), (err: unknown) => err instanceof ConfigError && err.code === 'SG_ERR_KEY_SOURCE' && err.field === 'key' && err.message.includes(JSON.stringify(spec)));
  }
});

test('keyText: json reads the buffered body; without one there is no key', () => {
  const src = parseKeySource('json:account.id');
  assert.equal(keyText(src, '/', undefined, Buffer.from('{"account":{"id":"a-1"}}')), 'a-1');
  assert.equal(keyText(src, '/', undefined, Buffer.from('{"account":{"id":"a-1"}')), null, 'not JSON');
  assert.equal(keyText(src, '/', undefined, null), null);
  assert.equal(keyText(src, '/', undefined), null);
  // Head sources ignore a body.
  assert.equal(keyText(parseKeySource('path:0'), '/p', undefined, Buffer.from('{"account":{"id":"a-1"}}')), 'p');
});
