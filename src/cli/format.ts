/** Aligned tables for the terminal (times, durations and counts read as in the dashboard: ../display/format). */
import { oneLine } from "./terminal-text.ts";

/** Columns padded to their widest cell; the last column is not padded. */
export function table(headers: readonly string[], rows: readonly (readonly (string | number | null | undefined)[])[]): string {
  // One line per row whatever a value holds: line breaks, tabs and control characters are shown escaped.
  const cells = [headers, ...rows.map((row) => row.map((cell) => (cell === null || cell === undefined ? "-" : oneLine(String(cell)))))];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? "").length)));
  return cells.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join("  ").trimEnd()).join("\n");
}
