import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fraction, percent, renderTable } from '../../src/demo/table.js';

test('renderTable: pads columns to the widest cell, numbers right-aligned under a dashed rule', () => {
  const text = renderTable(
    [{ header: 'pod' }, { header: 'requests', align: 'right' }],
    [
      ['pod-0', '100'],
      ['pod-10', '7'],
    ],
    '',
  );
  assert.equal(text, ['pod      requests', '------   --------', 'pod-0         100', 'pod-10          7', ''].join('\n'));
});

test('renderTable: a row with the wrong number of cells is an error naming it', () => {
  assert.throws(() => renderTable([{ header: 'a' }, { header: 'b' }], [['1', '2'], ['3']]), /row 1 has 1 cells for 2 columns/);
});

test('fraction and percent: fixed formats, and a dash for an empty whole', () => {
  assert.equal(fraction(251, 1000), '0.251');
  assert.equal(percent(251, 1000), '25%');
  assert.equal(fraction(1, 0), '-');
  assert.equal(percent(1, 0), '-');
});
