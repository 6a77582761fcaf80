/** A Markdown table padded to its widest cells: the first `leftColumns` columns left-aligned, numbers right. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[], leftColumns = 1): string {
  for (const [r, row] of rows.entries()) {
    if (row.length !== header.length) throw new RangeError(`table row ${r} has ${row.length} cells for ${header.length} columns`);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string => '| ' + cells.map((c, i) => (i < leftColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
  const rule = '|' + widths.map((w, i) => (i < leftColumns ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|';
  return [line(header), rule, ...rows.map(line)].join('\n');
}
