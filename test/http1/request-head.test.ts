import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import type { Http1ErrorCode } from '../../src/http1/errors.js';
import type { HeadLimits, HeadParse } from '../../src/http1/head-parse.js';
import { HEAD_PARTIAL } from '../../src/http1/head-parse.js';
import { HTTP1_METHODS } from '../../src/http1/methods.js';
import type { RequestHead } from '../../src/http1/request-head.js';
import { parseRequestHead } from '../../src/http1/request-head.js';

const LIMITS: HeadLimits = { maxHeaderBytes: 16_384, maxHeaderCount: 100 };

function parse(text: string, limits: HeadLimits = LIMITS): HeadParse<RequestHead> {
  const buf = Buffer.from(text, 'latin1');
  return parseRequestHead(buf, 0, buf.length, limits);
}

function done(text: string): RequestHead & { length: number } {
  const r = parse(text);
  assert.equal(r.kind, 'done', `${JSON.stringify(text)}: ${r.kind === 'invalid' ? r.error.code : r.kind}`);
  return { ...(r as { head: RequestHead }).head, length: (r as { length: number }).length };
}

function refused(text: string, limits: HeadLimits = LIMITS): Http1ErrorCode {
  const r = parse(text, limits);
  assert.equal(r.kind, 'invalid', `${JSON.stringify(text.slice(0, 80))} should be refused, got ${r.kind}`);
  return (r as { error: { code: Http1ErrorCode } }).error.code;
}

test('a typical request: method, target, version, fields as sent with OWS trimmed, length of the head', () => {
  const head = 'POST /accounts/k1/orders?x=1&y=%20 HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: test/1.0\r\nAccept: */*\r\nContent-Type: application/json\r\nContent-Length: 2\r\nX-Spaced: \t a  b \t\r\nX-Empty:\r\nX-Obs: caf\xe9\r\n\r\n';
  const h = done(`${head}{}`);
  assert.equal(h.method, 'POST');
  assert.equal(h.target, '/accounts/k1/orders?x=1&y=%20');
  assert.equal(h.minor, 1);
  assert.deepEqual(h.headers, ['Host', 'shop.example', 'User-Agent', 'test/1.0', 'Accept', '*/*', 'Content-Type', 'application/json', 'Content-Length', '2', 'X-Spaced', 'a  b', 'X-Empty', '', 'X-Obs', 'caf\xe9']);
  assert.deepEqual([h.body, h.contentLength, h.keepAlive, h.expectContinue, h.upgrade], ['length', 2, true, false, false]);
  assert.equal(h.length, head.length, 'the body is not part of the head');
});

test('every method Node knows is accepted and handed out interned; any other token is unknown, anything else bad', () => {
  for (const m of HTTP1_METHODS) {
    const h = done(`${m} ${m === 'CONNECT' ? 'a.example:443' : '/'} HTTP/1.1\r\nHost: a\r\n\r\n`);
    assert.equal(h.method, m);
    assert.ok(HTTP1_METHODS.includes(h.method));
  }
  // The list is Node's own (Node releases before llhttp 9.3 lack QUERY).
  assert.deepEqual(http.METHODS.filter((m) => !HTTP1_METHODS.includes(m)), []);
  assert.deepEqual(HTTP1_METHODS.filter((m) => !http.METHODS.includes(m) && m !== 'QUERY'), []);
  for (const m of ['FOO', 'get', 'Get', 'GETS', 'GE', 'PRI', 'M-SEARCHX', 'X'.repeat(40)]) assert.equal(refused(`${m} / HTTP/1.1\r\n\r\n`), 'unknown-method', m);
  for (const m of ['G(ET', 'GE\x00T', '\x00\x01', 'G\x80T', ' GET', '\tGET']) assert.equal(refused(`${m} / HTTP/1.1\r\n\r\n`), 'bad-method', JSON.stringify(m));
});

