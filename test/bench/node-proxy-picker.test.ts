import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fnv1a, podPicker } from '../../bench/proxy/node-proxy-picker.js';

test('fnv1a: the published 32-bit FNV-1a vectors', () => {
  assert.equal(fnv1a(''), 0x811c9dc5);
  assert.equal(fnv1a('a'), 0xe40c292c);
  assert.equal(fnv1a('foobar'), 0xbf9cf968);
});

test('podPicker: round robin takes every pod in turn, whatever the key', () => {
  const pick = podPicker('round-robin', 3);
  assert.deepEqual([pick('k'), pick('k'), pick(undefined), pick('x')], [0, 1, 2, 0]);
});

test('podPicker: hashing sends a key to one pod, and requests without it in turn', () => {
  const pick = podPicker('hash', 4);
  const owner = pick('account-7');
  for (let i = 0; i < 10; i++) assert.equal(pick('account-7'), owner);
  assert.equal(owner, fnv1a('account-7') % 4);
  assert.deepEqual([pick(undefined), pick(undefined), pick(['a', 'b'])], [0, 1, 2]);
});
