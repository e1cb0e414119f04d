import type { RunStatus } from "./run";

/** One finished run, as the stats see it. */
export interface RunPoint {
  runId: string;
  trigger: string;
  /** The slot the run was for; null for a run outside the schedule (a manual run). */
  scheduledFor: number | null;
  status: RunStatus;
  startTime: number;
  durationMs: number | null;
  loaded: number;
  rejected: number;
}

export interface PipelineStats {
  window: string;
  from: number | null;
  runs: number;
  byStatus: Record<RunStatus, number>;
  /** succeeded / (succeeded + failed); null when none finished. */
  successRate: number | null;
  durationMs: { p50: number | null; p95: number | null; max: number | null };
  records: { loaded: number; rejected: number };
  /** Oldest first, for charts. */
  series: { runId: string; trigger: string; scheduledFor: number | null; status: RunStatus; startTime: number; durationMs: number | null; loaded: number; rejected: number }[];
}

/** Success rate, counts by status, duration percentiles (nearest rank) and a per-run series. */
export function computeStats(points: readonly RunPoint[], window: string, from: number | null): PipelineStats {
  const byStatus: Record<RunStatus, number> = { running: 0, succeeded: 0, failed: 0, skipped: 0, cancelled: 0 };
  for (const point of points) byStatus[point.status] += 1;
  const durations = points
    .filter((point) => (point.status === "succeeded" || point.status === "failed") && point.durationMs !== null)
    .map((point) => point.durationMs!)
    .sort((a, b) => a - b);
  const finished = byStatus.succeeded + byStatus.failed;
  const series = [...points].sort((a, b) => a.startTime - b.startTime).map(({ runId, trigger, scheduledFor, status, startTime, durationMs, loaded, rejected }) => ({ runId, trigger, scheduledFor, status, startTime, durationMs, loaded, rejected }));
  return {
    window,
    from,
    runs: points.length,
    byStatus,
    successRate: finished === 0 ? null : Math.round((byStatus.succeeded / finished) * 10_000) / 10_000,
    durationMs: { p50: percentile(durations, 50), p95: percentile(durations, 95), max: durations.at(-1) ?? null },
    records: { loaded: points.reduce((sum, point) => sum + point.loaded, 0), rejected: points.reduce((sum, point) => sum + point.rejected, 0) },
    series,
  };
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const STATS_WINDOW_NAMES = ["7d", "30d", "all"] as const;
export type StatsWindow = (typeof STATS_WINDOW_NAMES)[number];
export const STATS_WINDOWS: Record<StatsWindow, number | null> = { "7d": 7 * 86_400_000, "30d": 30 * 86_400_000, all: null };
