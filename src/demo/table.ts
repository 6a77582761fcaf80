/**
 * Plain-text tables for the demo's terminal output: columns padded to their widest cell, numbers
 * right-aligned so that digits line up, a dashed rule under the header. No colours or box-drawing
 * characters, so the output reads the same in a pipe, a log file or a test's string match.
 */

export type Align = 'left' | 'right';

export interface Column {
  readonly header: string;
  /** Right for numbers; left (the default) for names. */
  readonly align?: Align;
}

/** Every row must have one cell per column. The result ends with a newline; each line starts with `indent`. */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[], indent = '  '): string {
  for (const [r, row] of rows.entries()) {
    if (row.length !== columns.length) {
      throw new RangeError(`table row ${r} has ${row.length} cells for ${columns.length} columns`);
    }
  }
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string =>
    (indent + cells.map((cell, i) => (columns[i]!.align === 'right' ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('   ')).trimEnd();
  const out = [line(columns.map((c) => c.header)), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
  return out.join('\n') + '\n';
}

/** A ratio as a fixed three-decimal fraction: `0.253`. */
export function fraction(part: number, whole: number): string {
  return whole === 0 ? '-' : (part / whole).toFixed(3);
}

/** A ratio as a whole percentage: `25%`. */
export function percent(part: number, whole: number): string {
  return whole === 0 ? '-' : `${Math.round((100 * part) / whole)}%`;
}
