import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Http1ErrorCode } from '../../src/http1/errors.js';
import type { HeadLimits, HeadParse } from '../../src/http1/head-parse.js';
import { HEAD_PARTIAL } from '../../src/http1/head-parse.js';
import type { ResponseHead } from '../../src/http1/response-head.js';
import { parseResponseHead } from '../../src/http1/response-head.js';

const LIMITS: HeadLimits = { maxHeaderBytes: 16_384, maxHeaderCount: 100 };

function parse(text: string, method = 'GET', limits: HeadLimits = LIMITS): HeadParse<ResponseHead> {
  const buf = Buffer.from(text, 'latin1');
  return parseResponseHead(buf, 0, buf.length, limits, method);
}

function done(text: string, method = 'GET'): ResponseHead & { length: number } {
  const r = parse(text, method);
  assert.equal(r.kind, 'done', `${JSON.stringify(text)}: ${r.kind === 'invalid' ? r.error.code : r.kind}`);
  return { ...(r as { head: ResponseHead }).head, length: (r as { length: number }).length };
}

function refused(text: string, method = 'GET', limits: HeadLimits = LIMITS): Http1ErrorCode {
  const r = parse(text, method, limits);
  assert.equal(r.kind, 'invalid', `${JSON.stringify(text.slice(0, 80))} should be refused, got ${r.kind}`);
  return (r as { error: { code: Http1ErrorCode } }).error.code;
}

test('a typical response: status, reason, version, fields as sent with OWS trimmed, length of the head', () => {
  const head = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nX-Spaced: \t a  b \t\r\nX-Empty:\r\nX-Obs: caf\xe9\r\n\r\n';
  const h = done(`${head}hello`);
  assert.equal(h.status, 200);
  assert.equal(h.reason, 'OK');
  assert.equal(h.minor, 1);
  assert.deepEqual(h.headers, ['Content-Type', 'text/plain', 'Content-Length', '5', 'X-Spaced', 'a  b', 'X-Empty', '', 'X-Obs', 'caf\xe9']);
  assert.equal(h.body, 'length');
  assert.equal(h.contentLength, 5);
  assert.equal(h.keepAlive, true);
  assert.equal(h.length, head.length, 'the body is not part of the head');
});

test('reason phrases: any text with spaces, tabs and obs-text; empty; or missing with its SP', () => {
  assert.equal(done('HTTP/1.1 404 Not \tFound \xff\r\nContent-Length: 0\r\n\r\n').reason, 'Not \tFound \xff');
  assert.equal(done('HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n').reason, '');
  assert.equal(done('HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n').reason, '');
  assert.equal(done('HTTP/1.0 599 Custom\r\n\r\n').status, 599);
  assert.equal(done('HTTP/1.1 100 Continue\r\n\r\n').status, 100);
});

test('body framing follows RFC 9112 section 6.3, given the request method and status', () => {
  const cases: [string, string, ResponseHead['body'], number, boolean][] = [
    // [head, request method, body, contentLength, keepAlive]
    ['HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n', 'GET', 'length', 12, true],
    ['HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 'GET', 'length', 0, true],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', 'GET', 'chunked', -1, true],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: CHUNKED\r\n\r\n', 'POST', 'chunked', -1, true],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 'GET', 'chunked', -1, true],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n', 'GET', 'chunked', -1, true],
    // Point 3: the coding wins over Content-Length, and the connection is not reused.
    ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n', 'GET', 'chunked', -1, false],
    // Point 4: chunked not last, or absent: the body runs to the close.
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n', 'GET', 'close', -1, false],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n', 'GET', 'close', -1, false],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n', 'GET', 'close', -1, false],
    // Point 7: neither.
    ['HTTP/1.1 200 OK\r\n\r\n', 'GET', 'close', -1, false],
    // Points 1 and 2: no body whatever the fields say.
    ['HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n', 'HEAD', 'none', -1, true],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', 'HEAD', 'none', -1, true],
    ['HTTP/1.1 204 No Content\r\n\r\n', 'GET', 'none', -1, true],
    ['HTTP/1.1 304 Not Modified\r\nContent-Length: 40\r\n\r\n', 'GET', 'none', -1, true],
    ['HTTP/1.1 100 Continue\r\n\r\n', 'POST', 'none', -1, true],
    ['HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n', 'GET', 'none', -1, true],
    ['HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n', 'GET', 'none', -1, false],
    ['HTTP/1.1 200 Connection established\r\n\r\n', 'CONNECT', 'none', -1, false],
    ['HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 3\r\n\r\n', 'CONNECT', 'length', 3, true],
  ];
  for (const [text, method, body, contentLength, keepAlive] of cases) {
    const h = done(text, method);
    assert.deepEqual([h.body, h.contentLength, h.keepAlive], [body, contentLength, keepAlive], `${method} ${JSON.stringify(text)}`);
  }
});

