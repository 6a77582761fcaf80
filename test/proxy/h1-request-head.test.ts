/**
 * The request head toward an HTTP/1.1 pod: what goes on the wire, what is consumed from the field
 * list, and what is refused, as undici 7 built and refused it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RequestHeadFields } from '../../src/proxy/h1-request-head.js';
import { buildRequestHead, checksDeclaredLength, expectsPayload } from '../../src/proxy/h1-request-head.js';

const FALLBACK = 'host: 10.0.0.7:8080\r\n';

function build(method: string, path: string, fields: string[]): RequestHeadFields | Error {
  const out: RequestHeadFields = { head: '', host: null, declaredLength: null, closeAfter: false };
  return buildRequestHead(out, method, path, fields, FALLBACK) ?? out;
}

test('the head: request line, host, connection, then the other fields in order with their names as given', () => {
  const r = build('GET', '/a?b=c', ['Accept', '*/*', 'Host', 'shop.test', 'X-Trace', 'abc', 'accept', 'text/html']);
  assert.ok(!(r instanceof Error));
  assert.equal(r.head, 'GET /a?b=c HTTP/1.1\r\nhost: shop.test\r\nconnection: keep-alive\r\nAccept: */*\r\nX-Trace: abc\r\naccept: text/html\r\n');
  assert.deepEqual([r.host, r.declaredLength, r.closeAfter], ['shop.test', null, false]);
});

test('Host, Content-Length and Connection are consumed: no Host gives the pod\'s authority, Content-Length is read, Connection: close is kept as a flag', () => {
  const r = build('POST', '/', ['content-length', '12', 'Connection', 'x-hop, close', 'x-hop', '1']);
  assert.ok(!(r instanceof Error));
  assert.equal(r.head, 'POST / HTTP/1.1\r\nhost: 10.0.0.7:8080\r\nconnection: close\r\nx-hop: 1\r\n');
  assert.deepEqual([r.host, r.declaredLength, r.closeAfter], [null, 12, true]);
});

test('HEAD asks the pod to close: the connection is not reused after it', () => {
  const r = build('HEAD', '/', ['host', 'a']);
  assert.ok(!(r instanceof Error));
  assert.match(r.head, /\r\nconnection: close\r\n$/);
  assert.equal(r.closeAfter, true);
});

test('refused with undici\'s error classes: bad method, path, names and values, repeated Host or Content-Length, fields the transport owns', () => {
  const cases: [string, string, string[], string, RegExp][] = [
    ['G ET', '/', [], 'UND_ERR_INVALID_ARG', /method/],
    ['GET', 'relative', [], 'UND_ERR_INVALID_ARG', /path/],
    ['GET', '/a\tb', [], 'UND_ERR_INVALID_ARG', /path/],
    ['GET', '/', ['x', 'a\rb'], 'UND_ERR_INVALID_ARG', /invalid x header/],
    ['GET', '/', ['x', 'a\nb'], 'UND_ERR_INVALID_ARG', /invalid x header/],
    ['GET', '/', ['x', '\u0100'], 'UND_ERR_INVALID_ARG', /invalid x header/],
    ['GET', '/', ['x:y', '1'], 'UND_ERR_INVALID_ARG', /header key/],
    ['GET', '/', ['', '1'], 'UND_ERR_INVALID_ARG', /header key/],
    ['GET', '/', ['host', 'a', 'Host', 'b'], 'UND_ERR_INVALID_ARG', /duplicate host/],
    ['POST', '/', ['content-length', '1', 'content-length', '1'], 'UND_ERR_INVALID_ARG', /duplicate content-length/],
    ['POST', '/', ['content-length', '-1'], 'UND_ERR_INVALID_ARG', /invalid content-length/],
    ['GET', '/', ['Transfer-Encoding', 'chunked'], 'UND_ERR_INVALID_ARG', /invalid transfer-encoding/],
    ['GET', '/', ['keep-alive', 'timeout=5'], 'UND_ERR_INVALID_ARG', /invalid keep-alive/],
    ['GET', '/', ['upgrade', 'h2c'], 'UND_ERR_INVALID_ARG', /invalid upgrade/],
    ['GET', '/', ['connection', 'close, a b'], 'UND_ERR_INVALID_ARG', /invalid connection/],
    ['GET', '/', ['Expect', '100-continue'], 'UND_ERR_NOT_SUPPORTED', /expect/],
    ['GET', '/', ['odd'], 'UND_ERR_INVALID_ARG', /even/],
  ];
  for (const [method, path, fields, code, message] of cases) {
    const r = build(method, path, fields);
    assert.ok(r instanceof Error, `${method} ${path} ${JSON.stringify(fields)} accepted`);
    assert.equal((r as Error & { code?: string }).code, code, JSON.stringify(fields));
    assert.match(r.message, message);
  }
});

test('obs-text and HTAB in values and absolute-form targets pass, as undici lets them', () => {
  const r = build('GET', 'http://a.test/x', ['x-latin', 'caf\u00e9\tbar']);
  assert.ok(!(r instanceof Error));
  assert.match(r.head, /^GET http:\/\/a\.test\/x HTTP\/1\.1\r\n/);
  assert.match(r.head, /x-latin: caf\u00e9\tbar\r\n$/);
});

test('which methods carry content, and which have a buffered body checked against Content-Length', () => {
  assert.deepEqual(['POST', 'PUT', 'PATCH', 'QUERY', 'PROPFIND', 'PROPPATCH', 'GET', 'DELETE', 'HEAD'].map(expectsPayload), [true, true, true, true, true, true, false, false, false]);
  assert.deepEqual(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'CONNECT', 'POST', 'DELETE'].map(checksDeclaredLength), [false, false, false, false, false, true, true]);
});
