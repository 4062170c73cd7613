// Aligned columns for a terminal: text left, numbers right, two spaces between.

export type Align = 'left' | 'right';

/** The header and rows as lines, each column as wide as its widest cell; trailing spaces trimmed. */
export function alignedTable(header: string[], rows: string[][], align: Align[], indent = ''): string[] {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
  return all.map((row) =>
    (
      indent +
      widths
        .map((width, column) => {
          const cell = row[column] ?? '';
          return align[column] === 'right' ? cell.padStart(width) : cell.padEnd(width);
        })
        .join('  ')
    ).trimEnd(),
  );
}
