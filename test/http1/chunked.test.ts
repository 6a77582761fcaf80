import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChunkSink } from '../../src/http1/chunked.js';
import { ChunkedDecoder, MAX_SIZE_LINE_BYTES } from '../../src/http1/chunked.js';
import type { Http1ErrorCode } from '../../src/http1/errors.js';

const LIMITS = { maxTrailerBytes: 1024, maxTrailerCount: 8 };

interface Decoded {
  body: string;
  consumed: number;
  done: boolean;
  trailers: string[];
  error: Http1ErrorCode | null;
}

/** A sink that keeps the spans as text. */
function textSink(): ChunkSink & { text: string; spans: number } {
  return {
    text: '',
    spans: 0,
    data(buf, start, end) {
      assert.ok(start < end, 'no empty spans');
      this.text += buf.toString('latin1', start, end);
      this.spans++;
    },
  };
}

/**
 * Decodes `text` pushed in pieces cut at `cuts`. With `copies`, each piece is its own buffer
 * (nothing may be kept from an earlier one); otherwise ranges of one buffer.
 */
function decode(text: string, cuts: readonly number[] = [], copies = false, decoder = new ChunkedDecoder(LIMITS)): Decoded {
  const buf = Buffer.from(text, 'latin1');
  const sink = textSink();
  const bounds = [0, ...cuts, buf.length];
  let consumed = 0;
  for (let p = 0; p + 1 < bounds.length; p++) {
    const [s, e] = [bounds[p]!, bounds[p + 1]!];
    const n = copies ? decoder.push(Buffer.from(buf.subarray(s, e)), 0, e - s, sink) : decoder.push(buf, s, e, sink);
    if (n < 0) {
      assert.equal(decoder.push(buf, e, buf.length, sink), -1, 'failed stays failed');
      return { body: sink.text, consumed: -1, done: decoder.done, trailers: decoder.trailers, error: decoder.error!.code };
    }
    assert.ok(n <= e - s);
    consumed += n;
    if (n < e - s) assert.ok(decoder.done, 'only the end of the message stops a push short');
  }
  return { body: sink.text, consumed, done: decoder.done, trailers: decoder.trailers, error: decoder.error?.code ?? null };
}

function refused(text: string): Http1ErrorCode | null {
  return decode(text).error;
}

test('decodes chunks with extensions, stops at the end of the message, no trailers', () => {
  const message = '5\r\nhello\r\n6;name;ext=tok;q="a \\"quoted\\" \tvalue\\\\";x=1\r\n world\r\nA\r\n0123456789\r\n0;last=yes\r\n\r\n';
  const r = decode(`${message}GET /next HTTP/1.1\r\n\r\n`);
  assert.deepEqual(r, { body: 'hello world0123456789', consumed: message.length, done: true, trailers: [], error: null });
});

test('sizes: any case of hex, leading zeros, below 2^53; empty extension names and values pass as llhttp passes them', () => {
  assert.equal(decode('a\r\n0123456789\r\nB\r\n0123456789a\r\n0\r\n\r\n').body, '01234567890123456789a');
  assert.equal(decode('00000000000000000000003\r\nabc\r\n000\r\n\r\n').body, 'abc');
  assert.equal(decode(`${'0'.repeat(MAX_SIZE_LINE_BYTES - 1)}3\r\nabc\r\n0\r\n\r\n`).body, 'abc');
  assert.equal(decode('3;a=\r\nabc\r\n0;b=;c;=d;=\r\n\r\n').body, 'abc');
  // The largest size is taken: the decoder waits for its data.
  const big = decode('1fffffffffffff\r\nabc');
  assert.deepEqual([big.error, big.done, big.body], [null, false, 'abc']);
});

test('trailers are read as field lines, names as sent and values trimmed', () => {
  const message = '3\r\nabc\r\n0\r\nX-Checksum:  abc123 \r\nServer-Timing: db;dur=53\r\nEmpty:\r\n\r\n';
  const r = decode(`${message}HTTP/1.1 200 OK\r\n`);
  assert.deepEqual(r, { body: 'abc', consumed: message.length, done: true, trailers: ['X-Checksum', 'abc123', 'Server-Timing', 'db;dur=53', 'Empty', ''], error: null });
});

