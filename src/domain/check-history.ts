import type { CheckAcceptance, CheckOutcome, CheckResult, CheckSeverity, CheckType } from "./check-results";
import type { RunStatus } from "./run";

/**
 * A pipeline's dataset checks across its runs (`GET …/checks`): for each check it declares now, its
 * newest results in the runs the history keeps, newest first. A check renamed or removed is not listed;
 * a check added later has results only from the runs judged since.
 */

/** One run's result of one check, in brief (the run itself holds the offending sample). */
export interface CheckHistoryEntry {
  runId: string;
  startTime: number;
  /** The run's status: `failed` with the check's `failed` is a load it blocked (or helped block). */
  status: RunStatus;
  /** As the run judged it (the declaration may have changed since). */
  severity: CheckSeverity;
  outcome: CheckOutcome;
  expected: string;
  found: string;
  offending: number | null;
  /** A retry loaded despite this failure: who, when, of which run; null otherwise. */
  accepted: CheckAcceptance | null;
}

export interface CheckHistory {
  name: string;
  type: CheckType;
  /** As declared now. */
  severity: CheckSeverity;
  /** Outcomes among the results listed. */
  counts: Record<CheckOutcome, number>;
  results: CheckHistoryEntry[];
}

export interface ChecksView {
  pipeline: string;
  /** At most this many results per check. */
  limit: number;
  checks: CheckHistory[];
}

/** A check as declared, in the words the history needs. */
export interface DeclaredCheck {
  name: string;
  type: CheckType;
  severity: CheckSeverity;
}

/** A result as the run store finds it: the run's id, start and status, and the result itself. */
export interface StoredCheckResult {
  runId: string;
  startTime: number;
  status: RunStatus;
  result: CheckResult;
}

/**
 * Groups stored results by the check they belong to, in the order the checks are declared, each newest
 * first and at most `limit` long; results of checks no longer declared are left out.
 */
export function checkHistory(pipeline: string, declared: readonly DeclaredCheck[], stored: readonly StoredCheckResult[], limit: number): ChecksView {
  const newestFirst = [...stored].sort((a, b) => b.startTime - a.startTime || (a.runId < b.runId ? 1 : a.runId > b.runId ? -1 : 0));
  const checks = declared.map((check): CheckHistory => {
    const results = newestFirst
      .filter((entry) => entry.result.name === check.name)
      .slice(0, limit)
      .map(({ runId, startTime, status, result }) => ({
        runId,
        startTime,
        status,
        severity: result.severity,
        outcome: result.outcome,
        expected: result.expected,
        found: result.found,
        offending: result.offending,
        accepted: result.accepted ?? null,
      }));
    const counts: Record<CheckOutcome, number> = { passed: 0, failed: 0, skipped: 0 };
    for (const entry of results) counts[entry.outcome] += 1;
    return { name: check.name, type: check.type, severity: check.severity, counts, results };
  });
  return { pipeline, limit, checks };
}
