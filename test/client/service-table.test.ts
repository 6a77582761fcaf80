/** The table finds a service by the origin a request carries, in the spellings undici and callers use. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServiceTable } from '../../src/client/service-table.js';
import type { ShardService } from '../../src/client/shard-service.js';

const service = (name: string, origin: string): ShardService => ({ name, origin }) as unknown as ShardService;

test('service table: the origin, with a trailing slash or the default port written out; a URL; other origins miss', () => {
  const a = service('a:8080', 'http://a:8080');
  const b = service('b', 'http://b');
  const c = service('https://c', 'https://c');
  const table = new ServiceTable([a, b, c]);
  assert.equal(table.get('http://a:8080'), a);
  assert.equal(table.get('http://a:8080/'), a);
  assert.equal(table.get(new URL('http://a:8080/x')), a);
  assert.equal(table.get('http://b'), b);
  assert.equal(table.get('http://b:80'), b);
  assert.equal(table.get('https://c:443/'), c);
  assert.equal(table.get('https://a:8080'), undefined, 'another scheme is another origin');
  assert.equal(table.get('http://a:8081'), undefined);
  assert.equal(table.get(undefined), undefined);
  assert.equal(table.byName('b'), b);
  assert.equal(table.byName('http://b'), undefined);
});