test('every refusal a chunked body can earn, with its code', () => {
  const cases: [string, Http1ErrorCode][] = [
    ['x\r\n', 'bad-chunk-size'],
    ['\r\n', 'bad-chunk-size'],
    [' 5\r\nhello\r\n0\r\n\r\n', 'bad-chunk-size'],
    ['5 \r\nhello\r\n0\r\n\r\n', 'bad-chunk-size'],
    ['0x5\r\nhello\r\n0\r\n\r\n', 'bad-chunk-size'],
    ['-5\r\nhello\r\n0\r\n\r\n', 'bad-chunk-size'],
    ['+5\r\nhello\r\n0\r\n\r\n', 'bad-chunk-size'],
    ['5\r\nhello\r\n\r\n', 'bad-chunk-size'],
    ['5\r\nhello\r\nzz\r\n', 'bad-chunk-size'],
    ['5\t;a\r\nhello\r\n0\r\n\r\n', 'bad-chunk-size'],
    [`${'0'.repeat(MAX_SIZE_LINE_BYTES)}3\r\nabc\r\n0\r\n\r\n`, 'bad-chunk-size'],
    ['20000000000000\r\n', 'chunk-too-large'],
    ['ffffffffffffffffff\r\n', 'chunk-too-large'],
    ['10000000000000005\r\nhello\r\n0\r\n\r\n', 'chunk-too-large'],
    ['5;\r\nhello\r\n0\r\n\r\n', 'bad-chunk-extension'],
    ['5;;a\r\nhello\r\n0\r\n\r\n', 'bad-chunk-extension'],
    ['5;a==\r\nhello\r\n0\r\n\r\n', 'bad-chunk-extension'],
    ['5;a=b=c\r\nhello\r\n0\r\n\r\n', 'bad-chunk-extension'],
    ['5; a\r\nhello\r\n0\r\n\r\n', 'bad-chunk-extension'],
    ['5;a =b\r\nhello\r\n0\r\n\r\n', 'bad-chunk-extension'],
    ['5;a= b\r\nhello\r\n0\r\n\r\n', 'bad-chunk-extension'],
    ['5;a b\r\nhello\r\n0\r\n\r\n', 'bad-chunk-extension'],
    ['5;a="x\r\nhello\r\n0\r\n\r\n', 'bad-chunk-extension'],
    ['5;a="x"y\r\nhello\r\n0\r\n\r\n', 'bad-chunk-extension'],
    ['5;a="\x01"\r\nhello\r\n0\r\n\r\n', 'bad-chunk-extension'],
    ['5;a="\\\x00"\r\nhello\r\n0\r\n\r\n', 'bad-chunk-extension'],
    ['5;a=(b)\r\nhello\r\n0\r\n\r\n', 'bad-chunk-extension'],
    [`5;a=${'x'.repeat(MAX_SIZE_LINE_BYTES)}\r\nhello\r\n0\r\n\r\n`, 'bad-chunk-extension'],
    ['5\nhello\r\n0\r\n\r\n', 'bare-lf'],
    ['5;a\nhello\r\n0\r\n\r\n', 'bare-lf'],
    ['5;a=b\nhello\r\n0\r\n\r\n', 'bare-lf'],
    ['5;a="b"\nhello\r\n0\r\n\r\n', 'bare-lf'],
    ['5\r\nhello\r\n\n', 'bare-lf'],
    ['0\r\n\n', 'bare-lf'],
    ['5\rhello\r\n0\r\n\r\n', 'bare-cr'],
    ['0\r\n\r\r\n', 'bare-cr'],
    ['5\r\nhelloX\r\n0\r\n\r\n', 'bad-chunk-end'],
    ['5\r\nhello\n0\r\n\r\n', 'bad-chunk-end'],
    ['5\r\nhello\rX0\r\n\r\n', 'bad-chunk-end'],
    ['3\r\nhello\r\n0\r\n\r\n', 'bad-chunk-end'],
    ['0\r\nBad Name: x\r\n\r\n', 'bad-trailer'],
    ['0\r\nX: a\r\n folded\r\n\r\n', 'bad-trailer'],
    ['0\r\nX: a\x00\r\n\r\n', 'bad-trailer'],
    ['0\r\nX: a\nY: b\r\n\r\n', 'bad-trailer'],
    ['0\r\n: a\r\n\r\n', 'bad-trailer'],
    [`0\r\nX: ${'a'.repeat(1100)}\r\n\r\n`, 'trailer-too-large'],
    [`0\r\n${'X: y\r\n'.repeat(9)}\r\n`, 'trailer-too-large'],
  ];
  for (const [text, code] of cases) assert.equal(refused(text), code, JSON.stringify(text.slice(0, 60)));
});

