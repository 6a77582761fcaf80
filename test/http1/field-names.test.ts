import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commonFieldName } from '../../src/http1/field-names.js';

function lookup(text: string, pad = 3): string | undefined {
  // Inside a larger buffer: only the given range may count.
  const buf = Buffer.from(`${'x'.repeat(pad)}${text}:y`, 'latin1');
  return commonFieldName(buf, pad, pad + text.length);
}

test('common names come back as the same string, in the two usual casings, byte for byte', () => {
  for (const name of ['Host', 'host', 'Content-Length', 'content-length', 'User-Agent', 'TE', 'te', 'Sec-WebSocket-Key', 'x-request-id', 'Strict-Transport-Security']) {
    const found = lookup(name);
    assert.equal(found, name);
    assert.equal(lookup(name, 7), found, 'wherever it lies in the buffer');
  }
});

test('other names, other casings and near misses are not interned: names are handed on as sent', () => {
  for (const name of ['HOST', 'HoSt', 'Hos', 'Hostx', 'X-Custom', 'Content-Lengths', 'content-lengtH', 'a', 'Content_Length']) {
    assert.equal(lookup(name), undefined, name);
  }
});
