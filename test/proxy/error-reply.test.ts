import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ErrorReply } from '../../src/proxy/error-reply.js';
import { PROXY_ERROR_CODES } from '../../src/errors.js';
import { NO_ENDPOINT_REPLIES, REPLIES, errorReply, noSubsetReply } from '../../src/proxy/error-reply.js';

const ALL: [string, ErrorReply][] = [...Object.entries(REPLIES), ...Object.entries(NO_ENDPOINT_REPLIES), ['noSubset', noSubsetReply('no endpoint has the labels version="v9" (header x-version)')]];

test('every reply has a documented code, its status, and a small JSON body', () => {
  for (const [name, reply] of ALL) {
    assert.ok(reply.code in PROXY_ERROR_CODES, `${name}: ${reply.code} is catalogued`);
    assert.ok(PROXY_ERROR_CODES[reply.code].startsWith(`${reply.status}:`), `${name}: ${reply.code} is documented with status ${reply.status}`);
    const body = JSON.parse(reply.body.toString()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body), ['error', 'code']);
    assert.equal(body.code, reply.code);
    assert.ok(typeof body.error === 'string' && body.error.length > 0 && reply.body.length < 256, name);
    assert.deepEqual(reply.headers, ['content-type', 'application/json', 'content-length', String(reply.body.length), 'cache-control', 'no-store']);
  }
  for (const [reason, reply] of Object.entries(NO_ENDPOINT_REPLIES)) {
    assert.equal(reply.status, 503);
    assert.ok((JSON.parse(reply.body.toString()) as { error: string }).error.includes(reason), `the 503 names ${reason}`);
  }
});

test('every catalogued code is used by some reply', () => {
  const used = new Set(ALL.map(([, r]) => r.code));
  for (const code of Object.keys(PROXY_ERROR_CODES)) assert.ok(used.has(code as ErrorReply['code']), `${code} is never sent`);
});

test('raw replies are complete HTTP/1.1 responses that close the connection', () => {
  const reply = errorReply(431, 'SG_ERR_HEADERS_TOO_LARGE', 'too "large"');
  const raw = reply.raw.toString('latin1');
  const [head, body] = raw.split('\r\n\r\n') as [string, string];
  assert.equal(head.split('\r\n')[0], 'HTTP/1.1 431 Request Header Fields Too Large');
  assert.ok(head.includes('\r\nconnection: close'));
  assert.ok(head.includes(`\r\ncontent-length: ${Buffer.byteLength(body)}`));
  assert.deepEqual(JSON.parse(body), { error: 'too "large"', code: 'SG_ERR_HEADERS_TOO_LARGE' });
});
