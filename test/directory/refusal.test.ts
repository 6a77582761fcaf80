/**
 * Refusals are values with a catalogued code; every directory code is documented with its status
 * and named in the README.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { isRefusal, refusal } from '../../src/directory/refusal.js';
import { DIRECTORY_ERROR_CODES } from '../../src/errors.js';
import { ROOT } from '../cli/run.js';

test('refusal: a value, told apart from answers', () => {
  const r = refusal(409, 'SG_ERR_KEYLESS_BALANCER', 'no key has an owner');
  assert.deepEqual(r, { kind: 'refusal', status: 409, code: 'SG_ERR_KEYLESS_BALANCER', error: 'no key has an owner' });
  assert.equal(isRefusal(r), true);
  assert.equal(isRefusal({ endpoint: 'a' }), false);
  assert.equal(isRefusal(null), false);
});

test('refusal: every directory code has its status in the catalogue and is named in the README', async () => {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  for (const [code, text] of Object.entries(DIRECTORY_ERROR_CODES)) {
    assert.match(text, /^\d{3}: /, `${code} starts with its status`);
    assert.ok(readme.includes(`\`${code}\``), `the README names ${code}`);
  }
});
