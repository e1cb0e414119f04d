/**
 * How a person reads times, durations and counts, the same in the CLI and the dashboard: a moment on a
 * pipeline's clock with its offset, a duration in the two units that matter ("1d 18h"), a count with
 * thousands separators. Pure: the CLI bundles it for Node and the dashboard for the browser.
 */
import { localIso } from "../domain/local-time";

/**
 * `2026-11-28 03:00:00-05:00` on the wall clock of `timezone` (a pipeline's), `2026-11-28 03:00:00Z` in
 * UTC (the default, and what the CLI's --utc asks for), or "-".
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