test('trailer limits: exactly maxTrailerBytes and maxTrailerCount pass; refused while still arriving once past', () => {
  const section = (valueBytes: number): string => `X: ${'a'.repeat(valueBytes)}\r\n\r\n`;
  const exact = section(1024 - 'X: \r\n\r\n'.length);
  assert.equal(exact.length, 1024);
  assert.equal(decode(`0\r\n${exact}`).done, true);
  assert.equal(refused(`0\r\n${section(1024 - 'X: \r\n\r\n'.length + 1)}`), 'trailer-too-large');
  assert.equal(refused(`0\r\nX: ${'a'.repeat(1021)}`), 'trailer-too-large', 'without waiting for the end');
  assert.deepEqual(decode(`0\r\nX: ${'a'.repeat(1020)}`).error, null, 'partial below the limit');
  assert.equal(decode(`0\r\n${'X: y\r\n'.repeat(8)}\r\n`).trailers.length, 16);
});

test('every split of a message, and every byte pushed alone, decodes the same', () => {
  const messages = [
    '5\r\nhello\r\n6;name;ext=tok;q="a \\"b\\""\r\n world\r\n0\r\n\r\nNEXT',
    '1\r\na\r\n1\r\nb\r\n0\r\nX-A: 1\r\nX-B:  two \r\n\r\nNEXT',
    'C\r\n0123456789ab\r\n0;e\r\nT: v\r\n\r\n',
    '5\r\nhello\r\n5;a= b\r\nworld\r\n0\r\n\r\n',
    '5\r\nhello\r\n0\r\nX: a\nY: b\r\n\r\n',
    '5\r\nhelloX\r\n',
    '3\r\nabc\r\n10000000000000005\r\n',
  ];
  for (const text of messages) {
    const whole = decode(text);
    for (let k = 0; k <= text.length; k++) {
      assert.deepEqual(decode(text, [k]), whole, `${JSON.stringify(text)} cut at ${k}`);
      assert.deepEqual(decode(text, [k], true), whole, `${JSON.stringify(text)} cut at ${k}, copied pieces`);
    }
    const everyByte = Array.from({ length: text.length - 1 }, (_, i) => i + 1);
    assert.deepEqual(decode(text, everyByte, true), whole, `${JSON.stringify(text)} byte by byte`);
  }
});

test('data spans are ranges of the pushed buffer, one per chunk and push', () => {
  const buf = Buffer.from('5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n', 'latin1');
  const seen: [Buffer, number, number][] = [];
  const decoder = new ChunkedDecoder(LIMITS);
  assert.equal(decoder.push(buf, 0, buf.length, { data: (b, s, e) => seen.push([b, s, e]) }), buf.length);
  assert.deepEqual(seen.map(([, s, e]) => [s, e]), [[3, 8], [13, 16]]);
  for (const [b] of seen) assert.equal(b, buf, 'no copy');
});

test('one decoder serves message after message with reset(); done consumes nothing more; trailers do not leak into the next message', () => {
  const decoder = new ChunkedDecoder(LIMITS);
  const first = decode('3\r\nabc\r\n0\r\nX: 1\r\n\r\n', [], false, decoder);
  assert.deepEqual([first.body, first.trailers], ['abc', ['X', '1']]);
  assert.equal(decoder.push(Buffer.from('5\r\nhello\r\n'), 0, 10, textSink()), 0);
  decoder.reset();
  const second = decode('2\r\nde\r\n0\r\n\r\n', [], false, decoder);
  assert.deepEqual([second.body, second.trailers, second.done], ['de', [], true]);
  decoder.reset();
  assert.equal(decode('zz', [], false, decoder).error, 'bad-chunk-size');
  decoder.reset();
  assert.equal(decoder.error, null);
  const third = decode('1\r\nx\r\n0\r\nY: 2\r\n\r\n', [], false, decoder);
  assert.deepEqual([third.body, third.trailers], ['x', ['Y', '2']]);
});
