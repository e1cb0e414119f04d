/**
 * A run's dataset checks in words, the same in the CLI's `status` and `checks` and the dashboard's run
 * card: the outcome's mark, the report in one line, the first offending records, who accepted a failure.
 */
import { blockingResults, type CheckAcceptance, type CheckOutcome, type CheckReport, type CheckResult } from "../domain/check-results";
import { count } from "./format";

export const OUTCOME_MARK: Record<CheckOutcome, string> = { passed: "✓", failed: "✗", skipped: "–" };

/** Offending records named by position; the rest are counted. */
const LISTED = 5;

/**
 * `blocked the load: 1 of 4 checks failed, nothing was written`, or `4 checks: 3 passed, 1 failed`
 * (with `, 1 accepted` when a retry loaded despite failures).
 */
export function checksSummary(report: CheckReport): string {
  const { results } = report;
  const tally = (outcome: CheckOutcome) => results.filter((result) => result.outcome === outcome).length;
  if (report.blocked) {
    const blocking = blockingResults(results).length;
    return `blocked the load: ${blocking} of ${results.length} check${results.length === 1 ? "" : "s"} failed with severity error, nothing was written`;
  }
  const parts = [`${tally("passed")} passed`, `${tally("failed")} failed`, ...(tally("skipped") > 0 ? [`${tally("skipped")} skipped`] : [])];
  const accepted = results.filter((result) => result.accepted).length;
  return `${results.length} check${results.length === 1 ? "" : "s"}: ${parts.join(", ")}${accepted > 0 ? ` (${accepted} accepted on a retry)` : ""}`;
}

/** `2 offending, first at positions 1 (b), 4 (e)`; null when no row offends (or the check looks at no rows). */
export function offendingText(result: Pick<CheckResult, "offending" | "sample">): string | null {
  if (result.offending === null || result.offending === 0) return null;
  const positions = result.sample.slice(0, LISTED).map((record) => `${record.position} (${record.id})`);
  if (positions.length === 0) return `${count(result.offending)} offending`;
  const more = result.offending - positions.length;
  return `${count(result.offending)} offending, first at position${positions.length === 1 ? "" : "s"} ${positions.join(", ")}${more > 0 ? `, +${count(more)} more` : ""}`;
}

/** `accepted by alice at 2026-12-01 10:00:00Z on the retry of manual-1`; `at` reads the time on the pipeline's clock. */
export function acceptedText(accepted: CheckAcceptance, at: (ms: number) => string): string {
  return `accepted by ${accepted.by ?? "an unlabelled token"} at ${at(accepted.at)} on the retry of ${accepted.retryOf}`;
}

/** `expected at least 3 rows, found 2 rows`, then the offending records and the acceptance, each after ` · `. */
export function checkDetail(result: CheckResult, at: (ms: number) => string): string {
  const offending = offendingText(result);
  return [`expected ${result.expected}, found ${result.found}`, ...(offending ? [offending] : []), ...(result.accepted ? [acceptedText(result.accepted, at)] : [])].join(" · ");
}
