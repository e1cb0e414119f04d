import type { RunStatus } from "./run";

export interface HistorySummary {
  totalRuns: number;
  succeeded: number;
  failed: number;
  skipped: number;
  cancelled: number;
  running: number;
  /** succeeded / (succeeded + failed), 0..1; null before any run has finished. Cancelled runs are left out. */
  successRate: number | null;
  /** Mean duration of finished (succeeded or failed) runs; null before any has finished. */
  averageDurationMs: number | null;
  /** Start time of the newest run; null before any run. */
  lastRunAt: number | null;
}

export interface RunTally {
  status: RunStatus;
  startTime: number;
  durationMs: number | null;
}

export function summarize(runs: Iterable<RunTally>): HistorySummary {
  const groups = new Map<RunStatus, StatusGroup>();
  for (const run of runs) {
    const group = groups.get(run.status) ?? { status: run.status, runs: 0, durationTotal: 0, durationCount: 0, lastStart: run.startTime };
    group.runs += 1;
    if ((run.status === "succeeded" || run.status === "failed") && run.durationMs !== null) {
      group.durationTotal += run.durationMs;
      group.durationCount += 1;
    }
    group.lastStart = Math.max(group.lastStart, run.startTime);
    groups.set(run.status, group);
  }
  return summarizeGroups(groups.values());
}

/** Per-status aggregates, as a database computes them. */
export interface StatusGroup {
  status: RunStatus;
  runs: number;
  /** Sum and count of durations of finished (succeeded or failed) runs in the group. */
  durationTotal: number;
  durationCount: number;
  lastStart: number;
}

/** The same summary as `summarize`, from per-status aggregates. */
export function summarizeGroups(groups: Iterable<StatusGroup>): HistorySummary {
  const counts: Record<RunStatus, number> = { running: 0, succeeded: 0, failed: 0, skipped: 0, cancelled: 0 };
  let totalRuns = 0;
  let durationSum = 0;
  let durationCount = 0;
  let lastRunAt: number | null = null;
  for (const group of groups) {
    counts[group.status] += group.runs;
    totalRuns += group.runs;
    durationSum += group.durationTotal;
    durationCount += group.durationCount;
    if (lastRunAt === null || group.lastStart > lastRunAt) lastRunAt = group.lastStart;
  }
  const finished = counts.succeeded + counts.failed;
  return {
    totalRuns,
    succeeded: counts.succeeded,
    failed: counts.failed,
    skipped: counts.skipped,
    cancelled: counts.cancelled,
    running: counts.running,
    successRate: finished === 0 ? null : round(counts.succeeded / finished, 4),
    averageDurationMs: durationCount === 0 ? null : Math.round(durationSum / durationCount),
    lastRunAt,
  };
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** A position in the newest-first history: the last run of the previous page. */
export interface HistoryCursor {
  startTime: number;
  runId: string;
}

export function encodeCursor(cursor: HistoryCursor): string {
  return btoa(JSON.stringify([cursor.startTime, cursor.runId])).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Returns null for anything that is not a cursor this service produced. */
export function decodeCursor(text: string): HistoryCursor | null {
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(text)) return null;
  try {
    const json = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    const value: unknown = JSON.parse(json);
    if (!Array.isArray(value) || value.length !== 2) return null;
    const [startTime, runId] = value;
    if (!Number.isSafeInteger(startTime) || typeof runId !== "string" || runId.length > 200) return null;
    return { startTime, runId };
  } catch {
    return null;
  }
}

/** A position in a run's rejected records: the last position of the previous page. */
export function encodePositionCursor(position: number): string {
  return btoa(JSON.stringify(["p", position])).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function decodePositionCursor(text: string): number | null {
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(text)) return null;
  try {
    const value: unknown = JSON.parse(atob(text.replace(/-/g, "+").replace(/_/g, "/")));
    if (!Array.isArray(value) || value.length !== 2 || value[0] !== "p" || !Number.isSafeInteger(value[1]) || value[1] < 0) return null;
    return value[1];
  } catch {
    return null;
  }
}
