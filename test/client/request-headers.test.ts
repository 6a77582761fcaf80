/** A header's value in every shape undici and fetch pass headers in, names compared without case. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { headerValue } from '../../src/client/request-headers.js';

test('headers as a record: exact name, other case, array values, absent', () => {
  assert.equal(headerValue({ 'x-tenant': 'a' }, 'x-tenant'), 'a');
  assert.equal(headerValue({ accept: '*/*', 'X-Tenant': 'b' }, 'x-tenant'), 'b', 'fetch keeps the case it was given');
  assert.equal(headerValue({ 'x-tenant': ['c', 'd'] }, 'x-tenant'), 'c', 'the first value');
  assert.equal(headerValue({ 'x-tenant': 7 }, 'x-tenant'), '7');
  assert.equal(headerValue({ 'x-tenants': 'e' }, 'x-tenant'), undefined);
  assert.equal(headerValue({ 'x-tenant': undefined }, 'x-tenant'), undefined);
  assert.equal(headerValue(null, 'x-tenant'), undefined);
  assert.equal(headerValue(undefined, 'x-tenant'), undefined);
});

test('headers as a flat list, a list of pairs, Headers and a Map', () => {
  assert.equal(headerValue(['accept', '*/*', 'X-TENANT', 'f'], 'x-tenant'), 'f');
  assert.equal(headerValue([Buffer.from('x-tenant'), Buffer.from('g')], 'x-tenant'), 'g');
  assert.equal(headerValue(['x-tenant'], 'x-tenant'), undefined, 'a name without a value');
  assert.equal(headerValue([['accept', '*/*'], ['x-Tenant', 'h']], 'x-tenant'), 'h');
  assert.equal(headerValue(new Headers({ 'X-Tenant': 'i' }), 'x-tenant'), 'i');
  assert.equal(headerValue(new Map([['X-Tenant', 'j']]), 'x-tenant'), 'j');
  assert.equal(headerValue([], 'x-tenant'), undefined);
});
