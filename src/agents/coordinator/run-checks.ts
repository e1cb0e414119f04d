import { checkReport, withAcceptance, type CheckReport, type CheckResult } from "../../domain/check-results";
import type { Run } from "../../domain/run";
import { evaluateChecks } from "../../engine/check-evaluation";
import { resolveChecks } from "../../engine/checks";
import { deployment } from "../../pipelines";
import type { RunStore } from "./run-store";

/**
 * Judges a run's dataset checks when its transform is done and before its load starts: the tally the
 * transform left with its output, the run's counts, the usual row counts from the run history, and what
 * a retry accepted. Null when the pipeline declares no checks.
 */
export function judgeChecks(run: Run, store: RunStore, now: number): CheckReport | null {
  const pipeline = deployment.find(run.pipeline);
  const checks = resolveChecks(pipeline?.checks);
  if (checks.length === 0) return null;
  const tally = run.checkpoints.transform?.checks;
  const extracted = run.stages.find((stage) => stage.name === "extract")?.inputCount ?? 0;
  const results: CheckResult[] = tally
    ? evaluateChecks(checks, tally, { extracted, rejected: run.rejectedCount, skipped: run.skippedCount, asOf: run.asOf }, (runs) => store.recentRowCounts(runs))
    : checks.map((check) => ({ name: check.name, type: check.type, severity: check.severity, outcome: "skipped", expected: "a tally of the batch", found: "the batch was transformed before the check was declared", offending: null, sample: [] }));
  return checkReport(withAcceptance(results, run.acceptChecks), now);
}
