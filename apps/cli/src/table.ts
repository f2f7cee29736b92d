import { printable } from './output';

/**
 * Renders rows as left-aligned columns under a header (plain text, for terminals and logs). Every cell
 * goes through `printable` (one line, control characters escaped): cells often hold stored, sender-written
 * text, and a newline or an escape sequence in one would break or forge the table.
 */
export function formatTable(header: string[], rows: string[][]): string {
  const safe = rows.map((r) => r.map((c) => printable(c)));
  const widths = header.map((h, i) => Math.max(h.length, ...safe.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...safe.map(line)].join('\n')}\n`;
}
