import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ConfigError } from '../../src/errors.js';
import type { JsonPath } from '../../src/proxy/json-key.js';
import { MAX_JSON_DEPTH, MAX_JSON_PATH_SEGMENTS, jsonKey, parseJsonPath } from '../../src/proxy/json-key.js';

const key = (body: string | Uint8Array, path: string): string | null => jsonKey(typeof body === 'string' ? Buffer.from(body) : body, parseJsonPath(path, 'key'));

/** What JSON.parse says the key is: the reference the scanner must agree with on every input. */
function reference(body: Uint8Array, names: readonly string[]): string | null {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    return null;
  }
  for (const name of names) {
    if (Array.isArray(v)) {
      if (!/^(0|[1-9]\d{0,8})$/.test(name) || Number(name) >= v.length) return null;
      v = v[Number(name)];
    } else if (typeof v === 'object' && v !== null && Object.hasOwn(v, name)) {
      v = (v as Record<string, unknown>)[name];
    } else {
      return null;
    }
  }
  if (typeof v === 'string') return v === '' ? null : v;
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : null;
  return null;
}

test('jsonKey: strings and numbers at a dotted path; array indexes', () => {
  const body = '{"account":{"id":"acc-42","n":7},"items":[{"id":"first"},{"id":"second"}],"tenant":"t1"}';
  assert.equal(key(body, 'account.id'), 'acc-42');
  assert.equal(key(body, 'account.n'), '7');
  assert.equal(key(body, 'tenant'), 't1');
  assert.equal(key(body, 'items.0.id'), 'first');
  assert.equal(key(body, 'items.1.id'), 'second');
  assert.equal(key(body, 'items.2.id'), null);
  assert.equal(key(body, 'items.x'), null, 'a name does not index an array');
  assert.equal(key(body, 'account.id.more'), null, 'a string has no members');
  assert.equal(key(body, 'missing'), null);
  assert.equal(key('[["a","b"],["c"]]', '1.0'), 'c', 'the root may be an array');
  assert.equal(key('{"0":"zero","10":"ten"}', '10'), 'ten', 'a numeric segment names an object member too');
  assert.equal(key('{"a.b":"dotted","a":{"b":"nested"}}', 'a\\.b'), 'dotted');
  assert.equal(key('{"a.b":"dotted","a":{"b":"nested"}}', 'a.b'), 'nested');
  assert.equal(key('{"a\\\\b":"slash"}', 'a\\\\b'), 'slash');
});

test('jsonKey: numbers become their canonical text, so equal numbers are one key', () => {
  for (const [text, want] of [
    ['1', '1'], ['1.0', '1'], ['1e0', '1'], ['10e-1', '1'], ['0.1E+1', '1'],
    ['-0', '0'], ['0.0', '0'], ['-12.50', '-12.5'], ['1e21', '1e+21'], ['123456789012345678901', '123456789012345680000'],
    ['1e400', null], ['-1e400', null], ['5e-400', '0'],
  ] as const) {
    assert.equal(key(`{"k":${text}}`, 'k'), want, text);
  }
});

test('jsonKey: booleans, null, objects, arrays and empty strings are no key', () => {
  for (const v of ['true', 'false', 'null', '{}', '{"a":1}', '[]', '["x"]', '""']) assert.equal(key(`{"k":${v}}`, 'k'), null, v);
  assert.equal(key('{"k":" "}', 'k'), ' ', 'whitespace is a key');
});

