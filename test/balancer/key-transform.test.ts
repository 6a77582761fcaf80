import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { hashKey } from '../../src/balancer/hash.js';
import type { KeyTransform } from '../../src/balancer/key-transform.js';
import { KEY_TRANSFORM_FORMS, MAX_PREFIX_LENGTH, applyKeyTransform, parseKeyTransform } from '../../src/balancer/key-transform.js';
import { ConfigError } from '../../src/errors.js';

const apply = (spec: string, text: string): string | null => applyKeyTransform(parseKeyTransform(spec), text);

test('parseKeyTransform: the three forms', () => {
  assert.deepEqual(parseKeyTransform('prefix:8'), { kind: 'prefix', spec: 'prefix:8', length: 8 });
  assert.deepEqual(parseKeyTransform('delimited:-:0'), { kind: 'delimited', spec: 'delimited:-:0', separator: '-', index: 0 });
  assert.deepEqual(parseKeyTransform('delimited:::2'), { kind: 'delimited', spec: 'delimited:::2', separator: ':', index: 2 });
  assert.deepEqual(parseKeyTransform('delimited:/v1/:1'), { kind: 'delimited', spec: 'delimited:/v1/:1', separator: '/v1/', index: 1 });
  assert.deepEqual(parseKeyTransform('s2:13'), { kind: 's2', spec: 's2:13', level: 13 });
  assert.deepEqual(parseKeyTransform('s2:0'), { kind: 's2', spec: 's2:0', level: 0 });
  assert.equal(parseKeyTransform(`prefix:${MAX_PREFIX_LENGTH}`).kind, 'prefix');
  assert.ok(Object.isFrozen(parseKeyTransform('s2:30')));
});

test('parseKeyTransform: refusals name the field, the value and the forms', () => {
  const bad = ['', 'prefix', 'prefix:', 'prefix:0', 'prefix:-1', 'prefix:1.5', `prefix:${MAX_PREFIX_LENGTH + 1}`, 'delimited', 'delimited:-', 'delimited::0', 'delimited:-:', 'delimited:-:x', 'delimited:-:1000', 's2', 's2:', 's2:31', 's2:-1', 's2:x', 'geohash:5', 'Prefix:3'];
  for (const spec of bad) {
    assert.throws(
      () => parseKeyTransform(spec, 'routing.keyTransform'),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, spec);
        assert.equal(err.code, 'SG_ERR_KEY_TRANSFORM');
        assert.equal(err.field, 'routing.keyTransform');
        assert.ok(err.message.includes(JSON.stringify(spec)), `${err.message} names the value`);
        assert.ok(err.message.includes(KEY_TRANSFORM_FORMS), `${err.message} lists the forms`);
        return true;
      },
    );
  }
});

test('prefix: the first N code points; a surrogate pair is never split; short keys stay whole', () => {
  assert.equal(apply('prefix:3', 'tenant42'), 'ten');
  assert.equal(apply('prefix:8', 'tenant42'), 'tenant42');
  assert.equal(apply('prefix:20', 'tenant42'), 'tenant42');
  assert.equal(apply('prefix:1', 'x'), 'x');
  assert.equal(apply('prefix:2', '𝄞𝄞𝄞'), '𝄞𝄞');
  assert.equal(apply('prefix:2', 'a𝄞b'), 'a𝄞');
  assert.equal(apply('prefix:2', 'ключ'), 'кл');
  assert.equal(apply('prefix:2', '\ud800\ud800x'), '\ud800\ud800', 'lone surrogates count one each');
  assert.equal(apply('prefix:1', '\udc00\ud834\udd1e'), '\udc00');
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 30 }), fc.integer({ min: 1, max: 40 }), (s, n) => {
      const got = apply(`prefix:${n}`, s);
      if (s.length === 0) return assert.equal(got, null);
      // Array.from iterates code points, pairing surrogates as the transform does.
      assert.equal(got, Array.from(s).slice(0, n).join(''));
    }),
    { seed: 17, numRuns: 2_000 },
  );
});

test('delimited: field INDEX of the split key; no such field, or an empty one, is no key', () => {
  assert.equal(apply('delimited:-:0', 'tenant42-user7'), 'tenant42');
  assert.equal(apply('delimited:-:1', 'tenant42-user7'), 'user7');
  assert.equal(apply('delimited:-:2', 'tenant42-user7'), null);
  assert.equal(apply('delimited:-:0', 'tenant42'), 'tenant42', 'no separator: the whole key is field 0');
  assert.equal(apply('delimited:-:1', 'tenant42'), null);
  assert.equal(apply('delimited:-:0', '-user7'), null, 'an empty field is no key');
  assert.equal(apply('delimited:-:1', 'a--b'), null);
  assert.equal(apply('delimited:-:2', 'a--b'), 'b');
  assert.equal(apply('delimited:::1', 'eu:tenant9:x'), 'tenant9');
  assert.equal(apply('delimited:/v1/:1', 'a/v1/b/v1/c'), 'b');
  fc.assert(
    fc.property(fc.array(fc.string({ unit: fc.constantFrom('a', 'b', '-', 'é'), maxLength: 4 }), { minLength: 1, maxLength: 5 }), fc.constantFrom('-', '--', 'é'), fc.nat({ max: 6 }), (parts, sep, i) => {
      const text = parts.join(sep);
      const want = text.split(sep)[i];
      assert.equal(apply(`delimited:${sep}:${i}`, text), text === '' || want === undefined || want === '' ? null : want);
    }),
    { seed: 23, numRuns: 2_000 },
  );
});