test('keep-alive per version and Connection options (RFC 9112 section 9.3)', () => {
  const cases: [string, boolean][] = [
    ['HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', true],
    ['HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', false],
    ['HTTP/1.1 200 OK\r\nConnection: x-hop, CLOSE\r\nContent-Length: 0\r\n\r\n', false],
    ['HTTP/1.1 200 OK\r\nConnection: x-hop\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', false],
    ['HTTP/1.1 200 OK\r\nConnection: closed\r\nContent-Length: 0\r\n\r\n', true],
    ['HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n', false],
    ['HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n', true],
    ['HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n', false],
    // An HTTP/1.0 message with Transfer-Encoding has faulty framing (RFC 9112 section 6.1).
    ['HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n', false],
  ];
  for (const [text, keepAlive] of cases) assert.equal(done(text).keepAlive, keepAlive, JSON.stringify(text));
  assert.equal(done('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n').body, 'chunked');
});

test('every refusal a response head can earn, with its code', () => {
  const cases: [string, Http1ErrorCode][] = [
    ['hello world\r\n\r\n', 'bad-status-line'],
    ['HTTP/1.1 20 OK\r\n\r\n', 'bad-status-line'],
    ['HTTP/1.1 2000 OK\r\n\r\n', 'bad-status-line'],
    ['HTTP/1.1 600 Too High\r\n\r\n', 'bad-status-line'],
    ['HTTP/1.1 099 Too Low\r\n\r\n', 'bad-status-line'],
    ['HTTP/1.1  200 OK\r\n\r\n', 'bad-status-line'],
    ['HTTP/1.1 2x0 OK\r\n\r\n', 'bad-status-line'],
    ['HTTP/1.1 200 O\x00K\r\n\r\n', 'bad-status-line'],
    ['HTTP/1.1\t200 OK\r\n\r\n', 'bad-status-line'],
    ['http/1.1 200 OK\r\n\r\n', 'bad-status-line'],
    ['HTTP/1.2 200 OK\r\n\r\n', 'bad-version'],
    ['HTTP/2.0 200 OK\r\n\r\n', 'bad-version'],
    ['HTTP/1.x 200 OK\r\n\r\n', 'bad-version'],
    ['HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n', 'bad-field-name'],
    ['HTTP/1.1 200 OK\r\nName : x\r\n\r\n', 'bad-field-name'],
    ['HTTP/1.1 200 OK\r\nName\t: x\r\n\r\n', 'bad-field-name'],
    ['HTTP/1.1 200 OK\r\n: x\r\n\r\n', 'bad-field-name'],
    ['HTTP/1.1 200 OK\r\nNa(me: x\r\n\r\n', 'bad-field-name'],
    ['HTTP/1.1 200 OK\r\nNoColon\r\n\r\n', 'bad-field-name'],
    ['HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n', 'bad-field-value'],
    ['HTTP/1.1 200 OK\r\nX: a\x01b\r\n\r\n', 'bad-field-value'],
    ['HTTP/1.1 200 OK\r\nX: a\x7fb\r\n\r\n', 'bad-field-value'],
    ['HTTP/1.1 200 OK\r\nX: a\x1b\r\n\r\n', 'bad-field-value'],
    ['HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n', 'obs-fold'],
    ['HTTP/1.1 200 OK\r\nX: a\r\n\tb\r\n\r\n', 'obs-fold'],
    ['HTTP/1.1 200 OK\r\n X: a\r\n\r\n', 'obs-fold'],
    ['HTTP/1.1 200 OK\rX: a\r\n\r\n', 'bare-cr'],
    ['HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n', 'bare-cr'],
    ['HTTP/1.1 200 OK\r\nX: a\r\n\r\r\n', 'bare-cr'],
    ['HTTP/1.1 200 OK\nX: a\r\n\r\n', 'bare-lf'],
    ['HTTP/1.1 200 OK\r\nX: a\n\r\n', 'bare-lf'],
    ['HTTP/1.1 200 OK\r\nX: a\r\n\n', 'bare-lf'],
    ['HTTP/1.1 200\nX: a\r\n\r\n', 'bare-lf'],
    ['HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', 'bad-content-length'],
    ['HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n', 'bad-content-length'],
    ['HTTP/1.1 200 OK\r\nContent-Length: 5 5\r\n\r\n', 'bad-content-length'],
    ['HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n', 'bad-content-length'],
    ['HTTP/1.1 200 OK\r\nContent-Length: 0x5\r\n\r\n', 'bad-content-length'],
    ['HTTP/1.1 200 OK\r\nContent-Length: 1.0\r\n\r\n', 'bad-content-length'],
    ['HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n', 'bad-content-length'],
    ['HTTP/1.1 200 OK\r\nContent-Length: 9007199254740992\r\n\r\n', 'bad-content-length'],
    ['HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n', 'bad-content-length'],
    // Validated even where it frames nothing.
    ['HTTP/1.1 304 Not Modified\r\nContent-Length: x\r\n\r\n', 'bad-content-length'],
    ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n', 'conflicting-content-length'],
    ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\n', 'conflicting-content-length'],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n', 'bad-transfer-encoding'],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n', 'bad-transfer-encoding'],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip, chunked\r\n\r\n', 'bad-transfer-encoding'],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;q=1\r\n\r\n', 'bad-transfer-encoding'],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n\r\n', 'bad-transfer-encoding'],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: ,\r\n\r\n', 'bad-transfer-encoding'],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip chunked\r\n\r\n', 'bad-transfer-encoding'],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip;\r\n\r\n', 'bad-transfer-encoding'],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip;level="9\r\n\r\n', 'bad-transfer-encoding'],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: \x80chunked\r\n\r\n', 'bad-transfer-encoding'],
  ];
  for (const [text, code] of cases) assert.equal(refused(text), code, JSON.stringify(text));
  // Parameters, quoted or not, on a coding other than chunked are fine.
  assert.equal(done('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip ; level=9 ;x="a\\"b, c", chunked\r\n\r\n').body, 'chunked');
});

