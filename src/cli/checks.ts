/**
 * Dataset checks in the terminal: a run's results in `status` (and at the end of `--wait`), with how to
 * load a blocked run anyway or rerun it after a fix; and `checks`, each check's results across runs.
 */
import type { ChecksView } from "../domain/check-history.ts";
import type { CheckReport } from "../domain/check-results.ts";
import { blockingResults } from "../domain/check-results.ts";
import { acceptedText, checkDetail, checksSummary, OUTCOME_MARK } from "../display/checks.ts";
import { count } from "../display/format.ts";
import { table } from "./format.ts";

/** A table's rows without its (empty) header, indented. */
function rows(cells: readonly (readonly string[])[], indent = "  "): string[] {
  return table(cells[0]!.map(() => ""), cells).split("\n").slice(1).map((line) => `${indent}${line}`);
}

/** What a name looks like to a shell: quoted when it holds more than letters, digits and `_ . -`. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_.-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

/**
 * `checks: blocked the load: …`, then one line per check (✓ ✗ –, severity, expected and found, the first
 * offending positions, who accepted a failure), and for a blocked run the two ways on. None for a run
 * whose checks were not judged (no checks, or before its transform ended).
 */
export function checkLines(run: { pipelineId: string; pipeline: string; errorCode?: string; checks?: CheckReport }, at: (ms: number) => string): string[] {
  const { checks } = run;
  if (!checks || checks.results.length === 0) return [];
  const lines = [`checks: ${checksSummary(checks)}`, ...rows(checks.results.map((result) => [`${OUTCOME_MARK[result.outcome]} ${result.name}`, result.severity, checkDetail(result, at)]))];
  if (run.errorCode === "checks_failed") {
    const retry = `npm run pipeline -- retry ${run.pipelineId} --pipeline ${shellWord(run.pipeline)}`;
    const accept = blockingResults(checks.results).map((result) => `--accept-check ${shellWord(result.name)}`).join(" ");
    lines.push(`to load this batch anyway: ${retry} ${accept}`, `to judge a new batch after a fix: ${retry} --from-stage transform`);
  }
  return lines;
}

/** `checks`: per check, its newest outcome, its tally, and a row per run. */
export function checkHistoryLines(view: ChecksView, at: (ms: number) => string): string[] {
  if (view.checks.length === 0) return [`${view.pipeline} declares no checks (docs/checks.md says how to declare them)`];
  const lines = [`${view.pipeline}: ${count(view.checks.length)} check${view.checks.length === 1 ? "" : "s"}, the newest ${count(view.limit)} results of each`];
  for (const check of view.checks) {
    const newest = check.results[0];
    const { passed, failed, skipped } = check.counts;
    const tally = check.results.length === 0 ? "not judged yet" : `last ${count(check.results.length)}: ${[`${passed} passed`, `${failed} failed`, ...(skipped > 0 ? [`${skipped} skipped`] : [])].join(", ")}`;
    lines.push("", `${newest ? OUTCOME_MARK[newest.outcome] : "·"} ${check.name} · ${check.type} · ${check.severity} · ${tally}`);
    if (check.results.length === 0) continue;
    const body = check.results.map((entry) => [
      entry.runId,
      at(entry.startTime),
      entry.status,
      `${OUTCOME_MARK[entry.outcome]} ${entry.outcome}`,
      entry.expected,
      entry.found,
      entry.offending === null ? "-" : count(entry.offending),
      entry.accepted ? acceptedText(entry.accepted, at) : "-",
    ]);
    lines.push(...table(["RUN", "STARTED", "STATUS", "OUTCOME", "EXPECTED", "FOUND", "OFFENDING", "ACCEPTED"], body).split("\n").map((line) => `  ${line}`));
  }
  return lines;
}