// Tokens from the reference C++ S2 library (s2cell's test corpus, aaliddell/s2cell
// tests/s2_encode_corpus.csv, written by S2CellId(S2LatLng::FromDegrees(lat, lng)).parent(level).ToToken()).
const S2_REFERENCE: readonly [number, number, number, string][] = [
  [21.724137931034491, -43.448275862068982, 10, '0a7335'],
  [21.724137931034491, -43.448275862068982, 30, '0a7335d3bad9115d'],
  [21.724137931034491, -31.034482758620697, 30, '0bdaf8586cc90c99'],
  [21.724137931034491, -18.620689655172413, 13, '0c1d8554'],
  [21.724137931034491, 6.2068965517241566, 12, '118bcd3'],
  [21.724137931034491, 6.2068965517241566, 30, '118bcd3b4109a143'],
  [21.724137931034491, 31.034482758620669, 0, '1'],
  [21.724137931034491, 31.034482758620669, 16, '142507a79'],
  [21.724137931034491, 43.448275862068982, 5, '158c'],
  [-90, -180, 1, 'b4'],
  [-90, -180, 10, 'b00001'],
  [-90, -180, 30, 'b000000000000001'],
];

test('s2: cell tokens agree with the reference S2 library', () => {
  for (const [lat, lng, level, token] of S2_REFERENCE) {
    assert.equal(apply(`s2:${level}`, `${lat},${lng}`), token, `${lat},${lng} at level ${level}`);
  }
  // s2cell's own unit tests (cell ids checked against the C++ library), as tokens.
  assert.equal(apply('s2:30', '45,45'), 4635422624767557889n.toString(16));
  assert.equal(apply('s2:30', '-45,-45'), 13811321448941993727n.toString(16));
  assert.equal(apply('s2:30', '12.3456789,12.3456789'), 1226158516923251567n.toString(16).padStart(16, '0'));
  assert.equal(apply('s2:0', '0,0'), '1');
});

test('s2: nearby points share a cell at a coarse level, and part at a fine one', () => {
  const berlin = '52.5200,13.4050';
  const nearby = '52.5201,13.4051';
  const hamburg = '53.5511,9.9937';
  assert.equal(apply('s2:13', berlin), apply('s2:13', nearby));
  assert.notEqual(apply('s2:30', berlin), apply('s2:30', nearby));
  assert.notEqual(apply('s2:13', berlin), apply('s2:13', hamburg));
  assert.equal(apply('s2:3', berlin), apply('s2:3', hamburg));
  // A coarser token is a prefix of the finer one's cell: the hierarchy holds.
  const fine = BigInt(`0x${apply('s2:20', berlin)!.padEnd(16, '0')}`);
  const coarse = BigInt(`0x${apply('s2:10', berlin)!.padEnd(16, '0')}`);
  const span = 1n << BigInt(2 * (30 - 10));
  assert.ok(fine >= coarse - span + 1n && fine <= coarse + span - 1n, 'the level-20 cell lies within the level-10 one');
});

test('s2: anything but a lat,lng pair in range is no key, never an exception', () => {
  assert.equal(apply('s2:10', ' 52.52 , 13.405 '), apply('s2:10', '52.52,13.405'), 'spaces around numbers are fine');
  assert.equal(apply('s2:10', '+52.52,1.3405e1'), apply('s2:10', '52.52,13.405'));
  assert.notEqual(apply('s2:10', '90,180'), null, 'the range is inclusive');
  for (const bad of ['', '52.52', '52.52,', ',13.4', '52.52;13.4', '52.52,13.4,1', '90.0001,0', '-90.5,0', '0,180.5', '0,-181', 'NaN,0', 'Infinity,0', '1e400,0', '0x10,0', 'a,b', '52.52 13.4', '52,52,13', '--1,0', '1.2.3,0']) {
    assert.equal(apply('s2:10', bad), null, JSON.stringify(bad));
  }
});

test('applyKeyTransform: no transform keeps the text; an empty key is no key; nothing throws', () => {
  assert.equal(applyKeyTransform(null, 'abc'), 'abc');
  assert.equal(applyKeyTransform(null, ''), null);
  const all: KeyTransform[] = ['prefix:1', 'prefix:5', 'delimited:-:0', 'delimited:,:1', 's2:0', 's2:15', 's2:30'].map((s) => parseKeyTransform(s));
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.tuple(fc.double(), fc.double()).map(([a, b]) => `${a},${b}`)), (text) => {
      for (const t of all) {
        const out = applyKeyTransform(t, text);
        assert.ok(out === null || (typeof out === 'string' && out.length > 0), `${t.spec} of ${JSON.stringify(text)}`);
        // Whatever the transform returns is an ordinary key for the one hash.
        if (out !== null) assert.equal(hashKey(out).text, out);
      }
    }),
    { seed: 31, numRuns: 2_000 },
  );
});
