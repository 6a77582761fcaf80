import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { z } from 'zod';
import { RESTART_ONLY } from '../../src/config/restart-only.js';
import { schemaPaths } from '../../src/config/schema-fields.js';
import { documentSchema } from '../../src/config/schema.js';
import { ROOT } from '../cli/run.js';

const readme = await readFile(join(ROOT, 'README.md'), 'utf8');

/** The rows of the README's configuration reference: key, and whether a reload applies it. */
function referenceRows(): Map<string, string> {
  const start = readme.indexOf('\n### Configuration reference\n');
  assert.ok(start >= 0, 'the README has a configuration reference');
  const end = readme.indexOf('\n#', start + 5);
  const rows = new Map<string, string>();
  for (const line of readme.slice(start, end).split('\n')) {
    const m = /^\| `([^`]+)` \| [^|]+ \| [^|]* \| (applied|restart) \| .+ \|$/.exec(line);
    if (m === null) continue;
    assert.ok(!rows.has(m[1]!), `${m[1]} is listed once`);
    rows.set(m[1]!, m[2]!);
  }
  return rows;
}

test('schemaPaths: every field, list elements as [], union options merged, in schema order', () => {
  const schema = z.strictObject({
    a: z.int().optional(),
    b: z.strictObject({ c: z.array(z.strictObject({ d: z.string() })), e: z.record(z.string(), z.string()) }).nullable(),
    u: z.discriminatedUnion('kind', [z.strictObject({ kind: z.literal('x'), x: z.int() }), z.strictObject({ kind: z.literal('y'), y: z.int(), x: z.int() })]),
  });
  assert.deepEqual(schemaPaths(schema), ['a', 'b', 'b.c', 'b.c[].d', 'b.e', 'u', 'u.kind', 'u.x', 'u.y']);
});

test('README: the configuration reference lists every key of the schema, and nothing else', () => {
  const rows = referenceRows();
  const paths = schemaPaths(documentSchema);
  const missing = paths.filter((p) => !rows.has(p));
  const extra = [...rows.keys()].filter((k) => !paths.includes(k));
  assert.deepEqual(missing, [], 'keys of the schema the reference does not describe');
  assert.deepEqual(extra, [], 'keys in the reference the schema does not have');
});

test('README: the reference marks exactly the restart-only settings "restart"', () => {
  const rows = referenceRows();
  // Where the endpoints come from is one restart-only setting (`endpoints`), written four ways.
  const sources = ['endpoints', 'endpointsFile', 'discovery', 'dnsServer', 'podLabels'];
  const restartOnly = (key: string): boolean =>
    RESTART_ONLY.some((f) => key === f.path || key.startsWith(`${f.path}.`) || key.startsWith(`${f.path}[]`)) || sources.some((s) => key === s || key.startsWith(`${s}[]`));
  for (const [key, reload] of rows) assert.equal(reload, restartOnly(key) ? 'restart' : 'applied', key);
  for (const f of RESTART_ONLY) assert.equal(rows.get(f.path), 'restart', f.path);
});
