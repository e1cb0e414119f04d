import { median, type CheckResult, type CheckTallyState } from "../domain/check-results";
import { DEFAULT_USUAL_RUNS, freshnessLagMs, type BatchAggregates, type ResolvedCheck } from "./checks";

/**
 * The verdict of each dataset check over a transformed batch: the tally's findings and aggregates, the
 * run's counts so far, and the row counts of the pipeline's last successful runs (for "the usual").
 */

export interface BatchFigures {
  extracted: number;
  /** Rejected by extract and transform: what load would persist as rejections. */
  rejected: number;
  skipped: number;
  /** The run's slot, or when it was triggered (freshness counts back from it). */
  asOf: number;
}

/** `usual(n)`: the rows staged by the last n successful runs of the pipeline, newest first. */
export type UsualCounts = (runs: number) => readonly number[];

export function evaluateChecks(checks: readonly ResolvedCheck[], tally: CheckTallyState, figures: BatchFigures, usual: UsualCounts): CheckResult[] {
  return checks.map((check) => evaluate(check, tally, figures, usual));
}

function evaluate(check: ResolvedCheck, tally: CheckTallyState, figures: BatchFigures, usual: UsualCounts): CheckResult {
  const base = { name: check.name, type: check.type, severity: check.severity, offending: null, sample: [] };
  const verdict = (ok: boolean, expected: string, found: string): CheckResult => ({ ...base, outcome: ok ? "passed" : "failed", expected, found });
  const rows = tally.rows;
  switch (check.type) {
    case "row_count": {
      const expected: string[] = [];
      let ok = true;
      if (check.min !== undefined) {
        expected.push(`at least ${check.min} rows`);
        ok &&= rows >= check.min;
      }
      if (check.max !== undefined) {
        expected.push(`at most ${check.max} rows`);
        ok &&= rows <= check.max;
      }
      if (check.usual) {
        const runs = check.usual.runs ?? DEFAULT_USUAL_RUNS;
        const counts = usual(runs);
        const typical = median(counts);
        if (typical === null) {
          expected.push(`a share of the usual count (no successful run yet to compare with)`);
          if (check.min === undefined && check.max === undefined) return { ...base, outcome: "skipped", expected: expected.join(" and "), found: `${rows} rows` };
        } else {
          const of = `the usual ${typical} (median of the last ${counts.length} successful run${counts.length === 1 ? "" : "s"})`;
          if (check.usual.atLeast !== undefined) {
            const floor = Math.ceil(typical * check.usual.atLeast);
            expected.push(`at least ${percent(check.usual.atLeast)} of ${of}: ≥ ${floor} rows`);
            ok &&= rows >= floor;
          }
          if (check.usual.atMost !== undefined) {
            const ceiling = Math.floor(typical * check.usual.atMost);
            expected.push(`at most ${percent(check.usual.atMost)} of ${of}: ≤ ${ceiling} rows`);
            ok &&= rows <= ceiling;
          }
        }
      }
      return verdict(ok, expected.join(" and "), `${rows} rows`);
    }
    case "reject_rate": {
      const rate = figures.extracted === 0 ? 0 : figures.rejected / figures.extracted;
      return verdict(rate <= check.max, `at most ${percent(check.max)} of the extracted records rejected`, `${percent(rate)} (${figures.rejected} of ${figures.extracted})`);
    }
    case "not_null":
    case "accepted_values":
    case "unique":
    case "relationship": {
      const finding = tally.found[check.name] ?? { offending: 0, sample: [] };
      const expected =
        check.type === "not_null"
          ? `no null in ${check.columns.join(", ")}`
          : check.type === "accepted_values"
            ? `${check.column} in ${JSON.stringify(check.values)}`
            : check.type === "unique"
              ? `no two rows with the same ${check.columns.join(", ")}`
              : `every ${check.columns.join(", ")} present in ${"table" in check.to ? check.to.table : `the destination of pipeline ${check.to.pipeline}`} (${check.to.columns.join(", ")})`;
      return { ...verdict(finding.offending === 0, expected, `${finding.offending} offending row${finding.offending === 1 ? "" : "s"}`), offending: finding.offending, sample: finding.sample };
    }
    case "freshness": {
      const lag = freshnessLagMs(check) ?? 0;
      const since = figures.asOf - lag;
      const newest = tally.columns[check.column]?.max ?? null;
      const at = typeof newest === "number" ? newest : typeof newest === "string" ? Date.parse(newest) : Number.NaN;
      const expected = `the newest ${check.column} at or after ${new Date(since).toISOString()} (the slot minus ${check.lag})`;
      if (newest === null) return verdict(false, expected, rows === 0 ? "no value (no rows)" : `no value (${check.column} is null in every row)`);
      if (!Number.isFinite(at)) return verdict(false, expected, `${JSON.stringify(newest)}, which is not a time`);
      return verdict(at >= since, expected, String(newest));
    }
    case "custom": {
      // A copy: what a custom check does to its argument never reaches the tally kept with the run.
      const aggregates: BatchAggregates = { rows, extracted: figures.extracted, rejected: figures.rejected, skipped: figures.skipped, columns: structuredClone(tally.columns), asOf: figures.asOf };
      try {
        const result = check.test(aggregates);
        return verdict(result.ok === true, String(result.expected), String(result.found));
      } catch (error) {
        return verdict(false, "the check to run", `it threw: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}

function percent(fraction: number): string {
  return `${Number((fraction * 100).toFixed(2))} %`;
}