test('jsonKey: strings are decoded: escapes, UTF-8, surrogate pairs, lone surrogates as JSON.parse has them', () => {
  assert.equal(key(String.raw`{"k":"a\"b\\c\/d\b\f\n\r\t"}`, 'k'), 'a"b\\c/d\b\f\n\r\t');
  assert.equal(key(String.raw`{"k":"\u0041\u00e9\u20AC"}`, 'k'), 'Aé€');
  assert.equal(key(String.raw`{"k":"\ud834\udd1e"}`, 'k'), '𝄞');
  assert.equal(key(String.raw`{"k":"x\ud834"}`, 'k'), 'x\ud834');
  assert.equal(key('{"k":"ключ-𝄞"}', 'k'), 'ключ-𝄞');
  assert.equal(key('{"k":"\ufeffbom"}', 'k'), '\ufeffbom', 'a BOM inside a string is kept');
  // Bytes that are not UTF-8 inside a string decode to U+FFFD, as Buffer#toString does.
  assert.equal(key(Buffer.from([0x7b, 0x22, 0x6b, 0x22, 0x3a, 0x22, 0x61, 0xff, 0xc3, 0x22, 0x7d]), 'k'), 'a\ufffd\ufffd');
  // Member names with escapes or non-ASCII bytes are matched by their text.
  assert.equal(key(String.raw`{"acc\u006Funt":"escaped name"}`, 'account'), 'escaped name');
  assert.equal(key('{"ключ":"cyrillic name"}', 'ключ'), 'cyrillic name');
  assert.equal(key(String.raw`{"\u043a\u043b\u044e\u0447":"escaped cyrillic"}`, 'ключ'), 'escaped cyrillic');
});

test('jsonKey: the last of duplicate members counts, whatever was found under the first', () => {
  assert.equal(key('{"k":"first","k":"second"}', 'k'), 'second');
  assert.equal(key('{"a":{"b":"x"},"a":{"c":1}}', 'a.b'), null);
  assert.equal(key('{"a":{"b":"x"},"a":{"b":"y"}}', 'a.b'), 'y');
  assert.equal(key('{"a":{"b":"x","b":"y"},"z":1}', 'a.b'), 'y');
  assert.equal(key('{"a":[{"b":"x"}],"a":5}', 'a.0.b'), null);
  assert.equal(key('{"a":1,"a":{"b":"late"}}', 'a.b'), 'late');
});

test('jsonKey: a body that is not valid JSON has no key, even when the field comes first', () => {
  const bad = [
    '', ' ', '{', '{"k":"v"', '{"k":"v",}', '{"k":"v"}}', '{"k":"v"} x', '{"k":"v"}{}', '{"k" "v"}', "{'k':'v'}", '{k:"v"}',
    '{"k":"v\n"}', '{"k":"\\x"}', '{"k":"\\u12"}', '{"k":"\\u12G4"}', '{"k":"v}', '{"k":01}', '{"k":1.}', '{"k":.5}', '{"k":+1}',
    '{"k":-}', '{"k":1e}', '{"k":1e+}', '{"k":"v",,"x":1}', '{"k":tru}', '{"k":nul}', '{"k":True}', '{"k":NaN}', '{"k":Infinity}',
    '\ufeff{"k":"v"}', '{"k":"v"}\u00a0', '["a",]', '[,"a"]', '{"k":"v"]', '["k"}', '{"k":"v", "x":[1,2}', '{"k":"v"} // c',
    '{"k":"v","x":"\u0001"}',
  ];
  for (const body of bad) {
    assert.equal(key(body, 'k'), null, JSON.stringify(body));
    assert.equal(reference(Buffer.from(body), ['k']), null, `JSON.parse refuses ${JSON.stringify(body)} too`);
  }
  assert.equal(key(' \t\r\n{ "k" : "v" } \n', 'k'), 'v', 'whitespace around tokens is fine');
});

test(`jsonKey: nesting up to ${MAX_JSON_DEPTH} levels is read, deeper bodies have no key`, () => {
  const nested = (levels: number): string => `{"k":"v","deep":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}`;
  assert.equal(key(nested(MAX_JSON_DEPTH), 'k'), 'v');
  assert.equal(key(nested(MAX_JSON_DEPTH + 1), 'k'), null);
  // Far deeper than any stack: still an answer, not an exception.
  assert.equal(key('['.repeat(200_000), '0'), null);
  assert.equal(key(`{"k":"v","d":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`, 'k'), null);
});

