/**
 * `shardgate plan` through the real binary: the table, the JSON, and refusals with exit code 2.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Plan } from '../../src/directory/plan.js';
import { runToEnd } from './run.js';

const endpoints = ['--endpoints', 'sharded-svc-0=10.0.0.10:8080,sharded-svc-1=10.0.0.11:8080,sharded-svc-2=10.0.0.12:8080'];

test('cli: plan prints the matrix of keys that move, exactly for ring hash; --json prints what GET /v1/plan answers', async () => {
  const r = await runToEnd(['plan', ...endpoints, '--balancer', 'ring-hash', '--key', 'header:x-account', '--add', 'sharded-svc-3']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.equal(lines[0], 'plan: add sharded-svc-3 (ring-hash, exact, from generation 1)');
  assert.match(lines[1]!, /^2\d\.\d\d% of keys move\.$/);
  assert.deepEqual(lines[4]!.trim().split(/\s{2,}/), ['now \\ after', 'sharded-svc-0', 'sharded-svc-1', 'sharded-svc-2', 'sharded-svc-3', 'now']);
  assert.ok(r.stdout.includes('keys that move:\n  key-'), r.stdout);
  assert.equal(r.stderr, '', 'discovery logs stay out of the way');
  const j = await runToEnd(['plan', ...endpoints, '--balancer', 'ordinal', '--key', 'header:x', '--replicas', '4', '--json']);
  assert.equal(j.code, 0, j.stderr);
  const plan = JSON.parse(j.stdout) as Plan;
  assert.deepEqual([plan.method, plan.algorithm, plan.change.replicas], ['sampled', 'ordinal', 4]);
  assert.ok(Math.abs(plan.moved - 0.75) < 0.01, `key mod 3 to key mod 4 moves three quarters (${plan.moved})`);
});

test('cli: plan refuses a change it cannot make, and a keyless balancer; exit 2', async () => {
  const gone = await runToEnd(['plan', ...endpoints, '--balancer', 'ring-hash', '--key', 'header:x', '--remove', 'sharded-svc-7']);
  assert.equal(gone.code, 2);
  assert.equal(gone.stderr.trim(), 'error: --remove sharded-svc-7: no endpoint has that name; the endpoints are sharded-svc-0, sharded-svc-1, sharded-svc-2');
  const none = await runToEnd(['plan', ...endpoints, '--balancer', 'ring-hash', '--key', 'header:x']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no change to plan: give --add NAME/);
  const keyless = await runToEnd(['plan', ...endpoints, '--add', 'x']);
  assert.equal(keyless.code, 2);
  assert.match(keyless.stderr, /the balancer is p2c, which routes no key/);
});
