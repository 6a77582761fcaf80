/** The trimmed cells of a Markdown table's body row `rowIndex` (0 is the first row under the rule). */
export function tableCells(table: string, rowIndex: number): string[] {
  const line = table.split('\n')[rowIndex + 2];
  if (line === undefined) throw new RangeError(`the table has no row ${rowIndex}:\n${table}`);
  return line
    .split('|')
    .slice(1, -1)
    .map((c) => c.trim());
}