test('parseJsonPath: segments, escapes, indexes', () => {
  const p = parseJsonPath('items.0.id', 'key');
  assert.deepEqual(p.names, ['items', '0', 'id']);
  assert.deepEqual(p.indexes, [-1, 0, -1]);
  assert.deepEqual(parseJsonPath('a\\.b.c\\\\d', 'key').names, ['a.b', 'c\\d']);
  assert.deepEqual(parseJsonPath('007.10.999999999.1000000000', 'key').indexes, [-1, 10, 999_999_999, -1]);
  assert.ok(Object.isFrozen(p) && Object.isFrozen(p.names));
  const bad: readonly [string, RegExp][] = [
    ['', /empty parts/],
    ['a..b', /empty parts/],
    ['.a', /empty parts/],
    ['a.', /empty parts/],
    ['a\\b', /escapes only/],
    ['a\\', /escapes only/],
    [Array.from({ length: MAX_JSON_PATH_SEGMENTS + 1 }, () => 'a').join('.'), /at most 32/],
  ];
  for (const [path, why] of bad) {
    assert.throws(() => parseJsonPath(path, 'routing.key'), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.code, 'SG_ERR_KEY_SOURCE');
      assert.equal(e.field, 'routing.key');
      assert.ok(e.message.includes(JSON.stringify(`json:${path}`)), e.message);
      assert.match(e.message, why);
      return true;
    });
  }
  assert.equal(parseJsonPath(Array.from({ length: MAX_JSON_PATH_SEGMENTS }, () => 'a').join('.'), 'key').names.length, MAX_JSON_PATH_SEGMENTS);
});

// Random JSON text, written the many ways JSON allows: spacing, escapes, number spellings, and
// duplicate member names (names come from a small set, so paths often hit).
const NAMES = ['a', 'b', '0', '1', '2', 'é', 'a.b', '__proto__', ''];
const space = fc.constantFrom('', '', ' ', '\n  ', '\t', '\r\n');
const text = fc.oneof(
  fc.constantFrom('', 'x', 'é', '\ud800', '\udc00x', '𝄞', '"', '\\', '\u0000', '\u001f', '\u2028', '\ufeff', 'acc-42'),
  fc.string({ unit: 'binary', maxLength: 8 }),
);
/** A string literal, its characters written plainly or as \u escapes. */
const stringLiteral = (s: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.tuple(s, fc.boolean()).map(([v, escapeAll]) =>
    escapeAll ? `"${Array.from({ length: v.length }, (_, i) => `\\u${v.charCodeAt(i).toString(16).padStart(4, '0')}`).join('')}"` : JSON.stringify(v),
  );
const numberLiteral = fc
  .tuple(fc.boolean(), fc.oneof(fc.constant('0'), fc.bigInt({ min: 1n, max: 10n ** 25n }).map(String)), fc.option(fc.stringMatching(/^[0-9]{1,4}$/)), fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), fc.integer({ min: 0, max: 400 }))))
  .map(([neg, int, frac, exp]) => `${neg ? '-' : ''}${int}${frac === null ? '' : `.${frac}`}${exp === null ? '' : `${exp[0]}${exp[1]}${exp[2]}`}`);
const tree = fc.letrec<{ json: string; array: string; object: string }>((tie) => ({
  json: fc.oneof({ depthSize: 'small', withCrossShrink: true }, stringLiteral(text), numberLiteral, fc.constantFrom('true', 'false', 'null'), tie('array'), tie('object')),
  array: fc
    .tuple(fc.array(fc.tuple(space, tie('json'), space), { maxLength: 4 }), space)
    .map(([items, s]) => (items.length === 0 ? `[${s}]` : `[${items.map(([a, v, b]) => a + v + b).join(',')}]`)),
  object: fc
    .tuple(fc.array(fc.tuple(space, stringLiteral(fc.constantFrom(...NAMES)), space, space, tie('json'), space), { maxLength: 5 }), space)
    .map(([members, s]) => (members.length === 0 ? `{${s}}` : `{${members.map(([a, k, b, c, v, d]) => `${a}${k}${b}:${c}${v}${d}`).join(',')}}`)),
}));
/** Mostly objects and arrays at the root, as request bodies are. */
const json = fc.oneof({ weight: 4, arbitrary: tree.object }, { weight: 1, arbitrary: tree.array }, { weight: 1, arbitrary: tree.json });
const pathNames = fc.array(fc.constantFrom(...NAMES.filter((n) => n !== '')), { minLength: 1, maxLength: 4 });
const toPath = (names: readonly string[]): JsonPath => parseJsonPath(names.map((n) => n.replaceAll('\\', '\\\\').replaceAll('.', '\\.')).join('.'), 'key');

