import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KNOWN_METHODS, authorityOf, isValidAuthority, originForm } from '../../src/proxy/request-target.js';

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

test('isValidAuthority: host[:port] with no spaces, user info or path; IP literals in brackets; empty allowed', () => {
  const good = ['a.example', 'a.example:8080', '127.0.0.1:9000', '[::1]:8080', '[::1]', 'xn--bcher-kva.example', '%41.example', 'a_b.example:', ''];
  const bad = ['a b', 'evil.com/@a', 'user@a.example', 'a.example:80x', '[::1', 'a%zz', 'a\tb', 'a.example?x', 'a.example#f', 'a"b'];
  for (const text of good) assert.ok(isValidAuthority(text), `${JSON.stringify(text)} should be accepted`);
  for (const text of bad) assert.ok(!isValidAuthority(text), `${JSON.stringify(text)} should be refused`);
});

test('KNOWN_METHODS: what Node\'s HTTP/1.1 parser knows, and nothing else', () => {
  for (const m of ['GET', 'POST', 'PATCH', 'OPTIONS', 'PROPFIND', 'PURGE']) assert.ok(KNOWN_METHODS.has(m), m);
  for (const m of ['FOO', 'get', '']) assert.ok(!KNOWN_METHODS.has(m), m);
});
