// Plain-text tables for terminals: columns padded to their widest cell, two spaces apart. Every cell is shown
// printable (src/delivery/printable.ts): a key with a newline or an escape sequence cannot fake a row or drive the
// terminal.
import { printable } from '../delivery/printable';

export function formatTable(header: string[], rows: string[][]): string {
  const cells = [header, ...rows].map((row) => row.map((cell) => printable(cell ?? '')));
  const widths = header.map((_title, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  return cells
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