test('target forms: origin, asterisk, absolute, and anything VCHAR for CONNECT', () => {
  const good: [string, string][] = [
    ['GET', '/'],
    ['GET', '//a/../b;c?d=e&f=g%zz#frag'],
    ['GET', '/{}|\\^`"<>[]'],
    ['OPTIONS', '*'],
    ['GET', '*'],
    ['GET', 'http://a.example/x?y'],
    ['GET', 'HTTPS://user:pw@[::1]:8443'],
    ['GET', 'http://a?b'],
    ['GET', 'http://'],
    ['GET', 'ftp://a/b'],
    ['CONNECT', 'a.example:443'],
    ['CONNECT', '/odd'],
  ];
  for (const [method, target] of good) assert.equal(done(`${method} ${target} HTTP/1.1\r\n\r\n`).target, target, target);
  const bad = ['a', '?', 'a:b', 'mailto:x@y', 'http:/a', 'http:', 'h+t.p://a', '1a://b', '*x', '**', 'http://a#b', 'http://a{b/', 'http://a\\b/', 'http://a"b/'];
  for (const target of bad) assert.equal(refused(`GET ${target} HTTP/1.1\r\n\r\n`), 'bad-target', target);
  for (const target of ['/a\x80', '/\x7f', '/\x01', '/\x1b']) assert.equal(refused(`GET ${target} HTTP/1.1\r\n\r\n`), 'bad-target', JSON.stringify(target));
});

test('leniencies RFC 9112 allows and llhttp uses: empty lines before the request line, several SP between its parts', () => {
  const h = done('\r\n\n\r\r\nGET / HTTP/1.1\r\n\r\n');
  assert.equal(h.length, 'r\n\n\r\r\nGET / HTTP/1.1\r\n\r\n'.length, 'the skipped lines count as consumed');
  assert.equal(done('GET   /x   HTTP/1.1\r\n\r\n').target, '/x');
});

