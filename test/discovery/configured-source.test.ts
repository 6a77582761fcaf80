import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { EndpointSet } from '../../src/balancer/endpoint.js';
import { openEndpointSource } from '../../src/discovery/configured-source.js';
import { StaticFileSource } from '../../src/discovery/static-file.js';
import { ConfigError } from '../../src/errors.js';

function firstSet(open: Awaited<ReturnType<typeof openEndpointSource>>): Promise<EndpointSet> {
  return new Promise((resolve, reject) => {
    const stop = open.source.subscribe(
      (set) => {
        stop();
        resolve(set);
      },
      (e) => reject(e),
    );
  });
}

test('openEndpointSource: an inline list is a fixed source, with no file to re-read', async () => {
  const open = await openEndpointSource({ kind: 'inline', specs: [{ name: 'pod-0', address: '127.0.0.1:9000' }] });
  assert.equal(open.file, null);
  assert.deepEqual((await firstSet(open)).endpoints.map((e) => e.name), ['pod-0']);
});

test('openEndpointSource: a file is read before anything subscribes, so a bad one fails the start', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'shardgate-source-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'endpoints.yaml');
  await writeFile(path, '- { name: pod-1, address: 127.0.0.1:9001 }\n');
  const open = await openEndpointSource({ kind: 'file', path });
  assert.ok(open.file instanceof StaticFileSource);
  assert.equal(open.source, open.file);
  assert.equal(open.file.current?.endpoints[0]?.name, 'pod-1', 'read already');
  assert.deepEqual((await firstSet(open)).endpoints.map((e) => e.name), ['pod-1']);
  await writeFile(path, '- { name: pod-1 }\n');
  await assert.rejects(openEndpointSource({ kind: 'file', path }), ConfigError);
  await assert.rejects(openEndpointSource({ kind: 'file', path: join(dir, 'missing.yaml') }), /cannot be read \(ENOENT\)/);
});
