import assert from 'node:assert/strict';
import { test } from 'node:test';
import { markdownTable } from '../../../bench/common/markdown-table.js';

test('markdownTable: padded cells, left columns then right-aligned numbers', () => {
  assert.equal(markdownTable(['proxy', 'req/s'], [['a', '1,000'], ['bbbbbbb', '7']]), ['| proxy   | req/s |', '|---------|------:|', '| a       | 1,000 |', '| bbbbbbb |     7 |'].join('\n'));
  assert.throws(() => markdownTable(['a', 'b'], [['1']]), /row 0 has 1 cells for 2 columns/);
});