test('body framing: none, Content-Length (0 included) or chunked; never both; chunked last and once', () => {
  const cases: [string, RequestHead['body'], number][] = [
    ['GET / HTTP/1.1\r\nHost: a\r\n\r\n', 'none', -1],
    ['POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n', 'length', 0],
    ['POST / HTTP/1.1\r\nContent-Length: 00012\r\n\r\n', 'length', 12],
    ['POST / HTTP/1.1\r\nContent-Length: 9007199254740991\r\n\r\n', 'length', 9007199254740991],
    ['HEAD / HTTP/1.1\r\nContent-Length: 3\r\n\r\n', 'length', 3],
    ['POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n', 'chunked', -1],
    ['POST / HTTP/1.1\r\nTransfer-Encoding: Chunked \t\r\n\r\n', 'chunked', -1],
    // Other codings before chunked parse; the route stage refuses them (501).
    ['POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 'chunked', -1],
    ['POST / HTTP/1.1\r\nTransfer-Encoding: gzip;q=1\r\nTransfer-Encoding: chunked\r\n\r\n', 'chunked', -1],
  ];
  for (const [text, body, contentLength] of cases) {
    const h = done(text);
    assert.deepEqual([h.body, h.contentLength], [body, contentLength], JSON.stringify(text));
  }
});

test('keep-alive, Expect: 100-continue and Upgrade', () => {
  const keepAlive: [string, boolean][] = [
    ['GET / HTTP/1.1\r\n\r\n', true],
    ['GET / HTTP/1.1\r\nConnection: close\r\n\r\n', false],
    ['GET / HTTP/1.1\r\nConnection: x, , CLOSE\r\n\r\n', false],
    ['GET / HTTP/1.0\r\n\r\n', false],
    ['GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n', true],
    ['POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n', false],
  ];
  for (const [text, want] of keepAlive) assert.equal(done(text).keepAlive, want, JSON.stringify(text));
  const expect: [string, boolean][] = [
    ['POST / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n', true],
    ['POST / HTTP/1.1\r\nExpect: 100-Continue\r\n\r\n', true],
    ['POST / HTTP/1.1\r\nExpect: foo, 100-continue\r\n\r\n', true],
    ['POST / HTTP/1.1\r\nExpect: 100-continued\r\n\r\n', false],
    ['POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n', false],
  ];
  for (const [text, want] of expect) assert.equal(done(text).expectContinue, want, JSON.stringify(text));
  const upgrade: [string, boolean][] = [
    ['GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n', true],
    ['GET / HTTP/1.1\r\nConnection: keep-alive, upgrade\r\nUpgrade: websocket\r\n\r\n', true],
    ['GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n', false],
    ['GET / HTTP/1.1\r\nConnection: upgrade\r\n\r\n', false],
  ];
  for (const [text, want] of upgrade) assert.equal(done(text).upgrade, want, JSON.stringify(text));
});

test('every refusal a request head can earn, with its code', () => {
  const cases: [string, Http1ErrorCode][] = [
    ['GET\r\n\r\n', 'bad-request-line'],
    ['GET\t/ HTTP/1.1\r\n\r\n', 'bad-request-line'],
    ['GET /\r\n\r\n', 'bad-request-line'],
    ['GET / \r\n\r\n', 'bad-request-line'],
    ['GET  HTTP/1.1\r\n\r\n', 'bad-request-line'],
    ['GET / HTTP/1.1 \r\n\r\n', 'bad-request-line'],
    ['GET / hTTP/1.1\r\n\r\n', 'bad-request-line'],
    ['GET / H\r\n\r\n', 'bad-request-line'],
    ['GET /a b HTTP/1.1\r\n\r\n', 'bad-request-line'],
    ['GET /\tx HTTP/1.1\r\n\r\n', 'bad-target'],
    ['GET / HTTP/1.2\r\n\r\n', 'bad-version'],
    ['GET / HTTP/2.0\r\n\r\n', 'bad-version'],
    ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'bad-version'],
    ['GET / HTTP/0.9\r\n\r\n', 'bad-version'],
    ['GET / HTTP/1.10\r\n\r\n', 'bad-version'],
    ['GET / HTTP/1.1\r\nBad Name: x\r\n\r\n', 'bad-field-name'],
    ['GET / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n', 'bad-field-name'],
    ['GET / HTTP/1.1\r\n: x\r\n\r\n', 'bad-field-name'],
    ['GET / HTTP/1.1\r\nX\x80: a\r\n\r\n', 'bad-field-name'],
    ['GET / HTTP/1.1\r\nNoColon\r\n\r\n', 'bad-field-name'],
    ['GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n', 'bad-field-value'],
    ['GET / HTTP/1.1\r\nTransfer-Encoding: \x0bchunked\r\n\r\n', 'bad-field-value'],
    ['GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n', 'bad-field-value'],
    ['GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n', 'obs-fold'],
    ['GET / HTTP/1.1\r\n Transfer-Encoding: chunked\r\n\r\n', 'obs-fold'],
    ['GET / HTTP/1.1\rHost: a\r\n\r\n', 'bare-cr'],
    ['GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n', 'bare-cr'],
    ['GET / HTTP/1.1\r\nHost: a\r\n\r\r\n', 'bare-cr'],
    ['GET / HTTP/1.1\nHost: a\n\n', 'bare-lf'],
    ['GET / HTTP/1.1\r\nHost: a\n\r\n', 'bare-lf'],
    ['GET / HTTP/1.1\r\nHost: a\r\n\n', 'bare-lf'],
    ['POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n', 'bad-content-length'],
    ['POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n', 'bad-content-length'],
    ['POST / HTTP/1.1\r\nContent-Length: 1 1\r\n\r\n', 'bad-content-length'],
    ['POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n', 'bad-content-length'],
    ['POST / HTTP/1.1\r\nContent-Length:\r\n\r\n', 'bad-content-length'],
    ['POST / HTTP/1.1\r\nContent-Length: 9007199254740992\r\n\r\n', 'bad-content-length'],
    ['POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n', 'bad-content-length'],
    ['POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n', 'conflicting-content-length'],
    ['POST / HTTP/1.1\r\nContent-Length: 1\r\ncontent-length: 2\r\n\r\n', 'conflicting-content-length'],
    ['POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n', 'length-and-chunked'],
    ['POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n', 'length-and-chunked'],
    ['POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n', 'length-and-chunked'],
    ['POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n', 'bad-transfer-encoding'],
    ['POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n', 'bad-transfer-encoding'],
    ['POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n', 'bad-transfer-encoding'],
    ['POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n', 'bad-transfer-encoding'],
    ['POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n', 'bad-transfer-encoding'],
    ['POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n', 'bad-transfer-encoding'],
    ['POST / HTTP/1.1\r\nTransfer-Encoding: chunked;a=b\r\n\r\n', 'bad-transfer-encoding'],
    ['POST / HTTP/1.1\r\nTransfer-Encoding: "chunked"\r\n\r\n', 'bad-transfer-encoding'],
    ['POST / HTTP/1.1\r\nTransfer-Encoding: ,chunked\r\n\r\n', 'bad-transfer-encoding'],
    ['POST / HTTP/1.1\r\nTransfer-Encoding: chunked,\r\n\r\n', 'bad-transfer-encoding'],
    ['POST / HTTP/1.1\r\nTransfer-Encoding: gzip,,chunked\r\n\r\n', 'bad-transfer-encoding'],
    ['POST / HTTP/1.1\r\nTransfer-Encoding: x y, chunked\r\n\r\n', 'bad-transfer-encoding'],
    ['POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n', 'bad-transfer-encoding'],
    ['POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: gzip\r\n\r\n', 'length-and-chunked'],
  ];
  for (const [text, code] of cases) assert.equal(refused(text), code, JSON.stringify(text));
});