/** A path into `body` that mostly exists: members and indexes picked by `choices`, then maybe `extra`. */
function pathInto(body: string, choices: readonly number[], extra: readonly string[]): string[] {
  let v: unknown = JSON.parse(body);
  const names: string[] = [];
  for (const c of choices) {
    if (Array.isArray(v) && v.length > 0) {
      names.push(String(c % v.length));
      v = v[c % v.length];
    } else if (typeof v === 'object' && v !== null && Object.keys(v).some((k) => k !== '')) {
      const keys = Object.keys(v).filter((k) => k !== '');
      names.push(keys[c % keys.length]!);
      v = (v as Record<string, unknown>)[keys[c % keys.length]!];
    } else {
      break;
    }
  }
  names.push(...extra);
  return names.length === 0 ? ['a'] : names.slice(0, MAX_JSON_PATH_SEGMENTS);
}

test('jsonKey: agrees with JSON.parse on random JSON and random paths', () => {
  let hits = 0;
  const extra = fc.oneof(fc.constant([]), fc.constant([]), pathNames);
  fc.assert(
    fc.property(space, json, space, fc.array(fc.nat(), { maxLength: 5 }), extra, (s1, body, s2, choices, more) => {
      const bytes = Buffer.from(s1 + body + s2);
      const names = pathInto(body, choices, more);
      const want = reference(bytes, names);
      if (want !== null) hits++;
      assert.equal(jsonKey(bytes, toPath(names)), want, `${JSON.stringify(body)} at ${names.join('.')}`);
    }),
    { seed: 8259, numRuns: 20_000 },
  );
  assert.ok(hits > 3_000, `${hits} of the bodies had a key at the path`);
});

test('jsonKey: agrees with JSON.parse on random JSON broken by random edits (almost all invalid)', () => {
  const edit = fc.tuple(fc.constantFrom('delete', 'insert', 'replace', 'truncate'), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.constantFrom(0x2c, 0x5d, 0x7d, 0x5b, 0x7b, 0x22, 0x5c, 0x3a, 0x30, 0x2e, 0x65, 0x2d, 0x78, 0xff, 0xc3, 0x00, 0x20, 0x0a));
  let invalid = 0;
  fc.assert(
    fc.property(json, fc.array(edit, { minLength: 1, maxLength: 3 }), pathNames, (body, edits, names) => {
      const bytes = [...Buffer.from(body)];
      for (const [op, at, byte] of edits) {
        const i = Math.floor(at * (bytes.length + 1));
        if (op === 'delete') bytes.splice(i, 1);
        else if (op === 'insert') bytes.splice(i, 0, byte);
        else if (op === 'replace') bytes.splice(i, 1, byte);
        else bytes.length = Math.min(bytes.length, i);
      }
      const buf = Buffer.from(bytes);
      let valid = true;
      try {
        JSON.parse(buf.toString('utf8'));
      } catch {
        valid = false;
        invalid++;
      }
      const got = jsonKey(buf, toPath(names));
      assert.equal(got, reference(buf, names), `${JSON.stringify(buf.toString('latin1'))} at ${names.join('.')}`);
      if (!valid) assert.equal(got, null);
    }),
    { seed: 6901, numRuns: 20_000 },
  );
  assert.ok(invalid > 10_000, `${invalid} of the edited bodies were invalid`);
});
