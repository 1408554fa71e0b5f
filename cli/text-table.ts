/** Rows of cells as aligned text columns, two spaces apart; the columns named in `right` right-aligned. */
export function alignColumns(rows: string[][], right: number[] = []): string[] {
  const widths = rows[0].map((_cell, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) =>
    row
      .map((cell, column) => (right.includes(column) ? cell.padStart(widths[column]) : cell.padEnd(widths[column])))
      .join('  ')
      .trimEnd(),
  );
}