test('limits: the head may be maxHeaderBytes long, no longer; refused as soon as a partial head passes it', () => {
  const limits = { maxHeaderBytes: 1024, maxHeaderCount: 100 };
  const line = 'GET /';
  const rest = ' HTTP/1.1\r\n\r\n';
  const exact = `${line}${'a'.repeat(1024 - line.length - rest.length)}${rest}`;
  assert.equal(exact.length, 1024);
  assert.equal(parse(exact, limits).kind, 'done');
  assert.equal(refused(`${line}${'a'.repeat(1025 - line.length - rest.length)}${rest}`, limits), 'head-too-large');
  assert.equal(parse(`${line}${'a'.repeat(1023 - line.length)}`, limits), HEAD_PARTIAL);
  assert.equal(refused(`${line}${'a'.repeat(1024 - line.length)}`, limits), 'head-too-large');
  assert.equal(refused(`GET / HTTP/1.1\r\nX: ${'a'.repeat(2000)}`, limits), 'head-too-large');
  // Endless empty lines before a request line are bounded too.
  assert.equal(refused('\r\n'.repeat(600), limits), 'head-too-large');
  const fields = (n: number): string => `GET / HTTP/1.1\r\n${'X: y\r\n'.repeat(n)}\r\n`;
  assert.equal(done(fields(100)).headers.length, 200);
  assert.equal(refused(fields(101)), 'too-many-fields');
  assert.equal(refused(fields(3), { maxHeaderBytes: 1024, maxHeaderCount: 2 }), 'too-many-fields');
});

test('every prefix of a head is partial until the whole head is there, then the same result; refusals come as soon as the fault is visible', () => {
  // [message, where a refusal is known: at the faulty byte, or once the head is whole]
  const messages: [string, number][] = [
    ['POST /a?b HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello', -1],
    ['\r\nGET  http://a/b  HTTP/1.0\r\nConnection: keep-alive\r\n\r\n', -1],
    ['OPTIONS * HTTP/1.1\r\n\r\n', -1],
    ['FOO / HTTP/1.1\r\n\r\n', 'FOO / HTTP/1.1\r\n'.length],
    ['GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n', 'GET / HTTP/1.1\r\nX: a\r\n '.length],
    ['GET / HTTP/1.1\r\nX: a\nY: b\r\n\r\n', 'GET / HTTP/1.1\r\nX: a\n'.length],
    ['GET /\x7f HTTP/1.1\r\n\r\n', 'GET /\x7f'.length],
    ['POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n', 'POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n'.length],
  ];
  for (const [text, refusedAt] of messages) {
    const whole = parse(text);
    let firstFinal = -1;
    for (let k = 0; k <= text.length; k++) {
      // Inside a larger buffer, with junk before the start and after the end that must not be read.
      const junk = '\x00\n junk ';
      const buf = Buffer.from(`${junk}${text.slice(0, k)}\r\n\r\nGET /after HTTP/1.1\r\n\r\n`, 'latin1');
      const r = parseRequestHead(buf, junk.length, junk.length + k, LIMITS);
      if (r.kind === 'partial') {
        assert.equal(firstFinal, -1, `${JSON.stringify(text)}: partial at ${k} after a result at ${firstFinal}`);
        continue;
      }
      if (firstFinal === -1) firstFinal = k;
      assert.deepEqual(r, whole, `${JSON.stringify(text)} cut at ${k}`);
    }
    if (whole.kind === 'done') assert.equal(firstFinal, whole.length, 'done exactly when the head is complete');
    else assert.equal(firstFinal, refusedAt, `${JSON.stringify(text)}: refused as soon as the fault is visible`);
  }
});
