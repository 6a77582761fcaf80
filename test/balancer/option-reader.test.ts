import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OptionReader, showValue } from '../../src/balancer/option-reader.js';
import { ConfigError } from '../../src/errors.js';

const KNOWN = ['count', 'share', 'on', 'path'];

function refusal(run: () => unknown): ConfigError {
  try {
    run();
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e;
  }
  assert.fail('expected a ConfigError');
}

test('OptionReader: absent options or settings take the defaults', () => {
  for (const raw of [undefined, null, {}]) {
    const r = new OptionReader(raw, 'x', 'SG_ERR_HEALTH', KNOWN);
    assert.equal(r.int('count', 0, 10, 4, 'the count'), 4);
    assert.equal(r.number('share', 0, 1, 0.5, 'the share'), 0.5);
    assert.equal(r.bool('on', true, 'on'), true);
    assert.equal(r.text('path', '/a', () => null), '/a');
  }
  const r = new OptionReader({ count: 0, share: 0.25, on: false, path: '/b' }, 'x', 'SG_ERR_HEALTH', KNOWN);
  assert.equal(r.int('count', 0, 10, 4, 'the count'), 0);
  assert.equal(r.number('share', 0, 1, 0.5, 'the share'), 0.25);
  assert.equal(r.bool('on', true, 'on'), false);
  assert.equal(r.text('path', '/a', () => null), '/b');
});

test('OptionReader: refusals name the field, the value, the rule and the default', () => {
  const at = (raw: unknown): OptionReader => new OptionReader(raw, 'proxy.thing', 'SG_ERR_RETRY', KNOWN);
  let e = refusal(() => at({ count: 11 }).int('count', 0, 10, 4, 'the count'));
  assert.equal(e.field, 'proxy.thing.count');
  assert.equal(e.code, 'SG_ERR_RETRY');
  assert.equal(e.message, 'proxy.thing.count: is 11: the count must be an integer from 0 to 10; the default is 4');
  e = refusal(() => at({ count: 1.5 }).int('count', 0, 10, 4, 'the count'));
  assert.match(e.message, /is 1.5: the count must be an integer/);
  e = refusal(() => at({ share: Number.POSITIVE_INFINITY }).number('share', 0, 1, 0.5, 'the share'));
  assert.match(e.message, /is Infinity: the share must be a number from 0 to 1; the default is 0.5/);
  e = refusal(() => at({ on: 1 }).bool('on', true, 'whether it is on'));
  assert.match(e.message, /proxy.thing.on: is 1: whether it is on must be true or false; the default is true/);
  e = refusal(() => at({ path: 'b' }).text('path', '/a', (p) => (p.startsWith('/') ? null : 'must start with /')));
  assert.equal(e.message, 'proxy.thing.path: is "b": must start with /');
  e = refusal(() => at({ path: 3 }).text('path', '/a', () => null));
  assert.match(e.message, /is 3: must be a string; the default is "\/a"/);
  e = refusal(() => at({ cuont: 3 }));
  assert.equal(e.message, 'proxy.thing.cuont: is not a setting here: the settings are count, share, on, path');
  for (const raw of [3, 'x', [1], true]) assert.match(refusal(() => at(raw)).message, /^proxy.thing: is .*: give a mapping of settings \(count, share, on, path\)/);
});

test('showValue: numbers as written, everything else as JSON', () => {
  assert.equal(showValue(Number.NaN), 'NaN');
  assert.equal(showValue(-2), '-2');
  assert.equal(showValue('10s'), '"10s"');
  assert.equal(showValue(null), 'null');
  assert.equal(showValue(undefined), 'undefined');
  assert.equal(showValue({ a: [1] }), '{"a":[1]}');
});
