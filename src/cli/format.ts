/** How the CLI shows things to a person: aligned tables, times on a pipeline's clock, durations, counts. */
import { localIso } from "../domain/local-time";
import { oneLine } from "./terminal-text.ts";

/** Columns padded to their widest cell; the last column is not padded. */
export function table(headers: readonly string[], rows: readonly (readonly (string | number | null | undefined)[])[]): string {
  // One line per row whatever a value holds: line breaks, tabs and control characters are shown escaped.
  const cells = [headers, ...rows.map((row) => row.map((cell) => (cell === null || cell === undefined ? "-" : oneLine(String(cell)))))];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? "").length)));
  return cells.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join("  ").trimEnd()).join("\n");
}

/**
 * `2026-11-28 03:00:00-05:00` on the wall clock of `timezone` (a pipeline's), `2026-11-28 03:00:00Z` in
 * UTC (the default, and what --utc asks for), or "-".
 */
export function time(ms: number | null | undefined, timezone = "UTC"): string {
  if (ms === null || ms === undefined) return "-";
  return localIso(ms, timezone).replace("T", " ");
}

/** `850 ms`, `3.2 s`, `4m 12s`, `2h 05m`, `3d 04h`. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "-";
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1_000);
  if (seconds < 3_600) return `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, "0")}s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 1_440) return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, "0")}m`;
  const hours = Math.round(minutes / 60);
  return `${Math.floor(hours / 24)}d ${String(hours % 24).padStart(2, "0")}h`;
}

/** `12,345` */
export function count(value: number | null | undefined): string {
  return value === null || value === undefined ? "-" : value.toLocaleString("en-US");
}

/** `in 4h 10m`, `12m 03s ago` */
export function relative(ms: number | null | undefined, now: number): string {
  if (ms === null || ms === undefined) return "-";
  return ms >= now ? `in ${duration(ms - now)}` : `${duration(now - ms)} ago`;
}