test('limits: the head may be maxHeaderBytes long, no longer; refused as soon as a partial head passes it', () => {
  const base = 'HTTP/1.1 200 OK\r\nX: ';
  const end = '\r\n\r\n';
  const limits = { maxHeaderBytes: 1024, maxHeaderCount: 100 };
  const exact = `${base}${'a'.repeat(1024 - base.length - end.length)}${end}`;
  assert.equal(exact.length, 1024);
  assert.equal(parse(exact, 'GET', limits).kind, 'done');
  assert.equal(refused(`${base}${'a'.repeat(1025 - base.length - end.length)}${end}`, 'GET', limits), 'head-too-large');
  // Unfinished: partial below the limit, refused at it without waiting for the end.
  assert.equal(parse(`${base}${'a'.repeat(1023 - base.length)}`, 'GET', limits), HEAD_PARTIAL);
  assert.equal(refused(`${base}${'a'.repeat(1024 - base.length)}`, 'GET', limits), 'head-too-large');
  // A status line that never ends.
  assert.equal(refused(`HTTP/1.1 200 ${'x'.repeat(2000)}`, 'GET', limits), 'head-too-large');
  // Field count.
  const fields = (n: number): string => `HTTP/1.1 204 No Content\r\n${'X: y\r\n'.repeat(n)}\r\n`;
  assert.equal(parse(fields(100)).kind, 'done');
  assert.equal(refused(fields(101)), 'too-many-fields');
  assert.equal(refused(fields(3), 'GET', { maxHeaderBytes: 1024, maxHeaderCount: 2 }), 'too-many-fields');
  // More fields than the scanner's first table holds: it grows.
  const many = done(fields(100));
  assert.equal(many.headers.length, 200);
});

test('every prefix of a head is partial until the whole head is there, then the same result; refusals come as soon as the fault is visible', () => {
  // [message, where a refusal is known: at the faulty byte, or only once the head is whole]
  const messages: [string, number][] = [
    ['HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello', -1],
    ['HTTP/1.0 404 Not Found\r\nConnection: keep-alive\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', -1],
    ['HTTP/1.1 204\r\n\r\n', -1],
    ['HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n', 'HTTP/1.1 200 OK\r\nX: a\r\n '.length],
    ['HTTP/1.1 200 OK\r\nX: a\nY: b\r\n\r\n', 'HTTP/1.1 200 OK\r\nX: a\n'.length],
    ['HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n'.length],
    ['HTTP/1.2 200 OK\r\n\r\n', 'HTTP/1.2'.length],
  ];
  for (const [text, refusedAt] of messages) {
    const whole = parse(text);
    let firstFinal = -1;
    for (let k = 0; k <= text.length; k++) {
      // Inside a larger buffer, with junk before the start and after the end that must not be read.
      const junk = '\r\n\n junk ';
      const buf = Buffer.from(`${junk}${text.slice(0, k)}\r\n\r\nHTTP/1.1 500 X\r\n\r\n`, 'latin1');
      const r = parseResponseHead(buf, junk.length, junk.length + k, LIMITS, 'GET');
      if (r.kind === 'partial') {
        assert.equal(firstFinal, -1, `${JSON.stringify(text)}: partial at ${k} after a result at ${firstFinal}`);
        continue;
      }
      if (firstFinal === -1) firstFinal = k;
      assert.deepEqual(r, whole, `${JSON.stringify(text)} cut at ${k}`);
    }
    assert.notEqual(firstFinal, -1);
    if (whole.kind === 'done') assert.equal(firstFinal, whole.length, 'done exactly when the head is complete');
    else assert.equal(firstFinal, refusedAt, `${JSON.stringify(text)}: refused as soon as the fault is visible`);
  }
});

test('partial and invalid results are shared constants: waiting and refusing allocate nothing', () => {
  assert.equal(parse('HTTP/1.1 200 OK\r\nX: '), parse('HTTP/1.'));
  assert.equal(parse('HTTP/1.1 200 OK\r\nX: \x00\r\n\r\n'), parse('HTTP/1.1 200 OK\r\nY: \x01\r\n\r\n'));
  const r = parse('HTTP/1.1 200 OK\r\nX: \x00\r\n\r\n');
  assert.ok(r.kind === 'invalid' && Object.isFrozen(r) && r.error.reason.includes('RFC 9110 section 5.5'));
});
