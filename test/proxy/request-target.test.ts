import assert from 'node:assert/strict';
import { test } from 'node:test';
import { authorityOf, originForm } from '../../src/proxy/request-target.js';

test('originForm: the path and query of an absolute-form target; null for other forms', () => {
  const cases: [string, string | null][] = [
    ['http://a.example/x/y?q=1', '/x/y?q=1'],
    ['HTTPS://a.example:8443', '/'],
    ['http://a.example?q=1', '/?q=1'],
    ['http://a.example/?q=/x', '/?q=/x'],
    ['ftp://a.example/x', null],
    ['*', null],
    ['a.example:443', null],
  ];
  for (const [target, want] of cases) assert.equal(originForm(target), want, target);
});

test('authorityOf: host and port without user info; null when empty', () => {
  assert.equal(authorityOf('http://a.example:8080/x'), 'a.example:8080');
  assert.equal(authorityOf('http://user:pw@a.example/x'), 'a.example');
  assert.equal(authorityOf('http://[::1]:9000?q'), '[::1]:9000');
  assert.equal(authorityOf('http:///x'), null);
});
